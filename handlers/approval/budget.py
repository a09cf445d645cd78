"""Who owns the budget an expense counts in (for rules that add a budget-owner approval step)."""

from __future__ import annotations

from chat.context import Context
from handlers.budget_view import covering_statuses
from storage.expenses import Expense
from storage.org import OrgRepo


async def budget_owner(ctx: Context, expense: Expense) -> str | None:
    """The owner of the most specific covering budget: nearest department first, then by category."""
    statuses = await covering_statuses(ctx, expense)
    if not statuses:
        return None
    lineage = [expense.department_id, *[d.id for d in await ctx.repo(OrgRepo).ancestors(expense.department_id)]]

    def closeness(department_id: int, category: str | None) -> tuple[int, bool]:
        level = lineage.index(department_id) if department_id in lineage else len(lineage)
        return level, category is None

    nearest = min(statuses, key=lambda s: closeness(s.budget.department_id, s.budget.category))
    return nearest.budget.owner
