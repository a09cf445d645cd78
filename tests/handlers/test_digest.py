"""The weekly digest: Monday 09:00 Shanghai, once, across restarts around the firing time; it waits
out quiet hours; the finance group chat gets the company, each leader their departments."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.bot.finance.finance_support import TOKEN
from tests.handlers.approval_helpers import db_rows
from tests.handlers.insight_helpers import play_known_set, record_figure_threads
from tests.world import World, make_world

ZONE = ZoneInfo("Asia/Shanghai")
CHAT = "fin-group"
TITLE = "📅 上周报销周报 2026-11-23~2026-11-29"


def monday(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 11, 30, hour, minute, second, tzinfo=ZONE)


async def _world(tmp_path: Path, **settings: str) -> World:
    w = await make_world(tmp_path)
    w.sim.add_appchat(CHAT, "财务群", "zhoumin", ["zhoumin", "wuqiang", "xuhui"])
    w.overrides = {"finance_api_token": TOKEN, "bot_finance_chat_id": CHAT, **settings}
    await w.start_bot()
    return w


async def _fire(w: World, when: datetime) -> None:
    w.clock.set(when)
    await w.bot.scheduler.tick()
    await w.idle()
    w.bot.sender.wake()


def digests(w: World) -> list[str]:
    return [m.text() for m in w.sim.messages if TITLE in m.text()]


async def test_digest_fires_once_at_nine_across_restarts(tmp_path: Path) -> None:
    w = await _world(tmp_path)
    try:
        known = await play_known_set(w)
        await _fire(w, monday(8, 59))
        assert digests(w) == []
        await w.stop_bot()
        w.clock.set(monday(9, 0, 5))  # down across the firing time, back just after it
        await w.start_bot()
        await _fire(w, monday(9, 0, 10))
        await w.delivered()
        await w.restart_bot()  # and once more right after: nothing fires twice
        await _fire(w, monday(9, 1))
        await w.delivered()
        group = [m for m in w.sim.messages if m.chatid == CHAT]
        assert len(group) == 1 and group[0].text().startswith(f"{TITLE}（全公司）")
        assert "最慢的步骤（平均）：财务审核 3小时0分；部门负责人 1小时30分" in group[0].text()
        # a group chat gets totals only (the masking rules' default): no single expense, no name
        assert known.c not in group[0].text() and "赵" not in group[0].text() and "待审批最多" not in group[0].text()
        leaders = {m.touser[0]: m.text() for m in w.sim.messages if m.channel == "app" and TITLE in m.text()}
        assert sorted(leaders) == ["lina", "wangfang", "zhangwei", "zhaolei"]  # 财务部 had nothing: zhoumin none
        assert leaders["wangfang"].startswith(f"{TITLE}（前端组）")
        assert f"⏳ {known.c} 赵磊（部门负责人）¥300.00" in leaders["zhangwei"]  # a leader's own digest names people
        assert "提交 2 笔 ¥2,000.00" in leaders["wangfang"] and "提交 1 笔 ¥300.00" in leaders["zhaolei"]
        assert len(digests(w)) == 5
        pending = db_rows(w, "SELECT timer_key, due_at FROM timers WHERE kind = 'digest.weekly' AND status = 'pending'")
        assert pending == [("digest:2026-12-07", "2026-12-07T01:00:00.000000Z")]
    finally:
        await w.stop_bot()
        await w.sim.stop()


async def test_digest_waits_out_quiet_hours(tmp_path: Path) -> None:
    w = await _world(tmp_path, bot_quiet_hours="08:00-10:00")
    try:
        await play_known_set(w)
        await _fire(w, monday(9, 0, 5))
        assert db_rows(w, "SELECT COUNT(*) FROM audit_log WHERE action = 'digest.sent'") == [(1,)]
        await _fire(w, monday(9, 30))
        assert digests(w) == []
        await _fire(w, monday(10, 0, 5))
        await w.delivered()
        assert len([m for m in w.sim.messages if m.chatid == CHAT and TITLE in m.text()]) == 1
    finally:
        await w.stop_bot()
        await w.sim.stop()


async def test_a_group_gets_single_items_with_masked_names_only_when_the_rules_allow(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[masking]\ngroups = "details"\n', encoding="utf-8")
    w = await _world(tmp_path, bot_rules=str(rules))
    try:
        known = await play_known_set(w)
        await _fire(w, monday(9, 0, 5))
        await w.delivered()
        group = [m.text() for m in w.sim.messages if m.chatid == CHAT]
        assert len(group) == 1 and f"⏳ {known.c} 赵*（部门负责人）¥300.00" in group[0] and "赵磊" not in group[0]
    finally:
        await w.stop_bot()
        await w.sim.stop()


async def test_the_week_is_read_off_the_event_loop_and_a_timer_set_by_an_earlier_version_still_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads = record_figure_threads(monkeypatch)
    w = await _world(tmp_path)
    try:
        await play_known_set(w)
        await _fire(w, monday(9, 0, 10))
        await w.delivered()
        assert len(digests(w)) == 5
        assert threads and set(threads) == {w.postgres}  # SQLite: a thread's snapshot; PostgreSQL: the server
        # a timer stored before timers carried their week (only the user in its payload) reports all the same
        w.rows("UPDATE timers SET payload = ? WHERE kind = 'digest.weekly' AND status = 'pending'", ('{"user": "bot"}',))
        threads.clear()
        await _fire(w, monday(9, 0, 10) + timedelta(days=7))
        await w.delivered()
        later = [m.text() for m in w.sim.messages if m.chatid == CHAT and "2026-11-30~2026-12-06" in m.text()]
        assert len(later) == 1 and later[0].startswith("📅 上周报销周报 2026-11-30~2026-12-06（全公司）")
        assert threads and set(threads) == {True}  # read in its transaction, as before
    finally:
        await w.stop_bot()
        await w.sim.stop()
