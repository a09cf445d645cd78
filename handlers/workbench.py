"""What the H5 workbench shows and does, as plain data: the pages in `bot/h5/` only draw it.

Every view goes through the chat's rules: an expense is shown to whoever `进度` would show it to
(`status.may_see`), budgets to whoever `预算` would (`budget.can_view`); actions call the chat's own
functions (decide, withdraw, resubmit, nudge) with the viewer as the sender, so checks, audit and
second verification are the same code paths. Fields are masked as the `[masking]` rules say.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from chat.context import Context
from handlers import masking
from handlers.approval.cards import invoice_summary, policy_warnings
from handlers.approval.chat import decide_number, status_label, waiting_for
from handlers.approval.model import MODE_LABEL, Route, Step
from handlers.budget import can_view, leads
from handlers.budget_view import (
    BudgetStatus,
    Period,
    department_name,
    month_of,
    parse_period,
    remaining_after,
    status_of,
)
from handlers.nudge import nudged_today
from handlers.roles import is_finance
from handlers.status import event_line, may_see, span, timeline_names, waiting_line
from storage.budgets import BudgetRepo
from storage.expenses import Expense, ExpenseRepo
from storage.org import Department, OrgRepo, OrgUser

STATUS_FILTERS = ("submitted", "approved", "rejected", "withdrawn", "paid")
STEP_STATE_ZH = {"waiting": "未开始", "pending": "审批中", "approved": "已通过", "rejected": "已驳回",
                 "skipped": "已跳过", "cancelled": "已取消"}


# 我的报销 and the detail page --------------------------------------------------------------------
@dataclass(frozen=True)
class Person:
    name: str
    state: str  # approved, rejected, waiting, none


@dataclass(frozen=True)
class StepView:
    name: str
    mode: str
    status: str
    people: list[Person]
    took: str  # how long the step took, or has waited so far


@dataclass(frozen=True)
class ExpenseView:
    expense: Expense
    submitter: str
    department: str
    status: str
    invoices: list[dict[str, object]]  # every invoice filed with it, masked as the viewer may read them
    invoice_file: bool  # the viewer may open the original
    warnings: list[str]
    steps: list[StepView]
    timeline: list[str]
    now: str
    remaining_after: Decimal | None
    actions: tuple[str, ...]  # withdraw, resubmit, nudge, decide


async def my_expenses(ctx: Context, status: str | None) -> list[Expense]:
    return await ctx.repo(ExpenseRepo).by_submitter(ctx.msg.user_id, limit=50,
                                                    status=status if status in STATUS_FILTERS else None)


async def expense_view(ctx: Context, number: str) -> ExpenseView | None:
    """None when it does not exist or the viewer may not see it: the page says the same for both."""
    expense = await ctx.repo(ExpenseRepo).by_number(number)
    if expense is None or not await may_see(ctx, expense):
        return None
    viewer = await ctx.user()
    timeline = await ctx.repo(ExpenseRepo).timeline(expense.id)
    route = Route.load(expense.route)
    names = await timeline_names(ctx, expense, timeline)
    return ExpenseView(
        expense=expense, submitter=names.get(expense.submitter, expense.submitter),
        department=await department_name(ctx, expense.department_id), status=status_label(ctx, expense.status),
        invoices=[masking.invoice_fields(ctx, viewer, inv) for inv in
                  expense.invoice_lines or ([expense.invoice] if expense.invoice else [])],
        invoice_file=bool(expense.file_sha256) and await masking.may_see_invoice(ctx, viewer, expense),
        warnings=await policy_warnings(ctx, expense),
        steps=[_step_view(ctx, s, names) for s in route.steps],
        timeline=[event_line(ctx, e, names) for e in timeline], now=await waiting_line(ctx, expense, names),
        remaining_after=await remaining_after(ctx, expense) if expense.status == "submitted" else None,
        actions=await _actions(ctx, expense, route),
    )


def _step_view(ctx: Context, step: Step, names: dict[str, str]) -> StepView:
    decided = {d.user: d.decision for d in step.decisions}
    waiting = set(step.outstanding())
    people = [Person(names.get(u, u), "approved" if decided.get(u) == "approve" else "rejected"
                     if decided.get(u) == "reject" else "waiting" if u in waiting else "none") for u in step.approvers]
    started = datetime.fromisoformat(step.started_at) if step.started_at else None
    ended = datetime.fromisoformat(step.decided_at) if step.decided_at else None
    took = "" if started is None else span(ctx, (ended or ctx.now) - started)
    mode = MODE_LABEL[step.mode][0] if len(step.approvers) > 1 else ""
    return StepView(step.name, mode, step.status, people, took)


async def _actions(ctx: Context, expense: Expense, route: Route) -> tuple[str, ...]:
    mine = expense.submitter == ctx.msg.user_id
    found: list[str] = []
    if mine and expense.status == "submitted":
        found.append("withdraw")
        if not await nudged_today(ctx, expense):
            found.append("nudge")
    if mine and expense.status in ("rejected", "withdrawn"):
        found.append("resubmit")
    if expense.status == "submitted" and expense.current_step < len(route.steps) and (
            ctx.msg.user_id in route.steps[expense.current_step].outstanding()):
        found.append("decide")
    return tuple(found)


# 待我审批 --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueueItem:
    expense: Expense
    waited: str
    submitter: str
    department: str
    remaining_after: Decimal | None
    warnings: list[str]
    invoice: str
    small: bool  # may be approved together with others


async def queue(ctx: Context) -> list[QueueItem]:
    """What waits for the viewer's decision, oldest first, with what an approver needs to decide."""
    rows = sorted(await waiting_for(ctx), key=lambda pair: pair[1])
    names = await ctx.repo(OrgRepo).names(e.submitter for e, _ in rows)
    limit = ctx.rules.approval.batch_max_amount
    return [QueueItem(e, span(ctx, ctx.now - since), names.get(e.submitter, e.submitter),
                      await department_name(ctx, e.department_id), await remaining_after(ctx, e),
                      await policy_warnings(ctx, e), invoice_summary(e), e.amount <= limit) for e, since in rows]


