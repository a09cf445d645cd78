"""Who approves an expense: the `[approval]` rules applied to the org chart at submission time.

Defaults: the department leader; the next leader up above `parent_leader_above`; small everyday
expenses skip the leaders; finance review (any one reviewer) last. Nobody approves their own
expense, nobody is asked twice, and people who left are replaced by their leader (recorded).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chat.context import Context
from handlers import roles
from handlers.approval.budget import budget_owner
from handlers.approval.model import Reassignment, Route, Step
from handlers.rules import ApprovalRules, ExtraStep
from storage.expenses import Expense
from storage.org import OrgRepo

LEADER_STEP = "部门负责人"
PARENT_STEP = "上级负责人"
FINANCE_STEP = "财务审核"


@dataclass
class Directory:
    """The org questions routing asks, answered from the mirrored org chart."""

    ctx: Context

    @property
    def org(self) -> OrgRepo:
        return self.ctx.repo(OrgRepo)

    async def active(self, user_id: str) -> bool:
        return bool(await self.org.active_ids([user_id]))

    async def leader_chain(self, dept_id: int | None, exclude: set[str]) -> list[list[str]]:
        """Active leaders of the department and of each parent, nearest first, empty levels left out."""
        if dept_id is None:
            return []
        levels = [dept_id, *[d.id for d in await self.org.ancestors(dept_id)]]
        chain: list[list[str]] = []
        for level in levels:
            leaders = [u for u in await self.org.leaders_of(level) if u not in exclude]
            if leaders:
                chain.append(leaders)
        return chain

    async def leader_of(self, user_id: str, exclude: set[str]) -> list[str]:
        """A person's leader: their active direct leaders, else the nearest department leader above."""
        user = await self.org.user(user_id)
        if user is None:
            return []
        skip = exclude | {user_id}
        direct = await self.org.active_ids(user.direct_leaders)
        picked = [u for u in user.direct_leaders if u in direct and u not in skip]
        if picked:
            return picked
        chain = await self.leader_chain(user.department_id, skip)
        return chain[0] if chain else []

    async def finance_reviewers(self) -> list[str]:
        return await roles.finance_reviewers(self.ctx)

    async def admins(self) -> list[str]:
        return await roles.admins(self.ctx)


def _is_small(rules: ApprovalRules, expense: Expense) -> bool:
    return expense.amount <= rules.small_expense_max and expense.category in rules.small_expense_categories


async def _applies(directory: Directory, extra: ExtraStep, expense: Expense) -> bool:
    cond = extra.when
    if cond.categories and expense.category not in cond.categories:
        return False
    if cond.amount_over is not None and not expense.amount > cond.amount_over:
        return False
    if cond.amount_at_most is not None and not expense.amount <= cond.amount_at_most:
        return False
    if cond.departments:
        lineage = {expense.department_id, *[d.id for d in await directory.org.ancestors(expense.department_id)]}
        if not lineage & set(cond.departments):
            return False
    return True


async def _extra_approvers(directory: Directory, extra: ExtraStep, expense: Expense) -> list[str]:
    people = list(extra.approvers)
    if extra.role == "finance":
        people += await directory.finance_reviewers()
    elif extra.role == "admins":
        people += await directory.admins()
    elif extra.role == "budget_owner":
        owner = await budget_owner(directory.ctx, expense)
        if owner:
            people.append(owner)
    return list(dict.fromkeys(people))


async def plan_route(ctx: Context, expense: Expense) -> Route:
    """The route for a just-submitted expense, already cleaned of the submitter, repeats and leavers."""
    rules = ctx.rules.approval
    directory = Directory(ctx)
    submitter = expense.submitter
    steps: list[Step] = []
    after_leader = [e for e in rules.extra_steps if e.position == "after_leader"]
    before_finance = [e for e in rules.extra_steps if e.position == "before_finance"]

    if _is_small(rules, expense):
        note = f"≤{rules.small_expense_max} {expense.category}"
        steps.append(Step(name=LEADER_STEP, kind="leader", status="skipped", note=f"small expense {note}"))
    else:
        chain = await directory.leader_chain(expense.department_id, {submitter})
        if chain:
            steps.append(Step(name=LEADER_STEP, kind="leader", mode=rules.leader_mode, approvers=chain[0]))
        else:
            steps.append(Step(name=LEADER_STEP, kind="leader", status="skipped", note="no leader above submitter"))
        for extra in after_leader:
            if await _applies(directory, extra, expense):
                people = await _extra_approvers(directory, extra, expense)
                steps.append(Step(name=extra.name, kind="extra", mode=extra.mode, approvers=people))
        if expense.amount > rules.parent_leader_above:
            if len(chain) > 1:
                steps.append(Step(name=PARENT_STEP, kind="parent_leader", mode=rules.leader_mode,
                                  approvers=chain[1]))
            else:
                steps.append(Step(name=PARENT_STEP, kind="parent_leader", status="skipped",
                                  note="no leader above"))
    for extra in before_finance:
        if await _applies(directory, extra, expense):
            people = await _extra_approvers(directory, extra, expense)
            steps.append(Step(name=extra.name, kind="extra", mode=extra.mode, approvers=people))
    if rules.finance_review:
        steps.append(Step(name=FINANCE_STEP, kind="finance", mode="any",
                          approvers=await directory.finance_reviewers()))
    route = Route(steps=steps)
    asked: set[str] = set()
    for step in route.steps:
        if step.status == "skipped":
            continue
        await replace_leavers(directory, step, submitter, ctx.now, exclude=asked)
        step.approvers = [a for a in step.approvers if a != submitter and a not in asked]
        if not step.approvers and step.kind == "finance":
            step.approvers = [a for a in await directory.admins() if a != submitter and a not in asked]
            step.note = "no other finance reviewer: admins review"
        if not step.approvers:
            step.status = "skipped"
            step.note = step.note or "no approver left after removing the submitter and repeats"
        asked |= set(step.approvers)
    return route


async def successors(directory: Directory, step: Step, leaver: str, submitter: str) -> list[str]:
    """Who takes over a leaver's place in a step: their leader, or at the top finance review."""
    exclude = {submitter, leaver}
    if step.kind != "finance":
        leaders = await directory.leader_of(leaver, exclude)
        if leaders:
            return leaders
    reviewers = [u for u in await directory.finance_reviewers() if u not in exclude]
    if reviewers:
        return reviewers
    return [u for u in await directory.admins() if u not in exclude]


async def replace_leavers(
    directory: Directory, step: Step, submitter: str, now: datetime, *, exclude: set[str] | None = None
) -> list[Reassignment]:
    """Swap inactive approvers of a not-yet-decided step for their successors, recording each swap."""
    done: list[Reassignment] = []
    for person in list(step.approvers):
        if await directory.active(person):
            continue
        takers = [u for u in await successors(directory, step, person, submitter) if u not in (exclude or set())]
        done.append(swap(step, person, takers, "approver left or was disabled", now))
    return done


def swap(step: Step, person: str, takers: list[str], reason: str, now: datetime) -> Reassignment:
    """Put `takers` where `person` stood in the step (keeping order, no duplicates) and record it."""
    approvers: list[str] = []
    for a in step.approvers:
        approvers.extend(takers if a == person else [a])
    step.approvers = list(dict.fromkeys(approvers))
    record = Reassignment(from_user=person, to_users=takers, reason=reason, at=now.isoformat())
    step.reassigned.append(record)
    return record
