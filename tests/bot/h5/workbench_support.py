"""A phone in WeCom opening the workbench: OAuth2 through the simulator as one member, then pages and forms."""

from __future__ import annotations

import re
from types import TracebackType

import aiohttp
from yarl import URL

from tests.world import World

CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')
LOGIN = re.compile(r'name="login" value="([^"]+)"')
LINK = re.compile(r"/h5/verify/[A-Za-z0-9_\-]+")


class Phone:
    """One member's browser: the simulator's identity cookie answers WeCom's login for them."""

    def __init__(self, world: World, user: str) -> None:
        self.world = world
        self.user = user
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.http.cookie_jar.update_cookies({"sim_user": user}, URL(world.sim.base_url))
        self.logins = 0

    async def __aenter__(self) -> Phone:
        return self

    async def __aexit__(self, *exc: tuple[type[BaseException] | None, BaseException | None, TracebackType | None]) -> None:
        await self.http.close()

    async def open(self, path: str) -> tuple[int, str]:
        """GET a page, following WeCom's login when it asks for one."""
        async with self.http.get(self.world.url + path) as resp:
            self.logins += sum(1 for r in resp.history if "/connect/oauth2/authorize" in str(r.url))
            return resp.status, await resp.text()

    async def post(self, path: str, data: dict[str, str] | list[tuple[str, str]]) -> tuple[int, str]:
        async with self.http.post(self.world.url + path, data=data, allow_redirects=False) as resp:
            return resp.status, await resp.text()

    async def form(self, page_path: str, action: str, fields: dict[str, str] | None = None) -> tuple[int, str]:
        """Open `page_path` for its CSRF token, then post `fields` to `action` as its form would."""
        status, page = await self.open(page_path)
        assert status == 200, page
        match = CSRF.search(page)
        assert match is not None, page
        return await self.post(action, {"csrf": match.group(1), **(fields or {})})


def verify_link(text: str) -> str:
    match = LINK.search(text)
    assert match is not None, text
    return match.group(0)


def sealed_login(page: str) -> str:
    match = LOGIN.search(page)
    assert match is not None, page
    return match.group(1)
