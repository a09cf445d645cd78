"""The approval state machine: start a route, ask a step's approvers, record decisions, move on.

Every function here runs inside the handler's transaction: the route on the expense, the task
rows, cards, notifications, timers, audit rows and domain events commit together or not at all.
"""

from __future__ import annotations

from typing import Any

from chat.context import Context
from chat.render import plain
from handlers import verification
from handlers.approval.cards import approval_card, money, new_task_id, with_first_hint
from handlers.approval.model import Decision, Route, Step, Verdict
from handlers.approval.routing import Directory, plan_route, replace_leavers, successors, swap
from handlers.approval.worktime import add_working_hours
from storage.approvals import ApprovalRepo, ApprovalTask
from storage.expenses import Expense, ExpenseRepo
from storage.onboarding import OnboardingRepo
from storage.org import OrgRepo

REMIND, ESCALATE = "approval.remind", "approval.escalate"
VERDICT_ZH = {"approve": "同意", "reject": "驳回"}
OUTCOME_ZH = {"approved": "审批通过", "rejected": "已驳回", "withdrawn": "已撤回"}


def timer_key(task: ApprovalTask, kind: str) -> str:
    """One key per wait (task row) and kind, so a reminder is never sent twice for the same wait."""
    return f"approval:{task.id}:{kind}"


async def record(
    ctx: Context, expense: Expense, action: str, *, comment: str = "", data: dict[str, Any] | None = None,
    actor: str | None = None,
) -> None:
    """The audit log and the expense's timeline, for every state change, decision and reminder."""
    who = actor or ctx.msg.user_id
    payload = {"number": expense.number, **(data or {})}
    if comment:
        payload["comment"] = comment
    await ctx.audit(f"expense.{action}", f"expense:{expense.number}", payload, actor=who)
    await ctx.repo(ExpenseRepo).add_event(expense.id, at=ctx.now, actor=who, action=action, comment=comment,
                                          data=data or {})


async def names_of(ctx: Context, users: list[str]) -> str:
    found = await ctx.repo(OrgRepo).names(users)
    return "、".join(found.get(u, u) for u in users)


async def describe_route(ctx: Context, route: Route) -> str:
    parts = []
    for i, step in enumerate(route.steps, 1):
        if step.status == "skipped":
            continue
        mode = "会签" if step.mode == "all" and len(step.approvers) > 1 else ""
        parts.append(f"{i}. {step.name} {await names_of(ctx, step.approvers)}{f'（{mode}）' if mode else ''}")
    return " → ".join(parts) if parts else "无需审批"


async def save(ctx: Context, expense: Expense, route: Route, current: int) -> None:
    await ctx.repo(ExpenseRepo).set_route(expense.id, route.dump(), current, ctx.now)


# starting ---------------------------------------------------------------------------------------
async def start(ctx: Context, expense: Expense) -> None:
    """Compute and store the route of a just-submitted expense, then ask its first step."""
    route = await plan_route(ctx, expense)
    for index, step in enumerate(route.steps):
        for swap_record in step.reassigned:
            await record(ctx, expense, "reassign", actor="bot", data={
                "step": index, "from": swap_record.from_user, "to": swap_record.to_users,
                "reason": swap_record.reason})
    await record(ctx, expense, "route", actor="bot", data={"route": route.dump()})
    current = await advance(ctx, expense, route, 0)
    summary = await describe_route(ctx, route)
    if current is None:
        await ctx.send_text([expense.submitter], f"{expense.number} 审批路线：{summary}。\n无需审批人，已自动通过。")
        return
    waiting = await names_of(ctx, route.steps[current].approvers)
    await ctx.send_text(
        [expense.submitter],
        f"{expense.number} 已进入审批。\n审批路线：{summary}\n现在等待 {waiting} 审批。"
        f"\n发送「进度 {expense.number}」查看进度，「撤回 {expense.number}」撤回。",
    )


async def advance(ctx: Context, expense: Expense, route: Route, index: int) -> int | None:
    """Open the first step from `index` that still needs someone; finish the expense when none does."""
    directory = Directory(ctx)
    while index < len(route.steps):
        step = route.steps[index]
        if step.status != "waiting":
            index += 1
            continue
        earlier = route.approved_before(index)
        for swapped in await replace_leavers(directory, step, expense.submitter, ctx.now, exclude=earlier):
            await record(ctx, expense, "reassign", actor="bot", data={
                "step": index, "from": swapped.from_user, "to": swapped.to_users, "reason": swapped.reason})
        step.approvers = [a for a in step.approvers if a not in earlier and a != expense.submitter]
        if not step.approvers:
            step.status = "skipped"
            step.note = step.note or "every approver already approved an earlier step"
            await record(ctx, expense, "skip", actor="bot", data={"step": index, "step_name": step.name,
                                                                  "note": step.note})
            index += 1
            continue
        step.status = "pending"
        step.started_at = ctx.now.isoformat()
        await save(ctx, expense, route, index)
        for approver in step.approvers:
            await ask(ctx, expense, route, index, approver)
        return index
    await finish(ctx, expense, route, "approved", len(route.steps))
    return None