@dataclass(frozen=True)
class Outcome:
    number: str
    done: bool
    text: str


async def decide(ctx: Context, verdict: str, number: str, comment: str) -> Outcome:
    """One decision from the page: the chat's checks, then the decision (or the held approval's link)."""
    ctx.page = []
    done = await decide_number(ctx, "approve" if verdict == "approve" else "reject", number, comment, via="h5")
    return Outcome(number, done, "\n".join(ctx.page))


async def approve_batch(ctx: Context, numbers: list[str]) -> list[Outcome]:
    """Several small items at once: each passes the same checks as a single decision; larger ones are
    refused here and left for one at a time."""
    limit = ctx.rules.approval.batch_max_amount
    outcomes = []
    for number in dict.fromkeys(numbers):
        expense = await ctx.repo(ExpenseRepo).by_number(number)
        if expense is not None and expense.amount > limit and await may_see(ctx, expense):
            outcomes.append(Outcome(number, False, ctx.t(
                f"{number} 金额超过批量审批上限 ¥{limit:,.2f}，请单独审批，未做任何更改。",
                f"{number} is over the batch limit; decide it on its own. Nothing changed.")))
            continue
        outcomes.append(await decide(ctx, "approve", number, ""))
    return outcomes


# 预算 ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Burn:
    days: list[tuple[date, Decimal]]  # cumulative used + pending by expense date
    start: date
    end: date
    today: date
    runs_out: date | None  # at the current pace, within the period; None when it lasts
    pace: Decimal  # per day so far


@dataclass(frozen=True)
class BudgetCard:
    status: BudgetStatus
    category: str
    burn: Burn


@dataclass(frozen=True)
class DepartmentLine:
    """One row of the overview: a department's whole budgets for the period and their usage."""

    department: Department
    amount: Decimal
    used: Decimal
    pending: Decimal

    @property
    def percent(self) -> Decimal:
        """Used as a share of the budget, as `预算` says it."""
        return _share(self.used, self.amount)

    @property
    def committed(self) -> Decimal:
        """Used and pending together: what is no longer free."""
        return _share(self.used + self.pending, self.amount)


