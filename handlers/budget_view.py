"""Budget figures as every capability shows them: periods, usage, remaining, percent, policy.

Definitions (the same in chat, cards, alerts and the API):
- used = approved + paid expenses; pending = expenses still in approval (status submitted);
- remaining = amount - used - pending (what is still free to commit);
- percent = used / amount, or (used + pending) / amount when the `[budget] include_pending` rule is on;
- an expense counts in the month of its expense date; quarter and year budgets add up their months;
- a department's budget counts its own expenses and those of every department below it (roll-up),
  because a department head answers for the spending of their teams.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, Protocol

from chat.context import Context
from storage.budgets import Budget, BudgetRepo, Usage
from storage.org import OrgRepo

PERIOD = re.compile(r"^(\d{4})(?:-(?:(0[1-9]|1[0-2])|Q([1-4])))?$", re.IGNORECASE)
PERCENT = Decimal("0.1")
COUNTED = ("submitted", "approved", "paid")


@dataclass(frozen=True, slots=True)
class Period:
    key: str
    month_from: str
    month_to: str


def parse_period(text: str) -> Period | None:
    """`2026-11`, `2026-Q4` or `2026` as the range of months it covers; None when malformed."""
    match = PERIOD.match(text.strip())
    if not match:
        return None
    year, month, quarter = match.groups()
    if month:
        key = f"{year}-{month}"
        return Period(key, key, key)
    if quarter:
        q = int(quarter)
        return Period(f"{year}-Q{q}", f"{year}-{3 * q - 2:02d}", f"{year}-{3 * q:02d}")
    return Period(year, f"{year}-01", f"{year}-12")


def month_of(day: date) -> Period:
    key = day.strftime("%Y-%m")
    return Period(key, key, key)


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    budget: Budget
    used: Decimal
    pending: Decimal
    remaining: Decimal
    percent: Decimal


def budget_status(budget: Budget, usage: Usage, *, include_pending: bool) -> BudgetStatus:
    basis = usage.used + (usage.pending if include_pending else Decimal(0))
    percent = (basis * 100 / budget.amount).quantize(PERCENT, rounding=ROUND_HALF_UP) if budget.amount else (
        Decimal("100.0") if basis else Decimal("0.0"))
    remaining = budget.amount - usage.used - usage.pending
    return BudgetStatus(budget, usage.used, usage.pending, remaining, percent)


async def status_of(ctx: Context, budget: Budget) -> BudgetStatus:
    usage = await ctx.repo(BudgetRepo).usage(budget.department_id, budget.month_from, budget.month_to,
                                             budget.category)
    return budget_status(budget, usage, include_pending=ctx.rules.budget.include_pending)


def bar(percent: Decimal, width: int = 10) -> str:
    """A small text bar; full (and no longer growing) at 100%."""
    filled = max(0, min(width, int(percent // (100 // width))))
    return "█" * filled + "░" * (width - filled)


def money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


class ExpenseLike(Protocol):
    """What budget checks need from an expense, filed (Expense) or not yet (NewExpense)."""

    @property
    def amount(self) -> Decimal: ...

    @property
    def category(self) -> str: ...

    @property
    def expense_date(self) -> date: ...

    @property
    def department_id(self) -> int: ...


async def covering_statuses(ctx: Context, expense: ExpenseLike) -> list[BudgetStatus]:
    """Every budget the expense counts in: its department's and those of the departments above."""
    chain = [expense.department_id, *(d.id for d in await ctx.repo(OrgRepo).ancestors(expense.department_id))]
    budgets = await ctx.repo(BudgetRepo).covering(chain, expense.expense_date.strftime("%Y-%m"), expense.category)
    return [await status_of(ctx, b) for b in budgets]


def _already_counted(expense: ExpenseLike) -> bool:
    """A filed expense in approval or approved is inside the usage figures already."""
    return getattr(expense, "number", None) is not None and getattr(expense, "status", None) in COUNTED


async def remaining_after(ctx: Context, expense: ExpenseLike) -> Decimal | None:
    """The budget left once this expense is counted: the tightest covering budget; None without one."""
    statuses = await covering_statuses(ctx, expense)
    if not statuses:
        return None
    extra = Decimal(0) if _already_counted(expense) else expense.amount
    return min(s.remaining - extra for s in statuses)


@dataclass(frozen=True, slots=True)
class BudgetFinding:
    """The `budget_exceeded` policy check's result: the rule's action and what to tell the user."""

    action: Literal["warn", "refuse"]
    message: str
    remaining_after: Decimal


async def budget_policy(ctx: Context, expense: ExpenseLike) -> BudgetFinding | None:
    """None unless a `budget_exceeded` rule is configured and this expense takes a budget below zero."""
    rule = next((r for r in ctx.rules.expense.policy if r.check == "budget_exceeded"), None)
    if rule is None:
        return None
    statuses = await covering_statuses(ctx, expense)
    extra = Decimal(0) if _already_counted(expense) else expense.amount
    over = [(s.remaining - extra, s) for s in statuses if s.remaining - extra < 0]
    if not over:
        return None
    left, worst = min(over, key=lambda pair: pair[0])
    name = await department_name(ctx, worst.budget.department_id)
    label = budget_label(ctx, worst.budget, name)
    message = rule.message or ctx.t(
        f"超出预算：{label} 剩余 {money(worst.remaining)}，本次 {money(expense.amount)}，超出 {money(-left)}。",
        f"Over budget: {label} has {money(worst.remaining)} left, this expense is {money(expense.amount)}, "
        f"{money(-left)} over.",
    )
    return BudgetFinding(rule.action, message, left)


async def department_name(ctx: Context, department_id: int) -> str:
    dept = await ctx.repo(OrgRepo).department(department_id)
    return dept.name if dept else f"#{department_id}"


def budget_label(ctx: Context, budget: Budget, department: str) -> str:
    category = budget.category or ctx.t("全部类别", "all categories")
    return f"{department} {budget.period} {category}"
