"""The dialog engine over a real SQLite file, driven message by message through its router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.runtime.clock import FakeClock
from chat.context import Context, Services
from chat.events import EventBus
from chat.message import Inbound
from config import load_settings
from dialogs import (
    DialogSpec,
    Invalid,
    Slot,
    State,
    Turn,
    active_dialog,
    build_router,
    end_dialog,
    register,
    start_dialog,
)
from handlers.rules import Rules
from storage.codec import loads
from storage.db import Database
from storage.sqlite import SqliteDatabase

COMPLETED: list[dict[str, Any]] = []
ENDED: list[tuple[str, str]] = []


def _city(turn: Turn, text: str) -> str:
    if len(text) < 2:
        raise Invalid("城市名太短。", "City name too short.")
    return text


def _nights(turn: Turn, text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 30:
        raise Invalid("晚数应为 1 到 30 的整数。", "Nights must be a whole number from 1 to 30.")
    return int(text)


async def _book(turn: Turn, text: str) -> None:
    if text == "确认":
        await turn.finish(f"已预订 {turn.data['city']} {turn.data['nights']} 晚")
    else:
        await turn.reply("请回复「确认」")


register(DialogSpec(
    name="test.trip",
    title=("出差预订", "trip booking"),
    slots=(
        Slot("city", ("城市", "city"), ("去哪个城市？", "Which city?"), _city, example=("上海", "Shanghai")),
        Slot("nights", ("晚数", "nights"), ("住几晚？", "How many nights?"), _nights, example=("2", "2")),
        Slot("note", ("备注", "note"), ("有什么备注？", "Any note?"), _city, required=False),
    ),
    states=(State("confirm", lambda t: f"确认：{t.data['city']} {t.data['nights']} 晚 {t.data['note']}", _book),),
    final="confirm",
    entry_words=("出差",),
))


async def _record_reason(turn: Turn) -> None:
    COMPLETED.append(dict(turn.data))


async def _record_end(turn: Turn, why: str) -> None:
    ENDED.append((turn.data["number"], why))


register(DialogSpec(
    name="test.reason",
    title=("驳回理由", "reason"),
    slots=(Slot("reason", ("理由", "reason"), lambda t: f"请回复驳回 {t.data['number']} 的理由：", _city),),
    on_complete=_record_reason,
    on_end=_record_end,
))


class Harness:
    def __init__(self, db: Database, services: Services) -> None:
        self.db = db
        self.services = services
        self.router = build_router()
        self.clock: FakeClock = services.clock  # type: ignore[assignment]
        self._inbox = 0

    def _msg(self, user: str, msg_type: str, data: dict[str, Any]) -> Inbound:
        self._inbox += 1
        source = "timer" if msg_type == "timer" else "app"
        return Inbound(inbox_id=self._inbox, source=source, user_id=user, msg_type=msg_type, data=data,
                       received_at=self.clock.now())

    async def run(self, msg: Inbound, action: Any = None) -> str | None:
        async with self.db.transaction() as tx:
            ctx = Context(msg=msg, tx=tx, services=self.services)
            if action is not None:
                await action(ctx)
                return None
            return await self.router.dispatch(ctx)

    async def say(self, text: str, user: str = "u1") -> str:
        """Send text; return the bot's replies to it (joined), '' when the dialog did not claim it."""
        before = await self._count()
        route = await self.run(self._msg(user, "text", {"Content": text}))
        replies = await self._replies(before)
        return replies if route else ""

    async def start(self, spec: str, data: dict[str, Any] | None = None, user: str = "u1") -> str:
        before = await self._count()
        await self.run(self._msg(user, "text", {"Content": "开始"}), lambda ctx: start_dialog(ctx, spec, data))
        return await self._replies(before)

    async def dialog(self, user: str = "u1") -> Any:
        result: list[Any] = []

        async def read(ctx: Context) -> None:
            result.append(await active_dialog(ctx))

        await self.run(self._msg(user, "text", {"Content": ""}), read)
        return result[0]

    async def fire_timers(self, user: str = "u1") -> str:
        before = await self._count()
        async with self.db.read() as tx:
            rows = await tx.fetchall("SELECT kind, timer_key, payload FROM timers WHERE status = 'pending'"
                                     " AND due_at <= ?", (self.clock.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),))
        for row in rows:
            await self.run(self._msg(user, "timer", {"kind": row["kind"], "key": row["timer_key"],
                                                     **loads(row["payload"])}))
        return await self._replies(before)

    async def _count(self) -> int:
        async with self.db.read() as tx:
            row = await tx.fetchone("SELECT COUNT(*) FROM outbound")
        return int(row[0]) if row else 0

    async def _replies(self, after: int) -> str:
        async with self.db.read() as tx:
            rows = await tx.fetchall("SELECT body FROM outbound ORDER BY id LIMIT -1 OFFSET ?", (after,))
        out = []
        for row in rows:
            body = loads(row["body"])
            out.append(body.get("text", body.get("markdown", {})).get("content", ""))
        return "\n".join(out)


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    db = SqliteDatabase(tmp_path / "bot.db")
    await db.open()
    settings = load_settings(demo=True, bot_db=tmp_path / "bot.db", bot_dialog_timeout_minutes=30)
    clock = FakeClock(datetime(2026, 11, 28, 2, 0, tzinfo=UTC))
    services = Services(settings=settings, clock=clock, rules=Rules(), gateway=None,  # type: ignore[arg-type]
                        events=EventBus())
    try:
        yield Harness(db, services)
    finally:
        await db.close()


