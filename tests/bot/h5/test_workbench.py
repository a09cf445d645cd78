"""The workbench pages without a browser: the chat's visibility, the chat's actions (withdraw, resubmit,
催办 once a day, decisions one at a time or several at once), CSRF on every POST, budgets in the chat's
scope with the drill-down for leaders and finance."""

from __future__ import annotations

from datetime import timedelta

from tests.bot.finance.finance_support import TOKEN, api
from tests.bot.h5.workbench_support import Phone
from tests.handlers.approval_helpers import db_rows, expense_row, file_expense
from tests.world import World


def events(world: World, number: str, action: str) -> int:
    return len(db_rows(world, "SELECT 1 FROM expense_events v JOIN expenses e ON e.id = v.expense_id"
                              " WHERE e.number = ? AND v.action = ?", (number, action)))


async def test_my_expenses_filters_and_a_detail_page_with_the_route_as_a_picture(world: World) -> None:
    kept = await file_expense(world, "liuyang", "2577.76", "办公", "显示器")
    gone = await file_expense(world, "liuyang", "88", "交通", "打车")
    await world.reply_to("liuyang", f"撤回 {gone}", contains="已撤回")
    async with Phone(world, "liuyang") as phone:
        status, page = await phone.open("/h5/mine")
        assert status == 200 and kept in page and gone in page and "¥2,577.76" in page
        status, page = await phone.open("/h5/mine?status=withdrawn")
        assert gone in page and kept not in page
        status, page = await phone.open(f"/h5/expenses/{kept}")
    assert status == 200 and "¥2,577.76" in page and "显示器" in page and "前端组" in page
    assert 'aria-label="审批路线"' in page and "王芳（等待中）" in page and "部门负责人" in page  # who, which step, waiting
    assert "催办" in page and "撤回" in page and "提交" in page  # actions that fit, and the timeline
    assert "<script" not in page


async def test_another_persons_expense_is_refused_like_a_missing_one(world: World) -> None:
    number = await file_expense(world, "liuyang", "300", "办公", "键盘")
    async with Phone(world, "sunli") as phone:
        refused = await phone.open(f"/h5/expenses/{number}")
        missing = await phone.open("/h5/expenses/BX20990101-0001")
    assert refused[0] == missing[0] == 404 and "键盘" not in refused[1] and "300" not in refused[1]
    assert refused[1].replace(number, "N") == missing[1].replace("BX20990101-0001", "N")


async def test_withdraw_resubmit_and_a_nudge_once_a_day_from_the_page(world: World) -> None:
    number = await file_expense(world, "liuyang", "300", "办公", "键盘")
    path = f"/h5/expenses/{number}"
    async with Phone(world, "liuyang") as phone:
        status, page = await phone.form(path, f"{path}/nudge")
        assert status == 200 and f"已提醒 王芳 审批 {number}" in page and "今天已催办" in page
        reminder = await world.sim.wait_for_message(to="wangfang", contains="催办")
        assert "刘洋" in reminder.text() and f"/h5/expenses/{number}" in reminder.text()
        status, page = await phone.form(path, f"{path}/nudge")  # the button is gone; a replayed POST is refused
        assert "今天已经催办过" in page and events(world, number, "nudge") == 1
        world.clock.advance(timedelta(days=1))
        status, page = await phone.form(path, f"{path}/nudge")
        assert "已提醒" in page and events(world, number, "nudge") == 2
        assert db_rows(world, "SELECT COUNT(*) FROM audit_log WHERE action = 'expense.nudge'") == [(2,)]
        status, page = await phone.post(f"{path}/withdraw", {"csrf": "forged"})
        assert status == 403 and expense_row(world, number)["status"] == "submitted"
        status, page = await phone.form(path, f"{path}/withdraw")
        assert f"已撤回 {number}" in page and expense_row(world, number)["status"] == "withdrawn"
        after = len(world.sim.messages)
        status, page = await phone.form(path, f"{path}/resubmit")
        assert "回到聊天" in page
    copied = await world.sim.wait_for_message(to="liuyang", contains=f"已复制 {number}", after=after)
    assert "键盘" in copied.text()
    async with Phone(world, "wangfang") as phone:  # not the submitter: nothing to nudge, nothing to withdraw
        status, page = await phone.form("/h5/upload", f"{path}/withdraw")
        assert f"没有找到你提交的 {number}" in page


