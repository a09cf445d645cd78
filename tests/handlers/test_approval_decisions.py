"""Deciding through cards and text; refusals for forged, replayed, foreign and late decisions; withdraw."""

from __future__ import annotations

import json

import pytest

from tests.handlers.approval_helpers import (
    click,
    db_rows,
    expense_row,
    file_expense,
    wait_card,
)
from tests.world import World

pytestmark = pytest.mark.backends("sqlite", "postgres")


def decisions(world: World, number: str) -> list[tuple[str, str, str]]:
    route = json.loads(expense_row(world, number)["route"])
    return [(d["user"], d["decision"], d["comment"]) for s in route for d in s["decisions"]]


def state(world: World, number: str) -> tuple[str, int, list[tuple[str, str, str]], int]:
    row = expense_row(world, number)
    events = db_rows(world, "SELECT COUNT(*) FROM expense_events WHERE expense_id = ?", (row["id"],))[0][0]
    return row["status"], row["current_step"], decisions(world, number), events


async def test_reject_by_card_asks_for_a_reason(world: World) -> None:
    w = world
    number = await file_expense(w, "liuyang", "1200", "办公")
    card = await wait_card(w, "wangfang", number, step=0)
    await click(w, "wangfang", card, "reject", number)
    prompt = await w.sim.wait_for_message(to="wangfang", contains="的理由", msgtype="text")
    assert number in prompt.text() and "理由" in prompt.text()
    assert expense_row(w, number)["status"] == "submitted"

    # 取消 keeps it pending; the card is still live
    await w.reply_to("wangfang", "取消", contains="已取消")
    assert expense_row(w, number)["status"] == "submitted"

    # a second 驳回 tap then a reason rejects, with the reason as comment
    await click(w, "wangfang", card, "reject", number)
    # other commands are answered meanwhile without losing the question
    assert "等待 王芳" in await w.reply_to("wangfang", f"进度 {number}", contains="当前")
    assert number in await w.reply_to("wangfang", "待办", contains="等你审批")
    await w.reply_to("wangfang", "发票抬头不对 请重开", contains="已驳回")
    assert expense_row(w, number)["status"] == "rejected"
    assert decisions(w, number) == [("wangfang", "reject", "发票抬头不对 请重开")]
    assert await w.sim.wait_for(lambda: w.sim.cards[card.task_id].view("wangfang").replace_name) == "已驳回"
    told = await w.sim.wait_for_message(to="liuyang", contains="报销已驳回")
    assert "王芳" in told.text() and "发票抬头不对" in told.text()
    # the finance reviewer was never asked
    assert not [c for c in w.sim.cards.values() if "wuqiang" in c.recipients and number in c.task_id]


async def test_text_decisions_and_refusals(world: World) -> None:
    w = world
    number = await file_expense(w, "liuyang", "1200", "办公")
    card = await wait_card(w, "wangfang", number, step=0)

    # a non-approver, by text and by a forged click on someone else's card: refused, nothing changes
    before = state(w, number)
    assert "不是" in await w.reply_to("sunli", f"同意 {number}")
    await w.sim.send_event("sunli", "template_card_event", EventKey=f"approve:{number}", TaskId=card.task_id,
                           CardType="button_interaction", ResponseCode="RCforged")
    await w.idle()
    refusal = await w.sim.wait_for_message(to="sunli", contains="无效")
    assert "未做任何更改" in refusal.text()
    # the finance reviewer is not the current approver yet
    assert "not a current approver" in await w.reply_to("wuqiang", f"approve {number}")
    # a rejection needs a reason
    assert "理由" in await w.reply_to("wangfang", f"驳回 {number}")
    assert state(w, number) == before

    # the leader approves by text with a comment, even in the middle of filing her own expense
    day = w.clock.now().astimezone(w.bot.services.zone).date().isoformat()
    await w.reply_to("wangfang", f"报销 88 办公 {day} 文具", contains="确认")
    assert "已同意" in await w.reply_to("wangfang", f"同意 {number} 同意采购")
    await w.reply_to("wangfang", "确认", contains="已提交报销")
    await w.sim.wait_for_message(to="wangfang", contains="已进入审批")
    assert await w.sim.wait_for(lambda: w.sim.cards[card.task_id].view("wangfang").replace_name) == "已同意"
    finance_card = await wait_card(w, "wuqiang", number, step=1)
    told = await w.sim.wait_for_message(to="liuyang", contains="同意采购")
    assert "吴强" in told.text()

    # the same text again: refused, nothing doubled
    after_one = state(w, number)
    assert "没有等你处理" in await w.reply_to("wangfang", f"同意 {number}")
    assert state(w, number) == after_one

    reply = await w.reply_to("wuqiang", f"approve {number} looks fine")
    assert reply.startswith("Approved")
    assert expense_row(w, number)["status"] == "approved"
    assert decisions(w, number) == [("wangfang", "approve", "同意采购"), ("wuqiang", "approve", "looks fine")]
    # the finance card was closed by the text decision
    assert await w.sim.wait_for(lambda: w.sim.cards[finance_card.task_id].view("wuqiang").replace_name) == "已同意"

    # a decision on a finished expense: refused, nothing changes
    done = state(w, number)
    assert "不能再审批" in await w.reply_to("wuqiang", f"驳回 {number} 改主意了")
    assert state(w, number) == done


async def test_replayed_click_and_withdraw(world: World) -> None:
    w = world
    number = await file_expense(w, "liuyang", "1200", "办公")
    card = await wait_card(w, "wangfang", number, step=0)
    await click(w, "wangfang", card, "approve", number)
    finance_card = await wait_card(w, "wuqiang", number, step=1)
    await w.sim.wait_for_message(to="liuyang", contains="下一步")
    await w.sim.wait_for(lambda: w.sim.cards[card.task_id].view("wangfang").replace_name)
    before = state(w, number)
    sent_before = len(w.sim.messages)
    # WeCom would not let the greyed card be tapped, but a second tap racing the update arrives anyway
    await w.sim.send_event("wangfang", "template_card_event", EventKey=f"approve:{number}", TaskId=card.task_id,
                           CardType="button_interaction", ResponseCode="RCdoubletap")
    await w.idle()
    assert state(w, number) == before
    assert not [m for m in w.sim.messages[sent_before:] if m.msgtype != "template_card"]
    assert len([c for c in w.sim.cards.values() if number in c.task_id]) == 2

    # only the submitter may withdraw, and only while pending
    assert "没有找到" in await w.reply_to("wangfang", f"撤回 {number}")
    assert "已撤回" in await w.reply_to("liuyang", f"撤回 {number}")
    assert expense_row(w, number)["status"] == "withdrawn"
    assert await w.sim.wait_for(lambda: w.sim.cards[finance_card.task_id].view("wuqiang").replace_name) == "已撤回"
    assert "cannot be withdrawn" in await w.reply_to("liuyang", f"withdraw {number}")
    # the withdrawn expense cannot be decided any more
    withdrawn = state(w, number)
    assert "已撤回，不能再审批" in await w.reply_to("wuqiang", f"同意 {number}")
    assert "不是" in await w.reply_to("sunli", f"同意 {number}")
    assert state(w, number) == withdrawn
    events = [r[0] for r in db_rows(w, "SELECT action FROM expense_events WHERE expense_id = ? ORDER BY id",
                                    (expense_row(w, number)["id"],))]
    assert events[-1] == "withdrawn"