async def ask(ctx: Context, expense: Expense, route: Route, index: int, approver: str) -> None:
    """One approver of the current step: a task row, a card, and reminder/escalation timers."""
    task_id = new_task_id(expense.number, index, approver)
    task = await ctx.repo(ApprovalRepo).open_task(
        expense_id=expense.id, number=expense.number, step=index, approver=approver, task_id=task_id, now=ctx.now
    )
    if task is None:
        return
    card = await approval_card(ctx, expense, route, index, task_id)
    if ctx.settings.bot_onboarding and await ctx.repo(OnboardingRepo).first_time(approver, "approval_hint_at",
                                                                                  ctx.now):
        card = with_first_hint(card, expense.number)
    await ctx.send_card(approver, card)
    rules = ctx.rules.approval
    for kind, hours in ((REMIND, rules.remind_after_hours), (ESCALATE, rules.escalate_after_hours)):
        due = add_working_hours(ctx.now, hours, ctx.services.zone, rules.working_days, rules.working_hours)
        await ctx.schedule_once(kind, timer_key(task, kind), due, {"task": task.id, "user": approver})


async def close_task(
    ctx: Context, task: ApprovalTask, status: str, card_text: str | None, comment: str = ""
) -> bool:
    """Close a task, stop its timers and grey out its card (unless `card_text` is None)."""
    if not await ctx.repo(ApprovalRepo).close(task.id, status, ctx.now, comment):
        return False
    for kind in (REMIND, ESCALATE):
        await ctx.cancel_timer(timer_key(task, kind))
    if card_text is not None:
        await retire_card(ctx, task, card_text)
    return True


async def retire_card(ctx: Context, task: ApprovalTask, card_text: str) -> None:
    if task.card_live and await ctx.update_card(task.task_id, replace_name=card_text):
        await ctx.repo(ApprovalRepo).set_card_live(task.id, False)


async def finish(ctx: Context, expense: Expense, route: Route, outcome: str, current: int) -> None:
    repo = ctx.repo(ExpenseRepo)
    for step in route.steps:
        if step.status in ("waiting", "pending"):
            step.status = "cancelled"
    await repo.set_route(expense.id, route.dump(), current, ctx.now)
    await repo.set_status(expense.id, outcome, ctx.now)
    await record(ctx, expense, outcome, actor="bot" if outcome == "approved" else None)
    await ctx.emit(f"expense.{outcome}", {"number": expense.number, "status": outcome})


