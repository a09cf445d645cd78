"""Expense policy checks, driven by the `[[expense.policy]]` rules: each finding warns or refuses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from dialogs.parsing import format_money
from handlers.rules import PolicyRule


@dataclass(frozen=True)
class Draft:
    """What the user is about to file, in typed form."""

    amount: Decimal
    category: str
    expense_date: date
    has_invoice: bool


@dataclass(frozen=True)
class Finding:
    action: str  # "warn" or "refuse"
    zh: str
    en: str

    @property
    def refuses(self) -> bool:
        return self.action == "refuse"

    def text(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


def check_policy(rules: tuple[PolicyRule, ...], draft: Draft, today: date) -> list[Finding]:
    """Every rule the draft breaks, in rule order. `budget_exceeded` belongs to the budgets capability."""
    found: list[Finding] = []
    for rule in rules:
        texts = _broken(rule, draft, today)
        if texts is not None:
            zh, en = (rule.message, rule.message) if rule.message else texts
            found.append(Finding(rule.action, zh, en))
    return found


def _broken(rule: PolicyRule, draft: Draft, today: date) -> tuple[str, str] | None:
    day = draft.expense_date.isoformat()
    if rule.check == "future_date" and draft.expense_date > today:
        return f"日期 {day} 晚于今天。", f"The date {day} is in the future."
    if rule.check == "max_age_days" and rule.days is not None and (today - draft.expense_date).days > rule.days:
        return (f"费用日期 {day} 已超过 {rule.days} 天。",
                f"The expense date {day} is more than {rule.days} days ago.")
    if (rule.check == "invoice_required_above" and rule.amount is not None and draft.amount > rule.amount
            and not draft.has_invoice):
        limit = format_money(rule.amount)
        return (f"金额超过 {limit} 需要发票：请发送发票照片，或通过上传页面提交 PDF。",
                f"Amounts over {limit} need an invoice: send a photo of it or upload the PDF.")
    if (rule.check == "category_limit" and rule.amount is not None and draft.amount > rule.amount
            and rule.category in (None, draft.category)):
        limit = format_money(rule.amount)
        return (f"{draft.category}类单笔上限为 {limit}。", f"The limit for {draft.category} is {limit} per claim.")
    return None
