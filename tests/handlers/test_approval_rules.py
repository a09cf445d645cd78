"""Routes from a rules file (会签 and 或签 steps) and approvers who leave mid-way."""

from __future__ import annotations

import json
from pathlib import Path

from tests.bot.finance.finance_support import TOKEN, api
from tests.handlers.approval_helpers import (
    click,
    db_rows,
    expense_row,
    file_expense,
    wait_card,
)
from tests.world import World

RULES = """
[approval]
parent_leader_above = 10000

[[approval.extra_steps]]
name = "招待会签"
approvers = ["zhaolei", "zhoumin"]
mode = "all"
when = { categories = ["招待"] }

[[approval.extra_steps]]
name = "预算复核"
approvers = ["chenjing", "sunli"]
mode = "any"
when = { amount_over = 1000 }
"""




def route_of(world: World, number: str) -> list[dict]:
    return json.loads(expense_row(world, number)["route"])


async def test_all_and_any_steps_from_rules(bare_world: World, tmp_path: Path) -> None:
    w = bare_world
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    await w.start_bot(bot_rules=rules)
    number = await file_expense(w, "liuyang", "2000", "招待", "客户晚宴")
    route = route_of(w, number)
    assert [(s["name"], s["mode"], s["approvers"]) for s in route] == [
        ("部门负责人", "any", ["wangfang"]),
        ("招待会签", "all", ["zhaolei", "zhoumin"]),
        ("预算复核", "any", ["chenjing", "sunli"]),
        ("财务审核", "any", ["wuqiang"]),
    ]
    await click(w, "wangfang", await wait_card(w, "wangfang", number, step=0), "approve", number)

    # 会签: both are asked; one approval leaves the step open and redraws the other card with progress
    zhaolei_card = await wait_card(w, "zhaolei", number, step=1)
    zhoumin_card = await wait_card(w, "zhoumin", number, step=1)
    await click(w, "zhaolei", zhaolei_card, "approve", number)
    redrawn = await w.sim.wait_for(
        lambda: "1/2" in json.dumps(w.sim.cards[zhoumin_card.task_id].view("zhoumin").card, ensure_ascii=False))
    assert redrawn and w.sim.cards[zhoumin_card.task_id].view("zhoumin").clickable
    assert expense_row(w, number)["current_step"] == 1
    await w.sim.wait_for_message(to="liuyang", contains="会签进度 1/2")
    assert not [c for c in w.sim.cards.values() if "sunli" in c.recipients]
    await click(w, "zhoumin", zhoumin_card, "approve", number)

    # 或签: the first of the two decides; the other's card is greyed and they can no longer decide
    sunli_card = await wait_card(w, "sunli", number, step=2)
    chenjing_card = await wait_card(w, "chenjing", number, step=2)
    await click(w, "sunli", sunli_card, "approve", number)
    shown = await w.sim.wait_for(lambda: w.sim.cards[chenjing_card.task_id].view("chenjing").replace_name)
    assert "孙丽" in shown
    assert "没有等你处理" in await w.reply_to("chenjing", f"同意 {number}")
    await click(w, "wuqiang", await wait_card(w, "wuqiang", number, step=3), "approve", number)
    assert expense_row(w, number)["status"] == "approved"
    route = route_of(w, number)
    assert [sorted(d["user"] for d in s["decisions"]) for s in route] == [
        ["wangfang"], ["zhaolei", "zhoumin"], ["sunli"], ["wuqiang"]]


async def test_departed_approver_is_replaced(bare_world: World) -> None:
    w = bare_world
    await w.start_bot()
    pending = await file_expense(w, "liuyang", "1200", "办公")
    card = await wait_card(w, "wangfang", pending, step=0)

    w.sim.update_user("wangfang", status=5)
    assert (await w.sim.change_contact("update_user", UserID="wangfang")).status == 200
    await w.idle()
    # her open approval moved to her leader at once; she can decide nothing any more
    lina_card = await wait_card(w, "lina", pending, step=0)
    assert not db_rows(w, "SELECT id FROM outbound WHERE status = 'failed'")
    assert w.sim.cards[card.task_id].view("wangfang").clickable  # nothing is sent to someone who left
    step = route_of(w, pending)[0]
    assert step["approvers"] == ["lina"]
    assert step["reassigned"][0]["from_user"] == "wangfang" and step["reassigned"][0]["to_users"] == ["lina"]
    told = await w.sim.wait_for_message(to="liuyang", contains="已离职或停用")
    assert "李娜" in told.text()
    await w.say("wangfang", f"同意 {pending}")  # a late message from her account changes nothing
    assert route_of(w, pending)[0]["decisions"] == []
    assert w.sim.cards[lina_card.task_id].view("lina").clickable
    actions = [r[0] for r in db_rows(w, "SELECT action FROM expense_events WHERE expense_id = ?",
                                     (expense_row(w, pending)["id"],))]
    assert "reassign" in actions
    await click(w, "lina", lina_card, "approve", pending)
    await wait_card(w, "wuqiang", pending, step=1)

    # a new expense skips the departed leader: the next leader up approves
    fresh = await file_expense(w, "liuyang", "1200", "办公")
    assert [s["approvers"] for s in route_of(w, fresh)] == [["lina"], ["wuqiang"]]

    # the last finance reviewer leaving moves finance review to the admins
    w.sim.update_user("wuqiang", status=5)
    await w.sim.change_contact("update_user", UserID="wuqiang")
    await w.idle()
    assert route_of(w, pending)[1]["approvers"] == ["xuhui"]
    await wait_card(w, "xuhui", pending, step=1)


async def test_budget_owner_step_and_remaining_budget_on_the_card(bare_world: World, tmp_path: Path) -> None:
    w = bare_world
    rules = tmp_path / "rules.toml"
    rules.write_text('[[approval.extra_steps]]\nname = "预算负责人"\nrole = "budget_owner"\nposition = "after_leader"\n'
                     "when = { amount_over = 1000 }\n", encoding="utf-8")
    await w.start_bot(bot_rules=rules, finance_api_token=TOKEN)
    month = w.clock.now().astimezone(w.bot.services.zone).strftime("%Y-%m")
    body = {"department_id": 3, "period": month, "amount": "10000", "owner": "chenjing"}
    assert (await api(w, "PUT", "/api/v1/budgets/fe-month", body))[0] == 201
    number = await file_expense(w, "liuyang", "2000", "办公")
    assert [(s["name"], s["approvers"]) for s in route_of(w, number)] == [
        ("部门负责人", ["wangfang"]), ("预算负责人", ["chenjing"]), ("财务审核", ["wuqiang"])]
    card = await wait_card(w, "wangfang", number, step=0)
    remaining = next(i["value"] for i in card.original["horizontal_content_list"] if i["keyname"] == "预算余额")
    assert remaining.startswith("¥8,000.00")
    small = await file_expense(w, "liuyang", "300", "交通")
    assert [s["approvers"] for s in route_of(w, small) if s["status"] != "skipped"] == [["wuqiang"]]
