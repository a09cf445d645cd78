"""Budgets in chat and their alerts: who sees what, alerts once per crossing and re-armed, quiet hours."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from handlers.budget import crossings
from handlers.budget_view import bar, budget_status, parse_period
from storage.budgets import Budget, Usage
from tests.bot.finance.finance_support import TOKEN, api, approve, approved_expense, file_expense
from tests.world import World

SHANGHAI = ZoneInfo("Asia/Shanghai")


def periods(world: World) -> tuple[str, str, str]:
    day = world.clock.now().astimezone(SHANGHAI).date()
    return day.strftime("%Y-%m"), f"{day.year}-Q{(day.month - 1) // 3 + 1}", str(day.year)


def budget(department_id: int, period: str, amount: str, owner: str, **extra: object) -> dict[str, object]:
    return {"department_id": department_id, "period": period, "amount": amount, "owner": owner, **extra}


# pure rules --------------------------------------------------------------------------------------
def test_periods_percent_and_crossings() -> None:
    assert parse_period("2026-Q4") is not None and parse_period("2026-q4").key == "2026-Q4"  # type: ignore[union-attr]
    q4 = parse_period("2026-Q4")
    assert q4 is not None and (q4.month_from, q4.month_to) == ("2026-10", "2026-12")
    year = parse_period("2026")
    assert year is not None and (year.month_from, year.month_to) == ("2026-01", "2026-12")
    assert parse_period("2026-13") is None and parse_period("2026-Q5") is None and parse_period("26-11") is None
    now = datetime(2026, 11, 1, tzinfo=SHANGHAI)
    b = Budget(id="b", department_id=3, period="2026-11", month_from="2026-11", month_to="2026-11", category=None,
               amount=Decimal("1200.00"), owner="o", alert_chat_id=None, robot_key=None, thresholds=(80, 100),
               created_at=now, updated_at=now)
    s = budget_status(b, Usage(Decimal("1000.00"), Decimal("150.00")), include_pending=False)
    assert (s.percent, s.remaining) == (Decimal("83.3"), Decimal("50.00"))
    assert budget_status(b, Usage(Decimal("1000.00"), Decimal("150.00")), include_pending=True).percent == Decimal("95.8")
    assert crossings(Decimal("83.3"), (80, 100), set()) == ([80], [])
    assert crossings(Decimal("91.0"), (80, 100), {80}) == ([], [])
    assert crossings(Decimal("20.0"), (80, 100), {80}) == ([], [80])
    assert crossings(Decimal("120.0"), (80, 100), set()) == ([80, 100], [])
    assert bar(Decimal("0")) == "░" * 10 and bar(Decimal("55")) == "█" * 5 + "░" * 5 and bar(Decimal("250")) == "█" * 10


# chat --------------------------------------------------------------------------------------------
async def test_budget_visibility_per_role(bare_world: World) -> None:
    world = bare_world
    await world.start_bot(finance_api_token=TOKEN)
    month, quarter, year = periods(world)
    for budget_id, body in (("fe", budget(3, month, "5000", "wangfang")), ("rd", budget(2, quarter, "20000", "lina")),
                            ("mkt", budget(4, year, "30000", "zhaolei", category="差旅"))):
        status, _ = await api(world, "PUT", f"/api/v1/budgets/{budget_id}", body)
        assert status == 201
    await approved_expense(world)
    await file_expense(world, "liuyang", "200", "餐饮")
    await file_expense(world, "sunli", "300", "差旅")

    mine = await world.reply_to("liuyang", "预算")
    assert "前端组" in mine and "5,000.00" in mine and "已用 1,000.00" in mine and "审批中 200.00" in mine
    assert "剩余 3,800.00" in mine
    assert "20.0%" in mine and "██" in mine
    assert "刘洋" not in mine and "BX" not in mine
    for user, text in (("liuyang", "预算 研发部"), ("liuyang", "预算 市场部"), ("wangfang", "预算 研发部"),
                       ("lina", "预算 市场部"), ("sunli", "预算 前端组")):
        answer = await world.reply_to(user, text)
        assert "只能查看" in answer and "20,000.00" not in answer and "30,000.00" not in answer, (user, text)
    assert "5,000.00" in await world.reply_to("wangfang", "预算 前端组")
    rd = await world.reply_to("lina", f"预算 研发部 {quarter}")
    assert "20,000.00" in rd and "已用 1,000.00" in rd and "审批中 200.00" in rd  # 前端组 rolls up into 研发部
    assert "5,000.00" in await world.reply_to("lina", "预算 前端组")
    assert "5,000.00" in await world.reply_to("zhangwei", "预算 3")
    mkt = await world.reply_to("wuqiang", f"预算 市场部 {year}")
    assert "30,000.00" in mkt and "差旅" in mkt and "审批中 300.00" in mkt
    assert "30,000.00" in await world.reply_to("xuhui", "预算 市场部")
    own = await world.reply_to("xuhui", "budget")
    assert "no budget" in own and "财务部" in own
    assert "找不到部门" in await world.reply_to("lina", "预算 火星部")
    other = await world.reply_to("wuqiang", "预算 前端组 1999-Q1")
    assert "没有设置预算" in other and "已用 0.00" in other


async def test_threshold_alerts_once_per_crossing_and_rearm(bare_world: World) -> None:
    world = bare_world
    await world.start_bot(finance_api_token=TOKEN)
    month, _, _ = periods(world)
    body = budget(3, month, "1200", "wangfang", alert_chat_id="rd-group", robot_key="demo-robot-key")
    await api(world, "PUT", "/api/v1/budgets/fe-month", body)

    def alerts(**where: str) -> list[str]:
        return [m.text() for m in world.sim.find_messages(contains="预算提醒", **where)]

    number = await approved_expense(world)  # 1000 of 1200: 83.3%
    await world.sim.wait_for(lambda: alerts(chat="rd-group") and alerts(to="wangfang", channel="app") and
                             world.sim.find_messages(contains="预算提醒", channel="webhook"), timeout=5)
    group = alerts(chat="rd-group")
    assert len(group) == 1 and "83.3%" in group[0] and "80%" in group[0] and "剩余 200.00" in group[0]
    assert "刘洋" not in group[0] and "liuyang" not in group[0] and number not in group[0]

    small = await file_expense(world, "liuyang", "100", "交通")  # 91.7%: no new threshold
    await approve(world, "wuqiang", small)
    status, fe = await api(world, "GET", "/api/v1/budgets/fe-month")
    assert (fe["used"], fe["percent"]) == ("1100.00", "91.7")
    await world.idle()
    assert len(alerts(chat="rd-group")) == 1

    status, fe = await api(world, "PUT", "/api/v1/budgets/fe-month", {**body, "amount": "5000"})  # 22%: re-armed
    assert status == 200 and fe["percent"] == "22.0"
    status, fe = await api(world, "PUT", "/api/v1/budgets/fe-month", {**body, "amount": "1000"})  # 110%
    assert fe["percent"] == "110.0" and fe["remaining"] == "-100.00"
    await world.sim.wait_for(lambda: len(alerts(chat="rd-group")) == 2, timeout=5)
    assert "100%" in alerts(chat="rd-group")[1] and "110.0%" in alerts(chat="rd-group")[1]
    await api(world, "PUT", "/api/v1/budgets/fe-month", {**body, "amount": "1000"})
    await world.idle()
    await asyncio.sleep(0.2)
    assert len(alerts(chat="rd-group")) == 2 and len(alerts(to="wangfang", channel="app")) == 2
    assert len(world.sim.find_messages(contains="预算提醒", channel="webhook")) == 2


async def test_quiet_hours_defer_alerts_across_a_restart(bare_world: World, tmp_path: Path) -> None:
    world = bare_world
    rules = tmp_path / "rules.toml"
    rules.write_text("[budget]\ninclude_pending = true\n", encoding="utf-8")
    day = world.clock.now().astimezone(SHANGHAI).date()
    world.clock.set(datetime.combine(day, time(23, 30), tzinfo=SHANGHAI))
    settings = {"finance_api_token": TOKEN, "bot_quiet_hours": "22:00-08:00", "bot_rules": rules}
    await world.start_bot(**settings)
    await api(world, "PUT", "/api/v1/budgets/fe", budget(3, day.strftime("%Y-%m"), "1000", "wangfang",
                                                         alert_chat_id="rd-group"))
    await file_expense(world, "liuyang", "900", "交通", day=day.isoformat())  # 90% pending counts by rule
    await world.idle()
    waiting = world.rows("SELECT not_before FROM outbound WHERE order_key = 'chat:rd-group' AND status = 'pending'")
    morning = datetime.combine(day + timedelta(days=1), time(8), tzinfo=SHANGHAI)
    assert [w["not_before"][:16] for w in waiting] == [morning.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M")]
    await asyncio.sleep(0.3)
    assert world.sim.find_messages(chat="rd-group") == []

    await world.restart_bot(**settings)
    world.clock.set(morning + timedelta(seconds=5))
    world.bot.sender.wake()
    alert = await world.sim.wait_for_message(chat="rd-group", contains="预算提醒")
    assert "90.0%" in alert.text()
    await world.sim.wait_for_message(to="wangfang", contains="预算提醒")
    await world.idle()
    assert len(world.sim.find_messages(chat="rd-group")) == 1


def test_expense_dates_count_in_their_month() -> None:
    q = parse_period("2026-Q1")
    assert q is not None and q.month_from <= date(2026, 2, 28).strftime("%Y-%m") <= q.month_to


async def test_submission_shows_budget_left_and_applies_the_budget_rule(bare_world: World, tmp_path: Path) -> None:
    world = bare_world
    rules = tmp_path / "rules.toml"
    rules.write_text('[[expense.policy]]\ncheck = "budget_exceeded"\naction = "refuse"\n', encoding="utf-8")
    await world.start_bot(finance_api_token=TOKEN, bot_rules=rules)
    month, _, _ = periods(world)
    assert (await api(world, "PUT", "/api/v1/budgets/fe", budget(3, month, "1000", "wangfang")))[0] == 201
    summary = await world.reply_to("liuyang", "报销 300 交通 今天 打车")
    assert "提交后预算余额：¥700.00" in summary and "⛔" not in summary
    await world.reply_to("liuyang", "取消")
    over = await world.reply_to("liuyang", "报销 1200 交通 今天 打车")
    assert "⛔" in over and "超出预算" in over
    refused = await world.reply_to("liuyang", "确认")
    assert "暂时不能提交" in refused
    assert world.value("SELECT COUNT(*) FROM expenses") == 0
