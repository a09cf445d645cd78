"""HTTP layer: one dispatcher for /cgi-bin/* that counts calls, injects faults, checks tokens and
renders errors the way WeCom does (HTTP 200 + errcode/errmsg)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from simulator import errors
from simulator.errors import ApiError

if TYPE_CHECKING:
    from simulator.core import WeComSimulator

SIM_KEY: web.AppKey[WeComSimulator] = web.AppKey("wecom_simulator")

ANY_TOKEN = "any"
NO_TOKEN = None


@dataclass
class ApiRequest:
    request: web.Request
    query: dict[str, str]
    body: dict[str, Any]
    token_kind: str | None


Handler = Callable[["WeComSimulator", ApiRequest], Awaitable[dict[str, Any] | web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    auth: str | None
    handler: Handler
    json_body: bool = True


@dataclass
class Fault:
    errcode: int | None
    http_status: int | None
    delay: float
    late: bool = False  # the delay comes after the call took effect: the answer, not the work, is slow


@dataclass
class FaultPlan:
    """Queued faults per API path, consumed one per request."""

    pending: dict[str, list[Fault]] = field(default_factory=dict)

    def add(self, path: str, fault: Fault, n: int) -> None:
        self.pending.setdefault(path.strip("/"), []).extend([fault] * n)

    def take(self, path: str) -> Fault | None:
        queue = self.pending.get(path)
        return queue.pop(0) if queue else None


def ok(**fields: Any) -> dict[str, Any]:
    return {"errcode": 0, "errmsg": "ok", **fields}


def json_response(data: dict[str, Any]) -> web.Response:
    return web.Response(text=json.dumps(data, ensure_ascii=False), content_type="application/json")


async def _read_body(request: web.Request, route: Route) -> dict[str, Any]:
    if request.method != "POST" or not route.json_body:
        return {}
    raw = await request.read()
    try:
        body = json.loads(raw.decode("utf-8")) if raw else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(errors.JSON_FORMAT, "data format error, Warning: wrong json format.") from exc
    if not isinstance(body, dict):
        raise ApiError(errors.JSON_FORMAT, "data format error, Warning: wrong json format.")
    return body


def _authorize(sim: WeComSimulator, route: Route, query: dict[str, str]) -> str | None:
    if route.auth is NO_TOKEN:
        return None
    kind = sim.tokens.check(query.get("access_token"))
    if route.auth != ANY_TOKEN and kind != route.auth:
        raise ApiError(errors.API_FORBIDDEN, f"api forbidden for this access_token ({kind} token)")
    return kind


def build_app(sim: WeComSimulator, routes: list[Route]) -> web.Application:
    table = {(r.method, r.path): r for r in routes}

    async def dispatch(request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"].strip("/")
        route = table.get((request.method, path))
        if route is None:
            return json_response({"errcode": 404, "errmsg": f"unknown api {request.method} {path}"})
        sim.calls[path] += 1
        fault = sim.faults.take(path)
        if fault is not None and not fault.late:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.http_status is not None:
                return web.Response(status=fault.http_status, text="simulated failure")
            if fault.errcode is not None:
                return json_response({"errcode": fault.errcode, "errmsg": "simulated failure"})
        query = dict(request.query)
        try:
            kind = _authorize(sim, route, query)
            body = await _read_body(request, route)
            result = await route.handler(sim, ApiRequest(request, query, body, kind))
        except ApiError as exc:
            return json_response(exc.body())
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            # WeCom answers malformed fields (a string where an int belongs...) with an errcode, never a 5xx.
            return json_response({"errcode": errors.INVALID_PARAMETER,
                                  "errmsg": f"invalid parameter: {type(exc).__name__}: {exc}"})
        if fault is not None and fault.late:
            await asyncio.sleep(fault.delay)
        return result if isinstance(result, web.StreamResponse) else json_response(result)

    app = web.Application(client_max_size=32 * 1024 * 1024)
    app[SIM_KEY] = sim
    app.router.add_route("*", "/cgi-bin/{path:.+}", dispatch)
    return app
