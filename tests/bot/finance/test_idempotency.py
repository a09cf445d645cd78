"""`Idempotency-Key` on POST /api/v1/notifications: a retried request is answered again, never re-sent."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from tests.bot.finance.finance_support import TOKEN, api
from tests.world import World

pytestmark = pytest.mark.backends("sqlite", "postgres")  # racing retries meet on either

NOTE = {"to": {"users": ["zhoumin", "liuyang"]}, "content": "请在 30 日前提交本月报销"}


async def _post(world: World, body: Any, key: str | None) -> tuple[int, Any, dict[str, str]]:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    if key is not None:
        headers["Idempotency-Key"] = key
    async with aiohttp.ClientSession() as http, http.post(
        f"{world.url}/api/v1/notifications", data=json.dumps(body), headers=headers
    ) as resp:
        return resp.status, await resp.json(), dict(resp.headers)


def _sent(world: World, text: str) -> int:
    return len(world.sim.find_messages(to="zhoumin", contains=text))


def _audited(world: World) -> int:
    return int(world.value("SELECT COUNT(*) FROM audit_log WHERE action = 'notification.sent'"))


async def test_a_retried_notification_is_sent_once(bare_world: World) -> None:
    world = bare_world
    await world.start_bot(finance_api_token=TOKEN)
    first = await _post(world, NOTE, "close-2026-11")
    again = await _post(world, {"content": NOTE["content"], "to": NOTE["to"]}, "close-2026-11")  # same, reordered
    assert first[0] == again[0] == 202 and first[1] == again[1] == {
        "recipients": 2, "unknown_users": [], "chat_id": None}
    assert again[2].get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first[2]
    # two clients racing with the same key: one send between them
    racing = await asyncio.gather(*(_post(world, {**NOTE, "content": "对账提醒"}, "reconcile") for _ in range(5)))
    assert {r[0] for r in racing} == {202}
    await world.delivered()
    assert _sent(world, "请在 30 日前") == 1 and _sent(world, "对账提醒") == 1 and _audited(world) == 2

    status, answer, _ = await _post(world, {**NOTE, "content": "另一条"}, "close-2026-11")
    assert status == 422 and answer["detail"] == [
        {"field": "header.Idempotency-Key", "reason": "already used for a different request"}]
    for bad in ("", "x" * 256, "with space", "键"):
        status, answer, _ = await _post(world, NOTE, bad)
        assert status == 422 and answer["detail"][0]["field"] == "header.Idempotency-Key", bad
    await _post(world, NOTE, None)
    await _post(world, NOTE, None)  # without a key every request is a new notification
    await world.delivered()
    assert _sent(world, "请在 30 日前") == 3 and _sent(world, "另一条") == 0 and _audited(world) == 4

    _, doc = await api(world, "GET", "/api/v1/openapi.json")
    params = doc["paths"]["/api/v1/notifications"]["post"]["parameters"]
    assert [(p["name"], p["in"], p["required"]) for p in params] == [("Idempotency-Key", "header", False)]
