"""Reminders and escalation on a controllable clock: working time, quiet hours, never twice."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.handlers.approval_helpers import db_rows, expense_row, file_expense, wait_card
from tests.world import World

ZONE = ZoneInfo("Asia/Shanghai")


async def at(world: World, when: datetime) -> None:
    """Move the shared clock, fire what is due, and let the sender look again."""
    world.clock.set(when)
    await world.bot.scheduler.tick()
    await world.idle()
    world.bot.sender.wake()


def timeline(world: World, number: str) -> list[str]:
    rows = db_rows(world, "SELECT action FROM expense_events WHERE expense_id = ? ORDER BY id",
                   (expense_row(world, number)["id"],))
    return [r[0] for r in rows]


async def test_reminder_waits_for_working_time_and_quiet_hours(bare_world: World) -> None:
    w = bare_world
    w.clock.set(datetime(2026, 11, 30, 10, 0, tzinfo=ZONE))  # a Monday morning
    await w.start_bot(bot_quiet_hours="22:00-08:00")
    number = await file_expense(w, "liuyang", "1200", "办公")
    await wait_card(w, "wangfang", number, step=0)

    # 24 working hours (9:00-18:00, Mon-Fri) after Monday 10:00 is Wednesday 16:00
    await at(w, datetime(2026, 12, 2, 15, 59, tzinfo=ZONE))
    await asyncio.sleep(0.2)
    assert not w.sim.find_messages(to="wangfang", contains="提醒")

    # found due at 23:00 (quiet hours): queued for 08:00, not sent at night, not dropped
    await at(w, datetime(2026, 12, 2, 23, 0, tzinfo=ZONE))
    await asyncio.sleep(0.3)
    assert not w.sim.find_messages(to="wangfang", contains="提醒")
    queued = [r for r in db_rows(w, "SELECT body, not_before, status FROM outbound") if "提醒" in r[0]]
    assert len(queued) == 1 and queued[0][2] == "pending"
    assert queued[0][1].startswith("2026-12-03T00:00:00")  # 08:00 in Shanghai
    await at(w, datetime(2026, 12, 3, 8, 1, tzinfo=ZONE))
    reminder = await w.sim.wait_for_message(to="wangfang", contains="提醒")
    assert number in reminder.text() and "同意" in reminder.text()

    # 48 working hours is the next Monday 13:00: the leader is told, the reminder is not repeated
    await at(w, datetime(2026, 12, 7, 12, 59, tzinfo=ZONE))
    await asyncio.sleep(0.2)
    assert not w.sim.find_messages(to="lina", contains="督办")
    await at(w, datetime(2026, 12, 7, 13, 1, tzinfo=ZONE))
    escalation = await w.sim.wait_for_message(to="lina", contains="督办")
    assert number in escalation.text() and "王芳" in escalation.text()
    await at(w, datetime(2026, 12, 9, 13, 0, tzinfo=ZONE))
    await asyncio.sleep(0.2)
    assert len(w.sim.find_messages(to="wangfang", contains="提醒")) == 1
    assert len(w.sim.find_messages(to="lina", contains="督办")) == 1
    assert timeline(w, number).count("remind") == 1 and timeline(w, number).count("escalate") == 1
    assert expense_row(w, number)["status"] == "submitted"


async def test_escalation_can_reassign(bare_world: World, tmp_path: Path) -> None:
    w = bare_world
    rules = tmp_path / "rules.toml"
    rules.write_text("[approval]\nremind_after_hours = 1\nescalate_after_hours = 2\nescalation = \"reassign\"\n"
                     "working_days = [1, 2, 3, 4, 5, 6, 7]\nworking_hours = [0, 24]\n", encoding="utf-8")
    w.clock.set(datetime(2026, 11, 30, 10, 0, tzinfo=ZONE))
    await w.start_bot(bot_rules=rules)
    number = await file_expense(w, "liuyang", "1200", "办公")
    card = await wait_card(w, "wangfang", number, step=0)
    await at(w, datetime(2026, 11, 30, 11, 1, tzinfo=ZONE))
    await w.sim.wait_for_message(to="wangfang", contains="提醒")
    await at(w, datetime(2026, 11, 30, 12, 1, tzinfo=ZONE))
    lina_card = await wait_card(w, "lina", number, step=0)
    assert await w.sim.wait_for(lambda: w.sim.cards[card.task_id].view("wangfang").replace_name) == "已转交"
    step = json.loads(expense_row(w, number)["route"])[0]
    assert step["approvers"] == ["lina"] and step["reassigned"][0]["from_user"] == "wangfang"
    await w.sim.wait_for_message(to="wangfang", contains="已转交给 李娜")
    assert "未做任何更改" in await w.reply_to("wangfang", f"同意 {number}")
    await w.sim.click_card("lina", lina_card.task_id, f"approve:{number}")
    await w.idle()
    await wait_card(w, "wuqiang", number, step=1)
    assert timeline(w, number)[-4:] == ["remind", "reassign", "escalate", "approve"]
