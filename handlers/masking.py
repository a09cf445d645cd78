"""What each audience may see, from the `[masking]` rules: groups, accounts and tax ids, invoices.

- Group chats and robots get totals and percentages only (`groups = "totals"`), never names or single
  expenses; with `groups = "details"` they may get single items, names masked `刘*` unless
  `group_names = "full"`.
- Bank accounts and tax ids read `****1234` except to finance roles (`accounts = "mask"`).
- The invoice's original (image or PDF) only to `invoice_viewers`: the submitter, the approvers of
  its route, finance roles.
"""

from __future__ import annotations

from typing import Any

from chat.context import Context
from handlers import roles
from handlers.approval.model import Route
from storage.approvals import ApprovalRepo
from storage.expenses import Expense
from storage.org import OrgUser

SECRET_FIELDS = ("tax_id", "account", "bank")


def mask_name(name: str) -> str:
    """刘洋 → 刘*, 欧阳娜娜 → 欧***: the family name stays, so the team still knows whom it means."""
    return name[:1] + "*" * max(1, len(name) - 1) if name else name


def mask_number(value: str) -> str:
    """A bank account or tax id as ****1234."""
    text = str(value).replace(" ", "")
    return "****" + text[-4:] if len(text) > 4 else "****"


def group_details(ctx: Context) -> bool:
    """Whether group chats and robots may be told about single expenses and people."""
    return ctx.rules.masking.groups == "details"


def group_name(ctx: Context, name: str) -> str:
    return name if ctx.rules.masking.group_names == "full" else mask_name(name)


def sees_accounts(ctx: Context, viewer: OrgUser | None) -> bool:
    return ctx.rules.masking.accounts == "full" or roles.is_finance(ctx, viewer)


def is_secret_field(name: str) -> bool:
    return any(part in name for part in SECRET_FIELDS)


def invoice_fields(ctx: Context, viewer: OrgUser | None, invoice: dict[str, Any]) -> dict[str, Any]:
    """The invoice's fields as this viewer may read them (accounts and tax ids masked unless finance)."""
    if sees_accounts(ctx, viewer):
        return dict(invoice)
    return {k: mask_number(v) if is_secret_field(k) and v not in (None, "") else v for k, v in invoice.items()}


async def may_see_invoice(ctx: Context, viewer: OrgUser | None, expense: Expense) -> bool:
    """The original invoice file: only to the audiences the rules list."""
    if viewer is None or not viewer.active:
        return False
    allowed = ctx.rules.masking.invoice_viewers
    if "submitter" in allowed and viewer.user_id == expense.submitter:
        return True
    if "finance" in allowed and roles.is_finance(ctx, viewer):
        return True
    if "approvers" in allowed:
        asked = await ctx.repo(ApprovalRepo).approvers_of(expense.id)
        return viewer.user_id in Route.load(expense.route).everyone() | asked
    return False
