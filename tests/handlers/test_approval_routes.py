"""Default routes through the simulator: who gets the card, in which order, and what is stored."""

from __future__ import annotations

import json

from tests.handlers.approval_helpers import (
    click,
    db_rows,
    expense_row,
    file_expense,
    wait_card,
)
from tests.world import World


def route_of(world: World, number: str) -> list[dict]:
    return json.loads(expense_row(world, number)["route"])


def active_approvers(route: list[dict]) -> list[list[str]]:
    return [s["approvers"] for s in route if s["status"] != "skipped"]


async def test_default_routes(world: World) -> None:
    w = world
    small = await file_expense(w, "liuyang", "58.50", "交通")
    normal = await file_expense(w, "liuyang", "1200", "办公")
    big = await file_expense(w, "liuyang", "6000", "差旅")
    own = await file_expense(w, "wangfang", "1200", "办公")
    assert active_approvers(route_of(w, small)) == [["wuqiang"]]
    assert active_approvers(route_of(w, normal)) == [["wangfang"], ["wuqiang"]]
    assert active_approvers(route_of(w, big)) == [["wangfang"], ["lina"], ["wuqiang"]]
    assert active_approvers(route_of(w, own)) == [["lina"], ["wuqiang"]]

    # the first approver of each gets a card; the submitter is told the route
    await wait_card(w, "wuqiang", small, step=1)
    card = await wait_card(w, "wangfang", big, step=0)
    assert card.original["card_type"] == "button_interaction"
    assert {b["key"] for b in card.original["button_list"]} == {f"approve:{big}", f"reject:{big}"}
    text = json.dumps(card.original, ensure_ascii=False)
    for part in ("刘洋", "前端组", "6,000.00", "差旅"):
        assert part in text
    told = await w.sim.wait_for_message(to="liuyang", contains=f"{big} 已进入审批")
    assert "王芳" in told.text() and "李娜" in told.text() and "吴强" in told.text()
    assert not [c for c in w.sim.cards.values() if "lina" in c.recipients and big in c.task_id]

    # the chain moves one step per approval, and ends approved
    await click(w, "wangfang", card, "approve", big)
    assert await w.sim.wait_for(lambda: w.sim.cards[card.task_id].view("wangfang").replace_name) == "已同意"
    lina_card = await wait_card(w, "lina", big, step=1)
    await click(w, "lina", lina_card, "approve", big)
    finance_card = await wait_card(w, "wuqiang", big, step=2)
    await click(w, "wuqiang", finance_card, "approve", big)
    assert expense_row(w, big)["status"] == "approved"
    route = route_of(w, big)
    assert [s["status"] for s in route if s["approvers"]] == ["approved", "approved", "approved"]
    assert [d["user"] for s in route for d in s["decisions"]] == ["wangfang", "lina", "wuqiang"]
    await w.sim.wait_for_message(to="liuyang", contains="审批全部通过")
    actions = [r[0] for r in db_rows(w, "SELECT e.action FROM expense_events e JOIN expenses x ON x.id = e.expense_id"
                                        " WHERE x.number = ? ORDER BY e.id", (big,))]
    assert actions == ["submitted", "route", "approve", "approve", "approve", "approved"]
    audit = [r[0] for r in db_rows(w, "SELECT action FROM audit_log WHERE subject = ?", (f"expense:{big}",))]
    assert audit.count("expense.approve") == 3 and "expense.approved" in audit