async def test_slots_are_filled_in_order_and_invalid_input_keeps_data(h: Harness) -> None:
    assert "去哪个城市" in await h.start("test.trip")
    assert "住几晚" in await h.say("上海")
    reply = await h.say("很多")
    assert "晚数应为 1 到 30" in reply and "例如：2" in reply and "城市 上海" in reply
    dialog = await h.dialog()
    assert dialog.state == "nights" and dialog.data["city"] == "上海"
    assert "有什么备注" in await h.say("3")
    assert "确认：上海 3 晚" in await h.say("无")  # optional slot skipped
    assert "请回复「确认」" in await h.say("好吗")
    assert "已预订 上海 3 晚" in await h.say("确认")
    assert await h.dialog() is None


async def test_edit_from_any_state_and_plain_words_are_not_edits(h: Harness) -> None:
    await h.start("test.trip", {"city": "北京"})
    assert "确认：北京 2 晚 改天再说" in (await h.say("2") + await h.say("改天再说"))
    assert "确认：深圳 2 晚" in await h.say("修改 城市 深圳")
    assert "确认：深圳 5 晚" in await h.say("edit nights 5")
    reply = await h.say("修改 晚数 99")
    assert "晚数应为" in reply
    assert (await h.dialog()).data["nights"] == 5
    assert "去哪个城市" in await h.say("修改 城市")  # no value: ask for it again
    assert "可以修改：城市、晚数、备注" in await h.say("修改 颜色 红")


async def test_cancel_from_anywhere_ends_the_dialog(h: Harness) -> None:
    await h.start("test.trip")
    await h.say("上海")
    assert "已取消出差预订" in await h.say("取消")
    assert await h.dialog() is None
    assert await h.say("3") == ""  # nothing claims it any more


async def test_one_state_dialog_calls_back_with_the_text(h: Harness) -> None:
    COMPLETED.clear()
    assert "请回复驳回 BX20261128-0001 的理由" in await h.start("test.reason", {"number": "BX20261128-0001"})
    assert "太短" in await h.say("x")
    await h.say("发票抬头不对")
    assert [(d["number"], d["reason"]) for d in COMPLETED] == [("BX20261128-0001", "发票抬头不对")]
    assert await h.dialog() is None


async def test_one_dialog_per_user_and_entry_words_restart(h: Harness) -> None:
    await h.start("test.trip")
    reply = await h.start("test.reason", {"number": "BX1"})
    assert "之前未完成的出差预订已放弃" in reply
    assert (await h.dialog()).spec == "test.reason"
    assert await h.say("出差 去上海") == ""  # an entry word goes to its command, not to the open dialog
    assert await h.dialog(user="u2") is None


async def test_idle_timeout_ends_with_a_message_and_answers_move_it(h: Harness) -> None:
    await h.start("test.trip")
    h.clock.advance(timedelta(minutes=20))
    await h.say("上海")
    h.clock.advance(timedelta(minutes=20))
    assert await h.fire_timers() == ""  # the answer moved the deadline
    assert (await h.dialog()).data["city"] == "上海"
    h.clock.advance(timedelta(minutes=11))
    assert "30 分钟没有回复" in await h.fire_timers()
    assert await h.dialog() is None


async def test_end_dialog_is_silent(h: Harness) -> None:
    await h.start("test.trip")
    ended: list[bool] = []

    async def end(ctx: Context) -> None:
        ended.append(await end_dialog(ctx))
        ended.append(await end_dialog(ctx))

    await h.run(h._msg("u1", "text", {"Content": ""}), end)
    assert ended == [True, False]
    h.clock.advance(timedelta(minutes=31))
    assert await h.fire_timers() == ""  # its timer was cancelled too


async def test_unsure_values_are_asked_to_be_kept_or_corrected(h: Harness) -> None:
    first = await h.start("test.trip", {"city": "上海", "nights": 3, "note": "", "_unsure": ["city", "nights"]})
    assert "识别为 上海" in first and "回复「对」" in first
    assert "识别为 3" in await h.say("对")
    assert "确认：上海 4 晚" in await h.say("4")
    assert (await h.dialog()).data["_unsure"] == []


async def test_the_spec_hears_why_a_dialog_ended_early(h: Harness) -> None:
    ENDED.clear()
    await h.start("test.reason", {"number": "A"})
    await h.say("cancel")
    await h.start("test.reason", {"number": "B"})
    await h.start("test.trip")
    await h.start("test.reason", {"number": "C"})
    h.clock.advance(timedelta(minutes=31))
    await h.fire_timers()
    await h.start("test.reason", {"number": "D"})
    await h.say("理由充分")
    assert ENDED == [("A", "cancel"), ("B", "replaced"), ("C", "timeout")]
