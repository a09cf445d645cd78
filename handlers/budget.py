"""`预算` / `budget` in chat, budget upserts from the finance platform, and threshold alerts.

An alert goes out once per threshold: the crossing is recorded in the same transaction as the
change that caused it, and usage falling back below a threshold (a bigger budget, a withdrawal)
re-arms it. Alerts carry totals and percentages only, never anyone's individual expenses, and
are deferred past quiet hours rather than dropped.
"""

from __future__ import annotations

from decimal import Decimal

from chat.context import Context
from chat.events import EventBus
from chat.render import plain
from chat.router import Priority, Router
from handlers.budget_view import (
    BudgetStatus,
    Period,
    bar,
    budget_label,
    budget_status,
    covering_statuses,
    department_name,
    money,
    parse_period,
    status_of,
)
from handlers.expense_json import EXPENSE_EVENTS
from handlers.roles import is_finance
from storage.budgets import Budget, BudgetInput, BudgetRepo
from storage.expenses import ExpenseRepo
from storage.org import Department, OrgRepo, OrgUser

router = Router("budget")
bus = EventBus()


# chat ------------------------------------------------------------------------------------------
@router.command("预算", "budget", priority=Priority.GLOBAL)
async def show_budget(ctx: Context) -> None:
    user = await ctx.user()
    if user is None or not user.active or user.department_id is None:
        await ctx.reply(ctx.t("通讯录里找不到你，无法查看预算。", "You are not in the directory, so no budgets to show."))
        return
    dept_id: int = user.department_id
    period = _current_month(ctx)
    for word in ctx.args.split():
        parsed = parse_period(word)
        if parsed is not None:
            period = parsed
            continue
        found = await _find_department(ctx, word)
        if found is None:
            await ctx.reply(ctx.t(f"找不到部门「{plain(word)}」。", f"No department called «{plain(word)}»."))
            return
        dept_id = found.id
    if not await can_view(ctx, user, dept_id):
        await ctx.reply(ctx.t("你只能查看本部门（或你负责的部门）的预算。",
                              "You can see the budgets of your own department (or those you lead) only."))
        return
    await ctx.reply(await budget_report(ctx, dept_id, period))


async def can_view(ctx: Context, user: OrgUser, dept_id: int) -> bool:
    """Finance roles see all; leaders their departments and those below; others their own department."""
    if is_finance(ctx, user) or dept_id in user.departments:
        return True
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

