"""Free text end to end: sentences instead of commands, context instead of numbers.

Driven only as WeCom would (callbacks from the simulator), on the world's own clock: Wednesday
2026-11-25, 10:00 in Shanghai.
"""

from __future__ import annotations

from tests.handlers.approval_helpers import NUMBER, db_rows, expense_row, file_expense, wait_card
from tests.world import World


async def test_a_sentence_files_an_expense(world: World) -> None:
    summary = await world.reply_to("liuyang", "报个销，上周五请客户吃饭 860")
    for part in ("¥860.00", "招待", "2026-11-20", "请客户吃饭", "确认"):
        assert part in summary
    done = await world.reply_to("liuyang", "确认", contains="已提交报销")
    number = NUMBER.search(done).group(0)
    row = expense_row(world, number)
    assert (row["amount_fen"], row["category"], row["expense_date"], row["description"]) == (
        86000, "招待", "2026-11-20", "请客户吃饭")


async def test_amount_in_words_and_a_missing_date_are_shown(world: World) -> None:
    summary = await world.reply_to("liuyang", "报销两万五 设备采购")
    assert "¥25,000.00（按「两万五」）" in summary  # never ¥20,005
    assert "2026-11-25（没说日期，按今天）" in summary and "设备采购" in summary


async def test_future_dates_and_non_positive_amounts_are_refused_with_the_reason(world: World) -> None:
    ask = await world.reply_to("liuyang", "明天打车 30")
    assert "不能是未来日期" in ask and "哪天" in ask and "没看懂" not in ask
    assert "不能是未来日期" in await world.reply_to("liuyang", "后天")
    assert "2026-11-23" in await world.reply_to("liuyang", "周一")  # the most recent Monday
    ask = await world.reply_to("liuyang", "报销 -50 打车 今天")
    assert "金额必须大于 0" in ask and "金额是多少" in ask
    assert "之前未完成的报销已放弃" in ask  # a new expense replaced the open one, and says so


async def test_every_prompt_says_how_to_leave(world: World) -> None:
    for text in ("报销", "12", "交通"):
        assert "取消" in await world.reply_to("liuyang", text)


async def test_a_new_request_inside_a_dialog(world: World) -> None:
    assert "金额" in await world.reply_to("liuyang", "报销")
    budget = await world.reply_to("liuyang", "帮我看看预算")
    assert "预算" in budget and "没看懂" not in budget
    await world.sim.wait_for_message(to="liuyang", contains="还没完成，已为你保留")
    # a whole sentence while the amount is awaited fills what it names
    summary = await world.reply_to("liuyang", "昨天打车花了35块5")
    assert "¥35.50" in summary and "交通" in summary and "2026-11-24" in summary
    # a bare number is an answer (here a wrong one), never a new expense
    stays = await world.reply_to("liuyang", "88")
    assert "回复「确认」提交" in stays and "已放弃" not in stays
    # a whole sentence with another amount is a new expense: the open one is dropped, with a word
    fresh = await world.reply_to("liuyang", "报个销，上周五请客户吃饭 860")
    assert "之前未完成的报销已放弃" in fresh and "¥860.00" in fresh
    thanks = await world.reply_to("liuyang", "谢谢")
    assert "不客气" in thanks and "报销：" not in thanks
    [(data,)] = db_rows(world, "SELECT data FROM dialogs WHERE user_id = 'liuyang'")
    assert '"86000"' not in data and "860.00" in data


async def test_decisions_act_on_the_only_candidate_or_list_them(world: World) -> None:
    first = await file_expense(world, "liuyang", "1200", "办公", "显示器")
    await wait_card(world, "wangfang", first)
    done = await world.reply_to("wangfang", "好的，同意")
    assert f"已同意 {first}" in done
    second = await file_expense(world, "liuyang", "900", "办公", "键盘")
    third = await file_expense(world, "liuyang", "800", "办公", "鼠标")
    listing = await world.reply_to("wangfang", "同意", contains="回复序号")
    assert f"1. {second}" in listing and f"2. {third}" in listing and "回复序号" in listing
    assert f"已同意 {third}" in await world.reply_to("wangfang", "2")
    reason = await world.reply_to("wangfang", "驳回")  # one left: it asks for the reason
    assert second in reason and "理由" in reason
    assert f"已驳回 {second}" in await world.reply_to("wangfang", "型号不对，请换一个")
    assert "现在没有等你审批的报销" in await world.reply_to("wangfang", "通过")


