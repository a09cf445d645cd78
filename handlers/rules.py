"""Business rules as data: categories, policy checks, approval routing, budget alerts, second
verification and masking.

Loaded from the TOML file named by `BOT_RULES`; anything the file leaves out keeps the built-in
default below, so a deployment only writes what it changes. See docs/rules.example.toml.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Action = Literal["warn", "refuse"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Category(Strict):
    """A category people file under. `invoice_items` are pieces of an invoice's item names
    (货物或应税劳务、服务名称, printed as `*餐饮服务*餐费`) that make an invoice this category."""

    name: str
    aliases: tuple[str, ...] = ()
    invoice_items: tuple[str, ...] = ()


DEFAULT_CATEGORIES = (
    Category(name="交通", aliases=("transport", "transportation", "taxi", "打车", "出租车", "地铁", "公交", "滴滴"),
             invoice_items=("客运", "旅客运输", "出租车", "出租汽车", "网约车", "*经营租赁*通行费")),
    Category(name="差旅", aliases=("travel", "trip", "出差", "机票", "火车", "高铁", "酒店", "住宿", "hotel"),
             invoice_items=("*住宿服务*", "航空旅客运输", "航空客运", "铁路旅客运输", "铁路客运", "*旅游服务*")),
    Category(name="餐饮", aliases=("meal", "meals", "food", "dining", "吃饭", "午餐", "晚餐", "工作餐"),
             invoice_items=("*餐饮服务*",)),
    Category(name="办公", aliases=("office", "supplies", "办公用品", "文具"),
             invoice_items=("*办公用品*", "*文具*", "*纸制品*", "*计算机外部设备*", "*计算机配套产品*")),
    Category(name="招待", aliases=("entertainment", "hospitality", "客户招待", "宴请")),
    Category(name="通讯", aliases=("communication", "phone", "telecom", "话费", "网费", "流量"),
             invoice_items=("*电信服务*",)),
    Category(name="其他", aliases=("other", "others", "misc", "其它")),
)


class PolicyRule(Strict):
    """One check run before an expense is filed; `action` says whether it warns or refuses."""

    check: Literal["future_date", "max_age_days", "invoice_required_above", "category_limit", "budget_exceeded"]
    action: Action = "warn"
    days: int | None = None
    amount: Decimal | None = None
    category: str | None = None
    message: str | None = None


DEFAULT_POLICY = (
    PolicyRule(check="future_date", action="refuse"),
    PolicyRule(check="max_age_days", days=180, action="warn"),
    PolicyRule(check="invoice_required_above", amount=Decimal("1000"), action="warn"),
    PolicyRule(check="budget_exceeded", action="warn"),
)


class ExpenseRules(Strict):
    categories: tuple[Category, ...] = DEFAULT_CATEGORIES
    max_amount: Decimal = Decimal("1000000")
    policy: tuple[PolicyRule, ...] = DEFAULT_POLICY

    def category_of_items(self, items: Iterable[str]) -> str | None:
        """The category an invoice's item names point to: the longest matching piece decides
        (`航空旅客运输` outweighs `旅客运输`); items that point two ways with equal weight, or
        nowhere, leave the category to the person."""
        weights: dict[str, int] = {}
        for item in items:
            text = "".join(item.split())
            for category in self.categories:
                for piece in category.invoice_items:
                    if piece in text:
                        weights[category.name] = max(weights.get(category.name, 0), len(piece))
        if not weights:
            return None
        best = max(weights.values())
        found = [name for name, weight in weights.items() if weight == best]
        return found[0] if len(found) == 1 else None


class StepCondition(Strict):
    """When an extra approval step applies; every given field must match."""

    categories: tuple[str, ...] = ()
    amount_over: Decimal | None = None
    amount_at_most: Decimal | None = None
    departments: tuple[int, ...] = ()


class ExtraStep(Strict):
    name: str
    when: StepCondition = StepCondition()
    approvers: tuple[str, ...] = ()
    role: Literal["budget_owner", "finance", "admins"] | None = None
    mode: Literal["any", "all"] = "any"
    position: Literal["before_finance", "after_leader"] = "before_finance"


class ApprovalRules(Strict):
    """Routing defaults and reminder timing; see the [approval] part of docs/rules.example.toml."""

    parent_leader_above: Decimal = Decimal("5000")
    small_expense_max: Decimal = Decimal("500")
    small_expense_categories: tuple[str, ...] = ("交通", "餐饮")
    leader_mode: Literal["any", "all"] = "any"
    finance_review: bool = True
    extra_steps: tuple[ExtraStep, ...] = ()
    remind_after_hours: float = 24
    escalate_after_hours: float = 48
    escalation: Literal["notify", "reassign"] = "notify"
    working_days: tuple[int, ...] = (1, 2, 3, 4, 5)
    working_hours: tuple[int, int] = (9, 18)
    batch_max_amount: Decimal = Decimal("1000")  # items at most this much may be approved together on the page

    @model_validator(mode="after")
    def _sane_times(self) -> ApprovalRules:
        """A bad working-time setting would make reminders fire at nonsense times: refuse it at start."""
        start, end = self.working_hours
        if not 0 <= start < end <= 24:
            raise ValueError("approval.working_hours must be [start, end] with 0 <= start < end <= 24")
        if not self.working_days or any(d not in range(1, 8) for d in self.working_days):
            raise ValueError("approval.working_days must list ISO weekdays 1 (Monday) to 7 (Sunday)")
        if not 0 < self.remind_after_hours <= self.escalate_after_hours:
            raise ValueError("approval.remind_after_hours must be > 0 and <= escalate_after_hours")
        return self


class BudgetRules(Strict):
    """Alert thresholds (default for budgets that set none), alert basis, payable reminders."""

    thresholds: tuple[int, ...] = (80, 100)
    include_pending: bool = False
    payable_remind_days: int = Field(default=3, ge=0)
    payable_remind_hour: int = Field(default=9, ge=0, le=23)


VerifiedAction = Literal["approve", "resend_failed", "payable_paid"]


class VerifyRule(Strict):
    """An action held for a second verification; `amount_at_least` limits it to large amounts."""

    action: VerifiedAction
    amount_at_least: Decimal | None = None


DEFAULT_VERIFY = (
    VerifyRule(action="approve", amount_at_least=Decimal("50000")),
    VerifyRule(action="resend_failed"),
    VerifyRule(action="payable_paid"),
)


class VerificationRules(Strict):
    """Sensitive actions: held until confirmed on an H5 page after a fresh WeCom login."""

    actions: tuple[VerifyRule, ...] = DEFAULT_VERIFY
    link_minutes: int = Field(default=10, ge=1, le=60)  # how long the confirm link works
    fresh_login_minutes: int = Field(default=5, ge=1, le=5)  # how old the confirming login may be


InvoiceViewer = Literal["submitter", "approvers", "finance"]


class MaskingRules(Strict):
    """What each audience sees. Groups and robots: `totals` (sums and percentages only) or `details`
    (single expenses too, names as `group_names` says); accounts and tax ids `****1234` unless the
    viewer has a finance role; the invoice's original only to `invoice_viewers`."""

    groups: Literal["totals", "details"] = "totals"
    group_names: Literal["mask", "full"] = "mask"
    accounts: Literal["mask", "full"] = "mask"
    invoice_viewers: tuple[InvoiceViewer, ...] = ("submitter", "approvers", "finance")


class Rules(Strict):
    expense: ExpenseRules = ExpenseRules()
    approval: ApprovalRules = ApprovalRules()
    budget: BudgetRules = BudgetRules()
    verification: VerificationRules = VerificationRules()
    masking: MaskingRules = MaskingRules()


def load_rules(path: Path | None) -> Rules:
    """Defaults when no file is given; a bad file stops the bot with the parser's message."""
    if path is None:
        return Rules()
    with path.open("rb") as fh:
        data = tomllib.load(fh, parse_float=Decimal)
    return Rules.model_validate(data)
