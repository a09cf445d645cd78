"""The finance platform marks an approved expense paid; the submitter is told in the same transaction."""

from __future__ import annotations

from chat.context import Context
from handlers.budget_view import money
from storage.expenses import Expense, ExpenseRepo


class PaymentRefused(ValueError):
    """The expense cannot be paid as it stands; `code` says why (not_found, not_approved)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


async def mark_paid(ctx: Context, number: str, *, reference: str = "", comment: str = "") -> tuple[Expense, bool]:
    """Approved -> paid (emits expense.paid); paying a paid expense again changes nothing."""
    repo = ctx.repo(ExpenseRepo)
    expense = await repo.by_number(number)
    if expense is None:
        raise PaymentRefused("not_found", f"no expense {number}")
    if expense.status == "paid":
        return expense, False
    if expense.status != "approved":
        raise PaymentRefused("not_approved", f"{expense.number} is {expense.status}, only approved expenses are paid")
    await repo.set_status(expense.id, "paid", ctx.now)
    note = " ".join(part for part in (reference, comment) if part)
    await repo.add_event(expense.id, at=ctx.now, actor=ctx.msg.user_id, action="paid", comment=note,
                         data={"reference": reference})
    await ctx.audit("expense.paid", f"expense:{expense.number}", {"reference": reference, "comment": comment})
    suffix = f"（付款单号 {reference}）" if reference else ""
    await ctx.send_text([expense.submitter], (
        f"你的报销 {expense.number} 已付款：{money(expense.amount)} 元，{expense.category}，"
        f"{expense.expense_date.isoformat()}{suffix}。"
    ), quiet=True)
    await ctx.emit("expense.paid", {"number": expense.number})  # after the text: the rating card follows it
    paid = await repo.by_id(expense.id)
    assert paid is not None
    return paid, True
