"""Filing expenses by chat, end to end through the WeCom simulator, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.world import World, message_text

pytestmark = pytest.mark.backends("sqlite", "postgres")


def _rows(world: World, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
    return world.rows(sql, params)


def _today(world: World) -> str:
    return world.clock.now().astimezone(world.bot.settings.zone).strftime("%Y%m%d")


async def test_one_line_expense_is_summarised_then_filed(world: World) -> None:
    summary = await world.reply_to("liuyang", "报销 打车去客户 交通 58.5 2026-11-20")
    for part in ("¥58.50", "交通", "2026-11-20", "打车去客户", "确认"):
        assert part in summary
    assert not _rows(world, "SELECT * FROM expenses")  # nothing filed before 确认

    done = await world.reply_to("liuyang", "确认", contains="已提交报销")
    number = f"BX{_today(world)}-0001"
    assert number in done and "¥58.50" in done
    [row] = _rows(world, "SELECT * FROM expenses")
    assert (row["number"], row["status"], row["amount_fen"], row["category"], row["expense_date"],
            row["description"], row["submitter"], row["department_id"]) == (
        number, "submitted", 5850, "交通", "2026-11-20", "打车去客户", "liuyang", 3)
    first = _rows(world, "SELECT action, actor FROM expense_events ORDER BY id")[0]
    assert tuple(first.values()) == ("submitted", "liuyang")
    assert _rows(world, "SELECT * FROM audit_log WHERE action = 'expense.submitted' AND subject = ?",
                 (f"expense:{number}",))
    assert not _rows(world, "SELECT * FROM dialogs")


async def test_step_by_step_with_a_wrong_amount_edit_and_cancel(world: World) -> None:
    ask = await world.reply_to("liuyang", "报销")
    assert "金额" in ask and "/h5/upload" in ask
    again = await world.reply_to("liuyang", "一百多块吧")
    assert "没看懂这个金额" in again and "例如" in again
    assert "类别" in await world.reply_to("liuyang", "壹佰贰拾元伍角")
    retry = await world.reply_to("liuyang", "不知道")
    assert "没有这个类别" in retry and "金额 ¥120.50" in retry  # what was entered is kept
    assert "哪天" in await world.reply_to("liuyang", "交同")  # a typo of 交通
    assert "用途" in await world.reply_to("liuyang", "上周五")
    summary = await world.reply_to("liuyang", "拜访客户")
    assert "¥120.50" in summary and "交通" in summary
    edited = await world.reply_to("liuyang", "修改 金额 88")
    assert "¥88.00" in edited and "¥120.50" not in edited
    edited = await world.reply_to("liuyang", "修改类别餐饮")
    assert "餐饮" in edited and "¥88.00" in edited
    assert "我是财务助手" in await world.reply_to("liuyang", "帮助")  # a global command, answered inside the dialog
    await world.sim.wait_for_message(to="liuyang", contains="还没完成，已为你保留")  # ... which is kept, and says so
    assert "¥88.00" in await world.reply_to("liuyang", "修改 说明 请客户吃饭")
    assert "已取消报销" in await world.reply_to("liuyang", "取消")
    assert not _rows(world, "SELECT * FROM expenses") and not _rows(world, "SELECT * FROM dialogs")


async def test_english_one_liner(world: World) -> None:
    summary = await world.reply_to("chenjing", "expense 1,234.5 transprot yesterday client visit")
    assert "Please confirm" in summary and "¥1,234.50" in summary and "交通" in summary
    assert "need an invoice" in summary  # the default rule warns above 1000 without an invoice
    done = await world.reply_to("chenjing", "confirm", contains="Filed expense")
    assert "BX" in done
    [row] = _rows(world, "SELECT amount_fen, description, department_id FROM expenses")
    assert tuple(row.values()) == (123450, "client visit", 2)


async def test_idle_dialog_times_out(world: World) -> None:
    assert "类别" in await world.reply_to("liuyang", "报销 58.5")
    after = len(world.sim.messages)
    world.clock.advance(timedelta(minutes=31))
    await world.bot.scheduler.tick()
    await world.idle()
    msg = await world.sim.wait_for_message(to="liuyang", contains="没有回复", after=after)
    assert "30 分钟" in message_text(msg)
    assert not _rows(world, "SELECT * FROM dialogs")
    assert "没太明白" in await world.reply_to("liuyang", "交通")


async def test_restart_mid_dialog_continues(world: World) -> None:
    ask = await world.reply_to("liuyang", "报销 58.5 打车")  # 打车 names the category; no date is today
    assert "用途" in ask and "已记下：金额 ¥58.50，类别 交通，日期 2026-11-25" in ask
    await world.restart_bot()
    summary = await world.reply_to("liuyang", "去客户")
    assert "¥58.50" in summary and "交通" in summary and "2026-11-25（没说日期，按今天）" in summary
    assert "已提交报销" in await world.reply_to("liuyang", "确认", contains="已提交报销")


async def test_policy_warnings_and_refusals(bare_world: World, tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[[expense.policy]]\ncheck = "future_date"\naction = "refuse"\n\n'
        '[[expense.policy]]\ncheck = "max_age_days"\ndays = 90\naction = "warn"\n\n'
        '[[expense.policy]]\ncheck = "category_limit"\ncategory = "餐饮"\namount = "200"\naction = "refuse"\n',
        encoding="utf-8",
    )
    world = bare_world
    await world.start_bot(bot_rules=rules)
    summary = await world.reply_to("liuyang", "报销 300 餐饮 昨天 团队午餐")
    assert "⛔" in summary and "餐饮类单笔上限为 ¥200.00" in summary
    assert "暂时不能提交" in await world.reply_to("liuyang", "确认")
    assert "⛔" not in await world.reply_to("liuyang", "修改 金额 180")
    future = await world.reply_to("liuyang", "修改 日期 2099-01-01")  # refused at once, with the reason
    assert "不能是未来日期" in future and "2099" not in future.split("请确认报销")[-1]
    old = await world.reply_to("liuyang", "修改 日期 2020-01-01")
    assert "⚠️" in old and "已超过 90 天" in old and "⛔" not in old
    assert "已提交报销" in await world.reply_to("liuyang", "确认", contains="已提交报销")
    [row] = _rows(world, "SELECT amount_fen, expense_date FROM expenses")
    assert tuple(row.values()) == (18000, "2020-01-01")
    event = _rows(world, "SELECT data FROM expense_events WHERE action = 'submitted'")[0]
    assert "90" in event["data"]  # the warning shown is kept with the filing


async def test_strangers_cannot_file(world: World) -> None:
    world.sim.add_user("visitor", "访客", [1])  # in WeCom but not yet synced into the bot's mirror
    assert "找不到你" in await world.reply_to("visitor", "报销 58.5 交通 今天")


async def test_a_bad_amount_on_the_line_is_explained_and_asked_again(world: World) -> None:
    reply = await world.reply_to("liuyang", "报销 58.555 餐饮 前天 工作餐")
    assert "最多两位小数" in reply and "金额是多少" in reply
    summary = await world.reply_to("liuyang", "一千二百三十四元五角")
    assert "¥1,234.50" in summary and "餐饮" in summary and "工作餐" in summary
    day = (world.clock.now().astimezone(world.bot.settings.zone) - timedelta(days=2)).date().isoformat()
    assert day in summary
