"""The expense as the finance platform sees it (API responses and webhook `data`): a pinned contract.

Field names are fixed by the external contract; money is a decimal string, times are ISO 8601 UTC.
Route steps keep whatever the approval flow records about them and always carry `approvers`,
`mode` and `decision` (null while the step is undecided).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from storage.expenses import Expense, ExpenseEvent, ExpenseRepo

EXPENSE_EVENTS = (
    "expense.submitted",
    "expense.step_decided",
    "expense.approved",
    "expense.rejected",
    "expense.withdrawn",
    "expense.paid",
)

DECIDED = ("approved", "rejected", "skipped", "cancelled")
ExpenseStatus = Literal["draft", "submitted", "approved", "rejected", "withdrawn", "paid"]


class RouteStep(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    approvers: list[str]
    mode: Literal["any", "all"]
    decision: str | None = None


class TimelineEntry(BaseModel):
    time: str = Field(description="ISO 8601 UTC")
    actor: str
    action: str
    comment: str


class ExpenseJSON(BaseModel):
    number: str = Field(pattern=r"^BX\d{8}-\d{4,}$")
    status: ExpenseStatus
    amount: str = Field(pattern=r"^-?\d+\.\d{2}$", description="decimal string, yuan")
    currency: str
    category: str
    expense_date: str = Field(description="YYYY-MM-DD")
    description: str
    submitter: str
    department_id: int
    invoice: dict[str, Any] | None = Field(description="the (first) invoice, fields as read and corrected")
    invoices: list[dict[str, Any]] = Field(default_factory=list,
                                           description="every invoice of the expense, one per line; [invoice] "
                                                       "when it has one, [] when none")
    route: list[RouteStep]
    timeline: list[TimelineEntry]
    created_at: str
    updated_at: str


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _step(index: int, step: dict[str, Any]) -> RouteStep:
    data = dict(step)
    data.setdefault("name", str(step.get("kind") or f"step{index + 1}"))
    data["approvers"] = [str(a) for a in step.get("approvers") or []]
    data["mode"] = step.get("mode") if step.get("mode") in ("any", "all") else "any"
    status = step.get("status")
    data["decision"] = step.get("decision") or (status if status in DECIDED else None)
    return RouteStep.model_validate(data)


async def expense_json(repo: ExpenseRepo, expense: Expense) -> ExpenseJSON:
    return expense_document(expense, await repo.timeline(expense.id))


def expense_document(expense: Expense, timeline: list[ExpenseEvent]) -> ExpenseJSON:
    """The expense with a timeline already read (pages of the API list read all theirs at once)."""
    return ExpenseJSON(
        number=expense.number,
        status=expense.status,  # type: ignore[arg-type]
        amount=f"{expense.amount:.2f}",
        currency=expense.currency,
        category=expense.category,
        expense_date=expense.expense_date.isoformat(),
        description=expense.description,
        submitter=expense.submitter,
        department_id=expense.department_id,
        invoice=expense.invoice,
        invoices=expense.invoice_lines or ([expense.invoice] if expense.invoice else []),
        route=[_step(i, s) for i, s in enumerate(expense.route)],
        timeline=[TimelineEntry(time=iso(e.at), actor=e.actor, action=e.action, comment=e.comment) for e in timeline],
        created_at=iso(expense.created_at),
        updated_at=iso(expense.updated_at),
    )