# deciding ---------------------------------------------------------------------------------------
async def decide(
    ctx: Context, expense: Expense, task: ApprovalTask, verdict: Verdict, comment: str, via: str
) -> bool:
    """Record one approver's decision (already permission-checked) and move the expense on; False when
    nothing was decided (the task was closed meanwhile, or the approval waits for a second verification)."""
    if verdict == "approve" and verification.required(ctx, "approve", expense.amount):
        await ctx.repo(ApprovalRepo).set_card_live(task.id, task.card_live)  # the verified decision updates it
        await verification.hold(ctx, "approve", expense.number, {"number": expense.number, "task": task.id,
                                                                  "comment": comment, "via": via},
                                ctx.t(f"同意 {expense.number}（{money(expense.amount)}）",
                                      f"Approving {expense.number} ({money(expense.amount)})"))
        return False
    route = Route.load(expense.route)
    step = route.steps[task.step]
    status = "approved" if verdict == "approve" else "rejected"
    if not await close_task(ctx, task, status, "已同意" if verdict == "approve" else "已驳回", comment):
        return False
    step.decisions.append(Decision(user=task.approver, decision=verdict, comment=comment, at=ctx.now.isoformat(),
                                   via="card" if via == "card" else "text"))
    verified = {"verified": True} if verification.is_verified(ctx) else {}
    await record(ctx, expense, verdict, comment=comment, actor=task.approver,
                 data={"step": task.step, "step_name": step.name, "via": via, **verified})
    decider = await names_of(ctx, [task.approver])
    head = f"{expense.number}：{decider} {VERDICT_ZH[verdict]}（{step.name}）" + (f"：{plain(comment)}" if comment else "")
    if verdict == "reject":
        step.status, step.decided_at = "rejected", ctx.now.isoformat()
        await _close_others(ctx, expense, task, "已驳回")
        await _step_decided(ctx, expense, task, step, verdict, comment)
        await finish(ctx, expense, route, "rejected", task.step)
        await ctx.send_text([expense.submitter], f"{head}\n报销已驳回。可修改后重新提交：回复「重新提交 {expense.number}」。")
        return True
    if step.mode == "any" or not step.outstanding():
        step.status, step.decided_at = "approved", ctx.now.isoformat()
        await _close_others(ctx, expense, task, f"{decider}已同意")
        await _step_decided(ctx, expense, task, step, verdict, comment)
        current = await advance(ctx, expense, route, task.step + 1)
        if current is None:
            await ctx.send_text([expense.submitter], f"{head}\n审批全部通过，等待财务付款。")
        else:
            waiting = await names_of(ctx, route.steps[current].approvers)
            await ctx.send_text([expense.submitter], f"{head}\n下一步：等待 {waiting} 审批（{route.steps[current].name}）。")
        return True
    await save(ctx, expense, route, task.step)
    await _step_decided(ctx, expense, task, step, verdict, comment)
    done, total = len(step.approved_by()), len(step.approvers)
    await _show_progress(ctx, expense, route, task.step, f"会签进度 {done}/{total} 已同意")
    waiting = await names_of(ctx, step.outstanding())
    await ctx.send_text([expense.submitter], f"{head}\n会签进度 {done}/{total}，还在等待 {waiting}。")
    return True


async def _step_decided(ctx: Context, expense: Expense, task: ApprovalTask, step: Step, verdict: str,
                        comment: str) -> None:
    await ctx.emit("expense.step_decided", {
        "number": expense.number, "step": task.step, "step_name": step.name, "approver": task.approver,
        "decision": verdict, "comment": comment, "step_status": step.status,
    })


async def _close_others(ctx: Context, expense: Expense, decided: ApprovalTask, card_text: str) -> None:
    for other in await ctx.repo(ApprovalRepo).open_for_expense(expense.id):
        if other.id != decided.id:
            await close_task(ctx, other, "cancelled", card_text)


async def _show_progress(ctx: Context, expense: Expense, route: Route, index: int, progress: str) -> None:
    """会签: the approvers still to decide get their card redrawn with the progress, buttons live."""
    repo = ctx.repo(ApprovalRepo)
    for other in await repo.open_for_expense(expense.id):
        if other.step == index and other.card_live:
            card = await approval_card(ctx, expense, route, index, other.task_id, progress)
            if await ctx.update_card(other.task_id, card=card):
                await repo.set_card_live(other.id, False)


# withdrawing and reassigning --------------------------------------------------------------------
async def withdraw(ctx: Context, expense: Expense) -> None:
    route = Route.load(expense.route)
    for task in await ctx.repo(ApprovalRepo).open_for_expense(expense.id):
        await close_task(ctx, task, "cancelled", "已撤回")
    await finish(ctx, expense, route, "withdrawn", expense.current_step)


async def reassign(ctx: Context, expense: Expense, task: ApprovalTask, reason: str, actor: str) -> list[str]:
    """Move an open task to the approver's successor (their leader, or finance review at the top)."""
    route = Route.load(expense.route)
    step = route.steps[task.step]
    earlier = route.approved_before(task.step)
    takers = [u for u in await successors(Directory(ctx), step, task.approver, expense.submitter)
              if u not in earlier]
    # WeCom no longer delivers anything to someone who left, so their card is left as it is
    still_here = await Directory(ctx).active(task.approver)
    if not await close_task(ctx, task, "reassigned", "已转交" if still_here else None):
        return []
    swapped = swap(step, task.approver, takers, reason, ctx.now)
    await record(ctx, expense, "reassign", actor=actor, data={
        "step": task.step, "from": swapped.from_user, "to": swapped.to_users, "reason": reason})
    if not step.outstanding():
        step.status, step.decided_at = ("approved" if step.approved_by() else "skipped"), ctx.now.isoformat()
        await advance(ctx, expense, route, task.step + 1)
        return takers
    await save(ctx, expense, route, task.step)
    decided = {d.user for d in step.decisions}
    for taker in takers:
        if taker not in decided:
            await ask(ctx, expense, route, task.step, taker)
    return takers