async def test_the_queue_oldest_first_with_single_and_batch_decisions(world: World) -> None:
    first = await file_expense(world, "liuyang", "120", "办公", "鼠标")
    world.clock.advance(timedelta(minutes=5))
    second = await file_expense(world, "chenjing", "200", "办公", "键盘")  # lina's, not wangfang's
    third = await file_expense(world, "liuyang", "300", "办公", "耳机")
    big = await file_expense(world, "liuyang", "4200", "办公", "显示器")
    async with Phone(world, "wangfang") as phone:
        status, page = await phone.open("/h5/approvals")
        assert page.index(first) < page.index(third) < page.index(big) and second not in page
        assert "刘洋" in page and "前端组" in page and "预算余额（本单后）" in page
        status, page = await phone.form("/h5/approvals", "/h5/approvals",
                                        {"number": big, "verdict": "reject", "comment": ""})
        assert "需要写明理由" in page and expense_row(world, big)["status"] == "submitted"
        _, page = await phone.open("/h5/approvals")
        assert 'value="' + big + '" checked' not in page  # only small items are offered for the batch
        csrf = page.split('name="csrf" value="')[1].split('"')[0]
        status, page = await phone.post("/h5/approvals/batch", [
            ("csrf", csrf), ("number", first), ("number", third), ("number", big), ("number", second)])
    assert status == 200 and "同意 2 笔，未处理 2 笔" in page
    assert f"已同意 {first}" in page and f"已同意 {third}" in page
    assert f"{big} 金额超过批量审批上限" in page and f"你不是 {second} 当前的审批人" in page
    statuses = {n: expense_row(world, n)["current_step"] for n in (first, third, big)}
    assert statuses == {first: 1, third: 1, big: 0}
    assert expense_row(world, second)["current_step"] == 0
    async with Phone(world, "wangfang") as phone:
        _, page = await phone.form("/h5/approvals", "/h5/approvals",
                                        {"number": big, "verdict": "approve", "comment": "可以"})
    assert f"已同意 {big}" in page and "可以" in page


async def test_budgets_in_the_chats_scope_and_the_drill_down(bare_world: World) -> None:
    world = bare_world
    await world.start_bot(finance_api_token=TOKEN)
    month = world.clock.now().strftime("%Y-%m")
    for budget_id, dept, amount in (("fe", 3, "10000"), ("mk", 4, "5000")):
        status, _ = await api(world, "PUT", f"/api/v1/budgets/{budget_id}", {
            "department_id": dept, "period": month, "amount": amount, "owner": "zhoumin"})
        assert status == 201
    number = await file_expense(world, "liuyang", "2400", "办公", "显示器")
    async with Phone(world, "liuyang") as phone:
        status, page = await phone.open("/h5/budgets")
        assert status == 200 and "前端组" in page and "¥10,000.00" in page and "¥2,400.00" in page
        assert "本期支出进度" in page and "本期内不会用完" in page
        assert "报销明细" not in page and "各部门" not in page  # totals of the own department only
        status, page = await phone.open("/h5/budgets?dept=4")
        assert status == 403 and "¥5,000.00" not in page and "本部门" in page
        status, page = await phone.open("/h5/budgets/3/expenses")
        assert status == 403 and number not in page
    async with Phone(world, "lina") as phone:  # leads 研发部, and so 前端组 below it
        status, page = await phone.open("/h5/budgets?dept=3")
        assert status == 200 and "报销明细" in page
        status, page = await phone.open(f"/h5/budgets/3/expenses?period={month}")
        assert status == 200 and number in page and "刘洋" in page
        status, page = await phone.open("/h5/budgets?dept=4")
        assert status == 403
    async with Phone(world, "xuhui") as phone:  # finance sees every department, side by side too
        status, page = await phone.open("/h5/budgets?dept=4")
        assert status == 200 and "¥5,000.00" in page
        assert "各部门" in page and "前端组</a></td><td>¥10,000.00</td><td>¥0.00</td><td>¥2,400.00</td>" in page
    await file_expense(world, "liuyang", "6000", "办公", "服务器")  # 8,400 in 25 days: 336 a day, 1,600 left
    async with Phone(world, "liuyang") as phone:
        status, page = await phone.open("/h5/budgets")
        assert "每天约 ¥336.00" in page and "预计 2026-11-29 用完" in page
