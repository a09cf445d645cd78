"""`进度` timelines and who may see them; `我的报销` and `待办` lists."""

from __future__ import annotations

from tests.handlers.approval_helpers import click, file_expense, wait_card
from tests.world import World


async def test_timeline_visibility_and_lists(world: World) -> None:
    w = world
    first = await file_expense(w, "liuyang", "1200", "办公", "显示器")
    second = await file_expense(w, "liuyang", "800", "招待", "客户午餐")
    await click(w, "wangfang", await wait_card(w, "wangfang", first, step=0), "approve", first)
    await wait_card(w, "wuqiang", first, step=1)

    # the submitter sees every event with names and local times, and where it waits now
    text = await w.reply_to("liuyang", f"进度 {first}", contains="当前")
    local_day = w.clock.now().astimezone(w.bot.services.zone).strftime("%Y-%m-%d")
    assert first in text and "¥1,200.00" in text and "显示器" in text
    assert "刘洋 提交" in text and "王芳 同意（部门负责人）" in text and local_day in text
    assert "当前：等待 吴强 审批（第2/2步 财务审核" in text and "已等待" in text

    # approvers in the route, finance and admins may look; others learn nothing, not even existence
    assert "王芳 同意" in await w.reply_to("wangfang", f"进度 {first}")
    assert "等待 吴强" in await w.reply_to("wuqiang", f"进度 {first}")
    assert "Now: waiting for 吴强" in await w.reply_to("xuhui", f"status {first}")
    denied = await w.reply_to("sunli", f"进度 {first}")
    missing = await w.reply_to("sunli", "进度 BX20000101-0001")
    assert "无权查看" in denied and "1,200" not in denied and "王芳" not in denied
    assert denied.replace(first, "X") == missing.replace("BX20000101-0001", "X")
    # lina is above wangfang but not in this route
    assert "无权查看" in await w.reply_to("lina", f"进度 {first}")

    # 我的报销: newest first with state; 待办: oldest first, only what waits for that person
    mine = await w.reply_to("liuyang", "我的报销", contains="最近的报销")
    assert mine.index(second) < mine.index(first)
    assert "审批中" in mine and "等待 吴强" in mine and "等待 王芳" in mine
    todo = await w.reply_to("wangfang", "待办", contains="等你审批")
    assert second in todo and first not in todo and "¥800.00" in todo
    third = await file_expense(w, "chenjing", "900", "办公", "键盘")
    todo = await w.reply_to("lina", "todo", contains="Waiting for your")
    assert third in todo and todo.startswith("Waiting for your decision (1)")
    assert "没有等你审批" in await w.reply_to("sunli", "待办")

    # after the end the timeline says so
    await click(w, "wuqiang", await wait_card(w, "wuqiang", first, step=1), "approve", first)
    await w.sim.wait_for_message(to="liuyang", contains="审批全部通过")
    final = await w.reply_to("liuyang", f"进度 {first}", contains="当前状态")
    assert "吴强 同意（财务审核）" in final and "审批通过" in final and "当前状态：已通过" in final
