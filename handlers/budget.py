"""`预算` / `budget` in chat, budget upserts from the finance platform, and threshold alerts.

An alert goes out once per threshold: the crossing is recorded in the same transaction as the
change that caused it, and usage falling back below a threshold (a bigger budget, a withdrawal)
re-arms it. Alerts carry totals and percentages only, never anyone's individual expenses, and
are deferred past quiet hours rather than dropped.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from chat.context import Context
from chat.events import EventBus
from chat.render import plain
from chat.router import Priority, Router, split_command
from handlers.budget_view import (
    BudgetStatus,
    Period,
    bar,
    budget_label,
    budget_status,
    covering_statuses,
    department_name,
    money,
    month_of,
    parse_period,
    status_of,
)
from handlers.expense_json import EXPENSE_EVENTS
from handlers.intents import said, understood
from handlers.roles import is_finance
from storage.budgets import Budget, BudgetInput, BudgetRepo
from storage.expenses import ExpenseRepo
from storage.org import Department, OrgRepo, OrgUser

router = Router("budget")
bus = EventBus()


# chat ------------------------------------------------------------------------------------------
BUDGET_WORDS = ("预算", "budget")
# periods said in words: name → months back from this month (0 = this month) and how many months
RELATIVE_PERIODS = {"本月": (0, 1), "这个月": (0, 1), "当月": (0, 1), "this month": (0, 1), "上个月": (1, 1),
                    "上月": (1, 1), "last month": (1, 1), "本季度": (0, 3), "这个季度": (0, 3), "this quarter": (0, 3),
                    "今年": (0, 12), "本年": (0, 12), "this year": (0, 12), "去年": (12, 12), "last year": (12, 12)}
EXPLICIT_PERIOD = re.compile(r"\d{4}(?:-(?:0[1-9]|1[0-2]|q[1-4]))?", re.IGNORECASE)


@router.command(*BUDGET_WORDS, priority=Priority.GLOBAL)
@said(router, "budget")
async def show_budget(ctx: Context) -> None:
    """`预算 研发部 2026-Q4` word by word; free text (`帮我看看研发部上个月的预算`) by what it names."""
    user = await ctx.user()
    if user is None or not user.active or user.department_id is None:
        await ctx.reply(ctx.t("通讯录里找不到你，无法查看预算。", "You are not in the directory, so no budgets to show."))
        return
    if split_command(ctx.msg.text, BUDGET_WORDS) is not None:
        dept, period, unknown = await _said_word_by_word(ctx, ctx.args)
    else:
        dept, period, unknown = await _named_in(ctx, ctx.args)
    if unknown is not None:
        await ctx.reply(ctx.t(f"找不到部门「{plain(unknown)}」。", f"No department called «{plain(unknown)}»."))
        return
    dept_id = dept.id if dept is not None else user.department_id
    period = period or _current_month(ctx)
    if not await can_view(ctx, user, dept_id):
        await ctx.reply(ctx.t("你只能查看本部门（或你负责的部门）的预算。",
                              "You can see the budgets of your own department (or those you lead) only."))
        return
    await ctx.reply(await budget_report(ctx, dept_id, period))


Query = tuple[Department | None, Period | None, str | None]  # department, period, a word that is neither


async def _said_word_by_word(ctx: Context, args: str) -> Query:
    dept: Department | None = None
    period: Period | None = None
    for word in args.split():
        if (parsed := parse_period(word) or _relative_period(ctx, word)) is not None:
            period = parsed
        elif (found := await _find_department(ctx, word) or (await _named_in(ctx, word))[0]) is not None:
            dept = found
        elif not understood(ctx, word).plain:  # 还剩多少: words about budgets, not a department
            return dept, period, word
    return dept, period, None


async def _named_in(ctx: Context, text: str) -> Query:
    """The department and period a sentence names, if any (研发 is enough for 研发部)."""
    lowered = text.lower()
    departments = sorted(await ctx.repo(OrgRepo).departments(), key=lambda d: -len(d.name))
    dept = next((d for d in departments if d.name and (d.name in text or (len(d.name) > 2 and d.name[:-1] in text))),
                None)
    period = next((p for word in RELATIVE_PERIODS if word in lowered and (p := _relative_period(ctx, word))), None)
    if period is None and (m := EXPLICIT_PERIOD.search(text)):
        period = parse_period(m.group(0))
    return dept, period, None


def _relative_period(ctx: Context, word: str) -> Period | None:
    if word.lower() not in RELATIVE_PERIODS:
        return None
    back, months = RELATIVE_PERIODS[word.lower()]
    today = ctx.local(ctx.now).date()
    if months == 12:
        return parse_period(str(today.year - back // 12))
    if months == 3:
        return parse_period(f"{today.year}-Q{(today.month - 1) // 3 + 1}")
    first = today.replace(day=1)
    for _ in range(back):
        first = (first - timedelta(days=1)).replace(day=1)
    return month_of(first)


async def can_view(ctx: Context, user: OrgUser, dept_id: int) -> bool:
    """Finance roles see all; leaders their departments and those below; others their own department."""
    return is_finance(ctx, user) or dept_id in user.departments or await leads(ctx, user, dept_id)


async def leads(ctx: Context, user: OrgUser, dept_id: int) -> bool:
    """The user leads the department or one above it."""
    org = ctx.repo(OrgRepo)
    for led in user.leader_in:
        if dept_id in await org.descendants(led):
            return True
    return False


async def budget_report(ctx: Context, dept_id: int, period: Period) -> str:
    name = await department_name(ctx, dept_id)
    budgets = await ctx.repo(BudgetRepo).for_department(dept_id, period.month_from, period.month_to)
    if not budgets:
        usage = await ctx.repo(BudgetRepo).usage(dept_id, period.month_from, period.month_to, None)
        return ctx.t(
            f"{name} {period.key} 没有设置预算。本期已用 {money(usage.used)}，审批中 {money(usage.pending)}。",
            f"{name} has no budget for {period.key}. Used {money(usage.used)}, pending {money(usage.pending)}.",
        )
    lines = [ctx.t(f"{name} 预算（{period.key}）", f"{name} budgets ({period.key})")]
    for budget in budgets:
        s = await status_of(ctx, budget)
        category = budget.category or ctx.t("全部类别", "all categories")
        lines.append(ctx.t(
            f"• {budget.period} {category}：预算 {money(budget.amount)}，已用 {money(s.used)}，"
            f"审批中 {money(s.pending)}，剩余 {money(s.remaining)}\n  {bar(s.percent)} {s.percent}%",
            f"• {budget.period} {category}: budget {money(budget.amount)}, used {money(s.used)}, "
            f"pending {money(s.pending)}, remaining {money(s.remaining)}\n  {bar(s.percent)} {s.percent}%",
        ))
    return "\n".join(lines)


def _current_month(ctx: Context) -> Period:
    key = ctx.local(ctx.now).strftime("%Y-%m")
    return Period(key, key, key)


async def _find_department(ctx: Context, word: str) -> Department | None:
    org = ctx.repo(OrgRepo)
    if word.isdigit():
        return await org.department(int(word))
    return await org.department_by_name(word)


# the finance platform --------------------------------------------------------------------------
async def upsert_budget(ctx: Context, budget_id: str, data: BudgetInput) -> tuple[BudgetStatus, bool]:
    """Create or replace a budget, audit it, and re-check its thresholds against the new amount."""
    budget, created = await ctx.repo(BudgetRepo).upsert(budget_id, data, ctx.now)
    await ctx.audit("budget.created" if created else "budget.updated", f"budget:{budget_id}", {
        "department_id": data.department_id, "period": data.period, "category": data.category,
        "amount": str(data.amount), "owner": data.owner, "alert_chat_id": data.alert_chat_id,
        "robot_key_set": data.robot_key is not None, "thresholds": list(data.thresholds),
    })
    return await check_budget(ctx, budget), created


# thresholds ------------------------------------------------------------------------------------
@bus.on(*EXPENSE_EVENTS)
async def on_expense_event(ctx: Context, payload: dict[str, object]) -> None:
    """Any status change may move used or pending across a threshold (or back below one)."""
    expense = await ctx.repo(ExpenseRepo).by_number(str(payload["number"]))
    if expense is None:
        return
    for status in await covering_statuses(ctx, expense):
        await _apply_thresholds(ctx, status)


async def check_budget(ctx: Context, budget: Budget) -> BudgetStatus:
    status = await status_of(ctx, budget)
    await _apply_thresholds(ctx, status)
    return status


async def scan_all(ctx: Context) -> int:
    """Re-check every budget in one aggregate query (safety net after rule changes); returns alerts sent."""
    include_pending = ctx.rules.budget.include_pending
    sent = 0
    for budget, usage in (await ctx.repo(BudgetRepo).usage_all()).values():
        sent += await _apply_thresholds(ctx, budget_status(budget, usage, include_pending=include_pending))
    return sent


def crossings(percent: Decimal, thresholds: tuple[int, ...], fired: set[int]) -> tuple[list[int], list[int]]:
    """(thresholds newly reached, thresholds to re-arm because usage is below them again)."""
    reached = {t for t in thresholds if percent >= t}
    return sorted(reached - fired), sorted(fired - reached)


async def _apply_thresholds(ctx: Context, status: BudgetStatus) -> int:
    repo = ctx.repo(BudgetRepo)
    budget = status.budget
    fired = await repo.fired(budget.id)
    new, rearm = crossings(status.percent, budget.thresholds, fired)
    if rearm:
        await repo.rearm(budget.id, rearm)
        await ctx.audit("budget.rearmed", f"budget:{budget.id}", {"thresholds": rearm, "percent": str(status.percent)},
                        actor="bot")
    if not new:
        return 0
    await repo.mark_fired(budget.id, new, status.percent, ctx.now)
    await _send_alert(ctx, status, max(new))
    return 1


async def _send_alert(ctx: Context, status: BudgetStatus, threshold: int) -> None:
    budget = status.budget
    label = budget_label(ctx, budget, await department_name(ctx, budget.department_id))
    text = (
        f"预算提醒：{label} 已使用 {status.percent}%（达到 {threshold}% 阈值）\n"
        f"预算 {money(budget.amount)}，已用 {money(status.used)}，审批中 {money(status.pending)}，"
        f"剩余 {money(status.remaining)}\n{bar(status.percent)}"
    )
    if budget.alert_chat_id:
        await ctx.send_group(budget.alert_chat_id, "text", {"content": text}, quiet=True)
    if budget.robot_key:
        await ctx.send_robot(budget.robot_key, "text", {"content": text}, quiet=True)
    await ctx.send_text([budget.owner], text, quiet=True)
    await ctx.audit("budget.alert", f"budget:{budget.id}", {
        "threshold": threshold, "percent": str(status.percent), "used": str(status.used),
        "pending": str(status.pending), "remaining": str(status.remaining), "period": budget.period,
    }, actor="bot")

