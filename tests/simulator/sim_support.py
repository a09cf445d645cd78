"""Test doubles shared by the simulator tests: a fake clock, a bot-like API caller and a receiver."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from wechatpy.enterprise.crypto import WeChatCrypto

from simulator import WeComSimulator


class FakeClock:
    """Seconds since the epoch that only move when the test says so."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Api:
    """Minimal WeCom API caller, as a bot would use it."""

    def __init__(self, sim: WeComSimulator, session: aiohttp.ClientSession) -> None:
        self.sim = sim
        self.session = session
        self.token = ""

    async def login(self, secret: str | None = None) -> str:
        data = await self.get("gettoken", corpid=self.sim.corp_id, corpsecret=secret or self.sim.secret)
        self.token = data["access_token"]
        return self.token

    async def get(self, path: str, **params: Any) -> dict[str, Any]:
        if self.token and "access_token" not in params:
            params["access_token"] = self.token
        async with self.session.get(f"{self.sim.base_url}/cgi-bin/{path}", params=params) as resp:
            assert resp.status == 200
            return await resp.json()

    async def post(self, path: str, body: dict[str, Any], **params: Any) -> dict[str, Any]:
        if self.token and "access_token" not in params:
            params["access_token"] = self.token
        async with self.session.post(f"{self.sim.base_url}/cgi-bin/{path}", params=params, json=body) as resp:
            assert resp.status == 200
            return await resp.json()


@dataclass
class Receiver:
    """Bot-side endpoint that decrypts with wechatpy; `script` gives (delay, status) per request."""

    crypto: WeChatCrypto
    script: list[tuple[float, int]] = field(default_factory=list)
    plaintexts: list[str] = field(default_factory=list)
    queries: list[dict[str, str]] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)
    reply: str | None = None
    url: str = ""

    async def post(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.queries.append(query)
        body = await request.text()
        self.bodies.append(body)
        plain = self.crypto.decrypt_message(body, query["msg_signature"], query["timestamp"], query["nonce"])
        self.plaintexts.append(plain)
        delay, status = self.script.pop(0) if self.script else (0.0, 200)
        if delay:
            await asyncio.sleep(delay)
        if status == 200 and self.reply is not None:
            return web.Response(text=self.crypto.encrypt_message(self.reply, query["nonce"], query["timestamp"]))
        return web.Response(status=status, text="")

    async def get(self, request: web.Request) -> web.Response:
        q = request.query
        return web.Response(text=self.crypto.check_signature(q["msg_signature"], q["timestamp"], q["nonce"],
                                                             q["echostr"]))

    @asynccontextmanager
    async def serving(self, path: str) -> AsyncIterator[str]:
        """Serve this receiver at `path` on a loopback port for the duration; yields its URL."""
        app = web.Application()
        app.router.add_post(path, self.post)
        app.router.add_get(path, self.get)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        self.url = f"http://{host}:{port}{path}"
        try:
            yield self.url
        finally:
            await runner.cleanup()
