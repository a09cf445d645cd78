"""Onboarding: the welcome card and the first approval card's how-to line, each once per person
across restarts; the app menu set at start, and menu clicks answered like the words."""

from __future__ import annotations

import pytest

from simulator.models import SentMessage
from tests.handlers.approval_helpers import file_expense, wait_card
from tests.world import World, message_text


def welcomes(world: World, user: str) -> list[SentMessage]:
    return [m for m in world.sim.messages_to(user) if m.msgtype == "template_card"
            and str(m.payload.get("task_id", "")).startswith("welcome-")]


async def test_welcome_card_once_per_person_across_restarts(bare_world: World) -> None:
    w = bare_world
    await w.start_bot(bot_onboarding=True)
    assert "你好！" in await w.reply_to("liuyang", "你好")  # small talk: one line, not the whole help
    card = await w.sim.wait_for(lambda: welcomes(w, "liuyang"))
    body = message_text(card[0])
    assert "欢迎使用财务助手" in body and "昨天打车花了35" in body and "帮我看看预算" in body
    assert [b["key"] for b in card[0].payload["button_list"]] == ["say:报销", "say:预算", "say:我的报销"]
    await w.reply_to("liuyang", "谢谢", contains="不客气")
    await w.sim.send_event("wangfang", "enter_agent")  # opening the app the first time
    await w.sim.wait_for(lambda: welcomes(w, "wangfang"))
    await w.restart_bot(bot_onboarding=True)
    await w.sim.send_event("liuyang", "enter_agent")
    await w.sim.send_event("wangfang", "enter_agent")
    await w.reply_to("wangfang", "帮助", contains="我是财务助手")
    await w.idle()
    await w.delivered()
    assert (len(welcomes(w, "liuyang")), len(welcomes(w, "wangfang"))) == (1, 1)
    # a shortcut button on the card does what its words do
    task = card[0].payload["task_id"]
    after = len(w.sim.messages)
    await w.sim.click_card("liuyang", task, "say:预算")
    await w.idle()
    answer = await w.sim.wait_for_message(to="liuyang", after=after, msgtype="text")
    assert "预算" in answer.text()


async def test_first_approval_card_says_how_to_decide_once(bare_world: World) -> None:
    w = bare_world
    await w.start_bot(bot_onboarding=True)
    first = await file_expense(w, "liuyang", "1200", "办公")
    second = await file_expense(w, "liuyang", "900", "办公")
    hint = "也可以回复「同意 "
    assert hint + first in (await wait_card(w, "wangfang", first)).original["sub_title_text"]
    assert hint not in (await wait_card(w, "wangfang", second)).original["sub_title_text"]
    await w.restart_bot(bot_onboarding=True)
    third = await file_expense(w, "liuyang", "700", "办公")
    assert hint not in (await wait_card(w, "wangfang", third)).original["sub_title_text"]


async def test_menu_is_set_at_start_and_clicks_answer_like_the_words(world: World) -> None:
    w = world
    menu = await w.sim.wait_for(lambda: w.sim.menu)
    assert [b["name"] for b in menu] == ["报销", "预算", "我的"]
    assert "预算" in await _click(w, "liuyang", "预算")
    assert "你还没有报销记录" in await _click(w, "liuyang", "我的报销")
    assert (await _click(w, "xuhui", "统计")).startswith("📊 统计")
    assert "金额" in await _click(w, "chenjing", "报销")  # starts the expense dialog
    with pytest.raises(ValueError):
        await w.sim.click_menu("liuyang", "not-a-menu-key")


async def _click(w: World, user: str, key: str) -> str:
    after = len(w.sim.messages)
    await w.sim.click_menu(user, key)
    await w.idle()
    return (await w.sim.wait_for_message(to=user, after=after)).text()


async def test_menu_is_left_alone_when_switched_off(bare_world: World) -> None:
    w = bare_world
    await w.start_bot(bot_set_menu=False)
    await w.reply_to("liuyang", "帮助", contains="我是财务助手")
    assert w.sim.menu is None and w.sim.calls["menu/create"] == 0