async def test_withdraw_and_status_without_a_number(world: World) -> None:
    assert "你还没有报销记录" in await world.reply_to("liuyang", "我的报销到哪了")
    first = await file_expense(world, "liuyang", "1200", "办公", "显示器")
    timeline = await world.reply_to("liuyang", "我的报销到哪了", contains="当前")
    assert first in timeline and "当前：等待 王芳" in timeline
    second = await file_expense(world, "liuyang", "900", "办公", "键盘")
    listing = await world.reply_to("liuyang", "撤回", contains="回复序号")
    assert f"1. {second}" in listing and f"2. {first}" in listing
    assert f"已撤回 {first}" in await world.reply_to("liuyang", "第二个")
    assert expense_row(world, first)["status"] == "withdrawn"


async def test_resubmitting_a_rejected_expense(world: World) -> None:
    number = await file_expense(world, "liuyang", "1200", "办公", "显示器")
    await wait_card(world, "wangfang", number)
    await world.reply_to("wangfang", f"驳回 {number} 发票抬头不对")
    told = await world.sim.wait_for_message(to="liuyang", contains="已驳回")
    assert f"重新提交 {number}" in told.payload["content"]  # the rejection says how
    copied = await world.reply_to("liuyang", f"重新提交 {number}")
    assert "已复制" in copied and "发票抬头不对" in copied and "¥1,200.00" in copied and "显示器" in copied
    assert "¥1,100.00" in await world.reply_to("liuyang", "修改 金额 1100")
    done = await world.reply_to("liuyang", "确认", contains="已提交报销")
    new = NUMBER.search(done).group(0)
    assert new != number and expense_row(world, new)["amount_fen"] == 110000
    assert expense_row(world, number)["status"] == "rejected"
    timeline = await world.reply_to("liuyang", f"进度 {number}", contains="状态")
    assert f"重新提交为新报销 {new}" in timeline
    assert f"重新提交自 {number}" in await world.reply_to("liuyang", f"进度 {new}", contains="状态")
    assert db_rows(world, "SELECT data FROM audit_log WHERE action = 'expense.resubmitted' AND subject = ?",
                   (f"expense:{number}",))
    assert "只有被驳回或撤回的报销" in await world.reply_to("liuyang", f"重新提交 {new}")


async def test_small_talk_and_the_closest_suggestion(world: World) -> None:
    hello = await world.reply_to("sunli", "你好")
    assert "财务助手" in hello and len(hello.splitlines()) == 1
    assert "welcome" in await world.reply_to("sunli", "thanks!")  # in the language it was said in
    lost = await world.reply_to("sunli", "一起吃饭")
    assert "没太明白" in lost and "你是想报销吗" in lost
    assert "没有进行中的事" in await world.reply_to("sunli", "取消")


async def test_an_amount_the_bot_is_not_sure_of_is_confirmed_first(world: World) -> None:
    ask = await world.reply_to("liuyang", "报销 11.20 打车 去客户")  # 11.20: money, or 20 November?
    assert "识别为 ¥11.20，不太确定" in ask and "请确认报销" not in ask
    assert "¥11.20" in await world.reply_to("liuyang", "对")
    assert "已取消" in await world.reply_to("liuyang", "取消")
    assert "金额是多少" in await world.reply_to("liuyang", "报销")
    ask = await world.reply_to("liuyang", "一二零")  # said digit by digit
    assert "识别为 ¥120.00，不太确定" in ask
    assert "类别" in await world.reply_to("liuyang", "好的")  # a yes confirms, it is no small talk here