def _share(part: Decimal, whole: Decimal) -> Decimal:
    return (part * 100 / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if whole else Decimal("0.0")


@dataclass(frozen=True)
class Board:
    department: Department
    period: Period
    choices: list[Department]
    budgets: list[BudgetCard]
    used: Decimal
    pending: Decimal
    drill: bool  # the viewer may list the department's expenses
    overview: list[DepartmentLine]  # every department the viewer may see that has a budget


class Refused(Exception):
    """The viewer may not see this; the text is the chat's answer."""


async def visible_departments(ctx: Context, user: OrgUser) -> list[Department]:
    found = await ctx.repo(OrgRepo).departments()
    return [d for d in found if await can_view(ctx, user, d.id)]


async def may_drill(ctx: Context, user: OrgUser, dept_id: int) -> bool:
    """Single expenses of a department: finance roles, and leaders of it or of a department above it."""
    return is_finance(ctx, user) or await leads(ctx, user, dept_id)


async def board(ctx: Context, dept_id: int | None, period_key: str | None) -> Board:
    user = await ctx.user()
    if user is None or not user.active or user.department_id is None:
        raise Refused(ctx.t("通讯录里找不到你，无法查看预算。", "You are not in the directory."))
    target = dept_id if dept_id is not None else user.department_id
    dept = await ctx.repo(OrgRepo).department(target)
    if dept is None or not await can_view(ctx, user, target):
        raise Refused(ctx.t("你只能查看本部门（或你负责的部门）的预算。",
                            "You can see the budgets of your own department (or those you lead) only."))
    today = ctx.local(ctx.now).date()
    period = (parse_period(period_key) if period_key else None) or month_of(today)
    repo = ctx.repo(BudgetRepo)
    cards = []
    for budget in await repo.for_department(target, period.month_from, period.month_to):
        status = await status_of(ctx, budget)
        cards.append(BudgetCard(status, budget.category or ctx.t("全部类别", "all categories"),
                                await _burn(ctx, budget.department_id, budget.month_from, budget.month_to,
                                            budget.category, status, today)))
    usage = await repo.usage(target, period.month_from, period.month_to, None)
    choices = await visible_departments(ctx, user)
    return Board(dept, period, choices, cards, usage.used, usage.pending, await may_drill(ctx, user, target),
                 await _overview(ctx, choices, period) if len(choices) > 1 else [])


async def _overview(ctx: Context, departments: list[Department], period: Period) -> list[DepartmentLine]:
    repo = ctx.repo(BudgetRepo)
    lines = []
    for dept in departments:
        whole = [b for b in await repo.for_department(dept.id, period.month_from, period.month_to) if b.category is None]
        if whole:
            usage = await repo.usage(dept.id, period.month_from, period.month_to, None)
            lines.append(DepartmentLine(dept, sum((b.amount for b in whole), Decimal(0)), usage.used, usage.pending))
    return lines


def recent_months(period: Period, count: int) -> list[str]:
    """The months a picker offers: the shown period's last month and those before it."""
    year, month = (int(p) for p in period.month_to.split("-"))
    found = [] if period.month_from == period.month_to else [period.key]
    for _ in range(count):
        found.append(f"{year}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return found


def _bounds(month_from: str, month_to: str) -> tuple[date, date]:
    start = date.fromisoformat(f"{month_from}-01")
    year, month = (int(p) for p in month_to.split("-"))
    return start, date(year, month, calendar.monthrange(year, month)[1])


async def _burn(ctx: Context, dept_id: int, month_from: str, month_to: str, category: str | None,
                status: BudgetStatus, today: date) -> Burn:
    start, end = _bounds(month_from, month_to)
    total = Decimal(0)
    days = []
    for day, usage in await ctx.repo(BudgetRepo).daily(dept_id, month_from, month_to, category):
        total += usage.used + usage.pending
        days.append((day, total))
    elapsed = (min(today, end) - start).days + 1
    spent = status.used + status.pending
    pace = (spent / elapsed).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if elapsed > 0 else Decimal(0)
    runs_out = None
    if today <= end and pace > 0:
        left = status.budget.amount - spent
        out = today + timedelta(days=int(left / pace)) if left > 0 else today
        runs_out = out if out <= end else None
    return Burn(days, start, end, today, runs_out, pace)


async def department_expenses(ctx: Context, dept_id: int, period: Period) -> list[tuple[Expense, str, bool]]:
    """The department's expenses for those who may drill down: (expense, submitter, detail visible)."""
    user = await ctx.user()
    if user is None or not user.active or not await may_drill(ctx, user, dept_id):
        raise Refused(ctx.t("只有部门负责人和财务人员可以查看部门的报销明细。",
                            "Only department leaders and finance can list a department's expenses."))
    found = await ctx.repo(ExpenseRepo).in_department_tree(dept_id, period.month_from, period.month_to)
    names = await ctx.repo(OrgRepo).names(e.submitter for e in found)
    return [(e, names.get(e.submitter, e.submitter), await may_see(ctx, e)) for e in found]
