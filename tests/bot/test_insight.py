"""/metrics: approval time per step and end to end, and the backlog per recipient, with no userid label."""

from __future__ import annotations

from datetime import timedelta

import aiohttp

from tests.handlers.approval_helpers import file_expense
from tests.metrics import sample
from tests.world import World


async def test_approval_time_and_backlog_histograms(world: World) -> None:
    w = world
    number = await file_expense(w, "liuyang", "1200", "办公")
    w.clock.advance(timedelta(hours=2))
    await w.reply_to("wangfang", f"驳回 {number} 发票抬头不对", contains=number)
    await w.delivered()
    w.clock.advance(timedelta(seconds=20))
    await w.bot.idle()
    async with aiohttp.ClientSession() as session, session.get(f"{w.url}/metrics") as resp:
        text = await resp.text()
    bucket = "bot_approval_seconds_bucket"
    step = sample(text, bucket, le="14400.0", outcome="rejected", stage="部门负责人")
    whole = sample(text, bucket, le="14400.0", outcome="rejected", stage="end_to_end")
    early = sample(text, bucket, le="3600.0", outcome="rejected", stage="end_to_end")
    assert step is not None and whole is not None and early is not None and step >= 1 and whole > early
    assert sample(text, "bot_outbound_recipient_waiting_bucket", le="0") is not None
    assert "bot_outbound_recipient_waiting_gsum" in text
    assert not any(user in text for user in ("liuyang", "wangfang", "wuqiang"))  # no userid is a label
