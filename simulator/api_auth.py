"""gettoken, OAuth2 web identity (authorize redirect + auth/getuserinfo)."""

from __future__ import annotations

import html
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aiohttp import web

from simulator import errors, tokens
from simulator.errors import ApiError
from simulator.server import NO_TOKEN, SIM_KEY, ApiRequest, Route, ok

if TYPE_CHECKING:
    from simulator.core import WeComSimulator

OAUTH_CODE_TTL = 300
SIM_USER_COOKIE = "sim_user"


async def gettoken(sim: WeComSimulator, req: ApiRequest) -> dict[str, Any]:
    if req.query.get("corpid") != sim.corp_id:
        raise ApiError(errors.INVALID_CORP_ID, "invalid corpid")
    secret = req.query.get("corpsecret")
    if secret == sim.secret:
        kind = tokens.APP
    elif secret == sim.contact_secret:
        kind = tokens.CONTACT
    else:
        raise ApiError(errors.INVALID_SECRET, "invalid credential, access_token is invalid or not latest")
    return ok(access_token=sim.tokens.issue(kind), expires_in=sim.tokens.ttl)


def _take_code(sim: WeComSimulator, code: str | None) -> str:
    issued = sim.oauth_codes.pop(code or "", None)
    if issued is None:
        raise ApiError(errors.INVALID_OAUTH_CODE, "invalid code")
    userid, issued_at = issued
    if sim.clock() - issued_at > OAUTH_CODE_TTL:
        raise ApiError(errors.INVALID_OAUTH_CODE, "invalid code (expired)")
    return userid


async def getuserinfo(sim: WeComSimulator, req: ApiRequest) -> dict[str, Any]:
    return ok(userid=_take_code(sim, req.query.get("code")))


async def legacy_getuserinfo(sim: WeComSimulator, req: ApiRequest) -> dict[str, Any]:
    return ok(UserId=_take_code(sim, req.query.get("code")), DeviceId="")


def issue_code(sim: WeComSimulator, userid: str) -> str:
    code = secrets.token_urlsafe(24)
    sim.oauth_codes[code] = (userid, sim.clock())
    return code


def _with_query(url: str, extra: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *extra.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _picker(sim: WeComSimulator, request: web.Request) -> web.Response:
    """Stands in for the WeCom client identity: let a person choose who they are."""
    links = "".join(
        f'<li><a href="{html.escape(str(request.rel_url.update_query(sim_user=u.userid)))}">'
        f"{html.escape(u.name)} ({html.escape(u.userid)})</a></li>"
        for u in sim.org.users.values() if u.status == 1
    )
    page = (
        '<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        f"<title>选择身份</title><h3>企业微信模拟器：请选择登录身份</h3><ul>{links}</ul>"
    )
    return web.Response(text=page, content_type="text/html", status=200)


async def authorize(request: web.Request) -> web.StreamResponse:
    sim = request.app[SIM_KEY]
    sim.calls["connect/oauth2/authorize"] += 1
    query = request.query
    redirect_uri = query.get("redirect_uri")
    if query.get("appid") != sim.corp_id or not redirect_uri:
        return web.Response(status=400, text="appid or redirect_uri invalid")
    userid = query.get("sim_user") or request.cookies.get(SIM_USER_COOKIE)
    if not userid:
        return _picker(sim, request)
    if not sim.org.active(userid):
        return web.Response(status=403, text=f"unknown or inactive member {userid}")
    code = issue_code(sim, userid)
    raise web.HTTPFound(_with_query(redirect_uri, {"code": code, "state": query.get("state", "")}))


ROUTES = [
    Route("GET", "gettoken", NO_TOKEN, gettoken),
    Route("GET", "auth/getuserinfo", tokens.APP, getuserinfo),
    Route("GET", "user/getuserinfo", tokens.APP, legacy_getuserinfo),
]
