"""Shared pieces for finance tests: calling /api/v1, filing and approving expenses in chat, a webhook receiver."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.world import World

TOKEN = "test-finance-token"
SECRET = "test-webhook-secret"
NUMBER = re.compile(r"BX\d{8}-\d{4}")


async def api(world: World, method: str, path: str, body: Any = None, *, token: str | None = TOKEN,
              raw: bytes | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    if data is not None:
        headers["Content-Type"] = "application/json"
    async with aiohttp.ClientSession() as session, session.request(
        method, f"{world.url}{path}", data=data, headers=headers
    ) as resp:
        text = await resp.text()
        try:
            payload = json.loads(text) if text else None
        except json.JSONDecodeError:
            payload = text
        return resp.status, payload


def today(world: World) -> str:
    assert world.settings is not None
    return world.clock.now().astimezone(world.settings.zone).date().isoformat()


async def file_expense(world: World, user: str, amount: str, category: str, desc: str = "客户拜访",
                       day: str | None = None) -> str:
    """`报销 …` then `确认`, as the user would; returns the expense number from the bot's answer."""
    await world.reply_to(user, f"报销 {amount} {category} {day or today(world)} {desc}")
    answer = await world.reply_to(user, "确认", contains="BX")
    found = NUMBER.search(answer)
    assert found, answer
    return found.group(0)


async def approve(world: World, approver: str, number: str) -> str:
    return await world.reply_to(approver, f"同意 {number}", contains=number)


async def approved_expense(world: World, user: str = "liuyang", amount: str = "1000", category: str = "交通") -> str:
    """A liuyang expense of 交通: 王芳 (leader of 前端组) then 吴强 (finance review) approve it."""
    number = await file_expense(world, user, amount, category)
    await approve(world, "wangfang", number)
    await approve(world, "wuqiang", number)
    assert expense_status(world, number) == "approved"
    return number


def expense_status(world: World, number: str) -> str:
    return str(world.value("SELECT status FROM expenses WHERE number = ?", (number,)) or "")


def outbox(world: World) -> list[tuple[str, str, str, str]]:
    """(event_id, type, number, status) of every webhook row, in outbox order."""
    return [tuple(r.values()) for r in world.rows("SELECT event_id, type, number, status FROM webhook_events ORDER BY id")]


@dataclass
class Receiver:
    """The finance platform's webhook endpoint: verifies signatures, can be down, refuse or flaky."""

    secret: str = SECRET
    mode: str = "ok"  # ok | down (503) | refuse (400)
    received: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)
    stamps: list[tuple[str, int]] = field(default_factory=list)
    bad_signatures: int = 0
    url: str = ""
    _runner: web.AppRunner | None = None
    _tick: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/hook"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        timestamp = request.headers["X-Bot-Timestamp"]
        expected = hmac.new(self.secret.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers["X-Bot-Signature"]):
            self.bad_signatures += 1
            return web.Response(status=401)
        body = json.loads(raw)
        assert request.headers["X-Bot-Event-Id"] == body["id"]
        self.attempts.append(body["id"])
        self.stamps.append((body["id"], int(timestamp)))
        if self.mode == "down":
            return web.Response(status=503)
        if self.mode == "refuse":
            return web.Response(status=400, text="unknown category")
        self.received.append({"timestamp": int(timestamp), **body})
        self._tick.set()
        return web.json_response({"ok": True})

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.received) < count:
            self._tick.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"{len(self.received)} of {count} webhooks arrived")
            try:
                await asyncio.wait_for(self._tick.wait(), min(remaining, 0.2))
            except TimeoutError:
                continue
        return self.received
