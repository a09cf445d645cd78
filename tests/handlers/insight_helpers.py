"""A known month of work, played through chat and the finance API under a controlled clock.

Wednesday 2026-11-25, Shanghai: at 10:00 liuyang files A (1200 办公) and B (800 办公), sunli files C
(300 办公) and chenjing opens an expense and cancels it; wangfang approves A at 11:00 and rejects B at
12:00; wuqiang (finance review) approves A at 14:00; A is paid at 14:30 and liuyang rates it 满意;
at 14:40 liuyang sends a feedback note. C waits for zhaolei from 10:00 on.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from storage.stats import StatsRepo
from tests.bot.finance.finance_support import TOKEN, api, file_expense
from tests.world import World, make_world

ZONE = ZoneInfo("Asia/Shanghai")


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 25, hour, minute, tzinfo=ZONE)


@pytest.fixture
async def paid_world(tmp_path: Path) -> AsyncIterator[World]:
    """The usual world with the finance API on (payments come from the finance platform)."""
    w = await make_world(tmp_path)
    await w.start_bot(finance_api_token=TOKEN)
    try:
        yield w
    finally:
        await w.stop_bot()
        await w.sim.stop()


@dataclass(frozen=True)
class KnownSet:
    a: str
    b: str
    c: str


async def play_known_set(w: World) -> KnownSet:
    w.clock.set(at(10))
    a = await file_expense(w, "liuyang", "1200", "办公")
    b = await file_expense(w, "liuyang", "800", "办公")
    c = await file_expense(w, "sunli", "300", "办公")
    await w.reply_to("chenjing", "报销", contains="金额")
    await w.reply_to("chenjing", "取消", contains="已取消")
    w.clock.set(at(11))
    await w.reply_to("wangfang", f"同意 {a}", contains=a)
    w.clock.set(at(12))
    await w.reply_to("wangfang", f"驳回 {b} 发票抬头不对", contains=b)
    w.clock.set(at(14))
    await w.reply_to("wuqiang", f"同意 {a}", contains=a)
    w.clock.set(at(14, 30))
    status, _ = await api(w, "POST", f"/api/v1/expenses/{a}/payment", {"reference": "PAY-TEST-1"}, token=TOKEN)
    assert status == 200
    card = await w.sim.wait_for(lambda: next((c for t, c in w.sim.cards.items() if t.startswith(f"rate-{a}")), None))
    await w.sim.click_card("liuyang", card.task_id, f"rate:3:{a}")
    await w.idle()
    w.clock.set(at(14, 40))
    await w.reply_to("liuyang", "反馈 希望审批卡片能显示发票图片", contains="谢谢你的反馈")
    await w.delivered()
    return KnownSet(a, b, c)


def record_figure_threads(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """For each figures read from now on: whether it ran on the main (event loop) thread."""
    threads: list[bool] = []
    figures = StatsRepo.figures

    async def recording(self: StatsRepo, *args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread() is threading.main_thread())
        return await figures(self, *args, **kwargs)

    monkeypatch.setattr(StatsRepo, "figures", recording)
    return threads
