"""Driving the H5 pages as a phone in WeCom would: OAuth2 login through the simulator, then forms."""

from __future__ import annotations

import re
from typing import Any

import aiohttp

from tests.world import World


def rows(world: World, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(row.values()) for row in world.rows(sql)]


def browser() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))  # cookies on 127.0.0.1


async def login(session: aiohttp.ClientSession, world: World, user: str) -> str:
    """Open the page, follow the OAuth redirect as `user`, and return the form's csrf token."""
    async with session.get(f"{world.url}/h5/upload", allow_redirects=False) as resp:
        assert resp.status == 302
        authorize = resp.headers["Location"]
    assert authorize.startswith(f"{world.sim.base_url}/connect/oauth2/authorize?")
    for part in ("scope=snsapi_base", "response_type=code", f"appid={world.sim.corp_id}",
                 f"agentid={world.sim.agent_id}", "#wechat_redirect"):
        assert part in authorize
    picked = authorize.replace("#wechat_redirect", "") + f"&sim_user={user}"
    async with session.get(picked) as resp:
        page = await resp.text()
        assert resp.status == 200, page
    assert "上传发票" in page and str(resp.url).endswith("/h5/upload")  # the code is gone from the address
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert match is not None
    return match.group(1)


async def upload(session: aiohttp.ClientSession, world: World, csrf: str, data: bytes,
                 name: str = "invoice.pdf") -> tuple[int, str]:
    form = aiohttp.FormData()
    form.add_field("csrf", csrf)
    form.add_field("file", data, filename=name, content_type="application/octet-stream")
    async with session.post(f"{world.url}/h5/upload", data=form) as resp:
        return resp.status, await resp.text()
