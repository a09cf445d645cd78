"""Approvals in chat: card clicks, `同意`/`驳回`/`撤回` in text, reminders, and the events that drive them.

Whatever the channel, a decision passes the same checks: the decider is an active, current
approver of the current step of a pending expense. Anything else is refused and changes nothing;
a second click on an already decided card is silently ignored.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import Any

from chat.context import Context
from chat.events import EventBus
from chat.render import plain
from chat.router import Priority, Router
from dialogs import DialogSpec, Invalid, Slot, Turn, active_dialog, end_dialog, register, start_dialog
from handlers import pick, verification
from handlers.approval import flow
from handlers.approval.cards import APPROVE, REJECT
from handlers.approval.model import Verdict
from handlers.approval.routing import Directory
from handlers.intents import said
from handlers.pick import Candidate
from storage.approvals import ApprovalRepo, ApprovalTask
from storage.expenses import Expense, ExpenseRepo
from storage.org import OrgRepo
from storage.verifications import Verification

router = Router("approval")
events = EventBus()

NUMBER = re.compile(r"^(BX\d{8}-\d{4,})(?:\s+|$)(.*)$", re.IGNORECASE | re.DOTALL)
ANY_NUMBER = re.compile(r"BX\d{8}-\d{4,}", re.IGNORECASE)
STATUS_ZH = {"draft": "草稿", "submitted": "审批中", "approved": "已通过", "rejected": "已驳回",
             "withdrawn": "已撤回", "paid": "已付款"}
STATUS_EN = {"draft": "draft", "submitted": "in approval", "approved": "approved", "rejected": "rejected",
             "withdrawn": "withdrawn", "paid": "paid"}


def parse_number(args: str) -> tuple[str, str] | None:
    """`BX20261128-0001 rest of text` → (number, rest)."""
    match = NUMBER.match(args.strip())
    if not match:
        return None
    return match.group(1).upper(), match.group(2).strip()


def status_label(ctx: Context, status: str) -> str:
    return ctx.t(STATUS_ZH.get(status, status), STATUS_EN.get(status, status))


async def refusal(ctx: Context, expense: Expense | None, task: ApprovalTask | None, number: str) -> str | None:
    """Why this person may not decide on this expense now; None when they may.

    People never asked about the expense get the same answer whether or not it exists.
    """
    if expense is None or (task is None and ctx.msg.user_id not in await ctx.repo(ApprovalRepo).approvers_of(
            expense.id)):
        return ctx.t(f"你不是 {number} 当前的审批人（或单号不存在），未做任何更改。",
                     f"You are not a current approver of {number} (or it does not exist); nothing changed.")
    if expense.status != "submitted":
        label = status_label(ctx, expense.status)
        return ctx.t(f"{number} {label}，不能再审批，未做任何更改。",
                     f"{number} is {label}; it can no longer be decided. Nothing changed.")
    if task is None or not task.open or task.step != expense.current_step:
        return ctx.t(f"{number} 当前没有等你处理的审批，未做任何更改。",
                     f"Nothing of {number} waits for your decision now; nothing changed.")
    if not await ctx.repo(OrgRepo).active_ids([ctx.msg.user_id]):
        return ctx.t("你的账号已停用，不能审批。", "Your account is disabled; you cannot decide.")
    return None


async def open_task_of(ctx: Context, expense: Expense | None, user_id: str) -> ApprovalTask | None:
    if expense is None:
        return None
    for task in await ctx.repo(ApprovalRepo).open_for_expense(expense.id):
        if task.approver == user_id and task.step == expense.current_step:
            return task
    return None


async def names_a_number(ctx: Context) -> bool:
    """Inside an open dialog, `驳回 …` without an expense number is an answer, not a command."""
    return ANY_NUMBER.search(ctx.msg.text) is not None or await active_dialog(ctx) is None


# card clicks ------------------------------------------------------------------------------------
@router.card(APPROVE, REJECT)
async def clicked(ctx: Context) -> None:
    tasks = ctx.repo(ApprovalRepo)
    task = await tasks.by_task_id(ctx.msg.task_id)
    key = ctx.msg.event_key
    number = key.split(":", 1)[1].upper()
    if task is None or task.approver != ctx.msg.user_id or task.number != number:
        await ctx.reply(ctx.t("这张审批卡片无效或不属于你，未做任何更改。",
                              "This approval card is not valid for you; nothing changed."))
        return
    await ctx.remember_card_code(ctx.msg.task_id, ctx.msg.response_code)
    if task.status in ("approved", "rejected"):
        return  # a second tap on a card already decided: nothing to do, nothing to say
    task = replace(task, card_live=True)  # the click brought a fresh response_code for this card
    expense = await ctx.repo(ExpenseRepo).by_number(number)
    reason = await refusal(ctx, expense, task, number)
    if reason is not None or expense is None:
        await ctx.reply(reason or "")
        await flow.retire_card(ctx, task, "已处理")
        return
    if key.startswith(APPROVE):
        await flow.decide(ctx, expense, task, "approve", "", "card")
        return
    await tasks.set_card_live(task.id, True)
    await start_dialog(ctx, REJECT_REASON.name, {"number": number, "task": task.id})


def _reason(turn: Turn, text: str) -> str:
    if len(text.strip()) < 2:
        raise Invalid("请写明驳回理由。", "Please give a reason.")
    return text.strip()


async def _reject_with_reason(turn: Turn) -> None:
    """The reason arrived: the same checks as any decision, then the rejection."""
    ctx = turn.ctx
    task = await ctx.repo(ApprovalRepo).by_id(int(turn.data["task"]))
    number = str(turn.data["number"])
    expense = await ctx.repo(ExpenseRepo).by_number(number)
    reason = await refusal(ctx, expense, task, number)
    if reason is not None or expense is None or task is None:
        await turn.finish(reason or "")
        return
    text = str(turn.data["reason"])
    await flow.decide(ctx, expense, task, "reject", text, "card")
    await turn.finish(turn.t(f"已驳回 {number}：{plain(text)}", f"Rejected {number}: {plain(text)}"))


REJECT_REASON = register(DialogSpec(
    name="approval.reject_reason",
    title=("驳回", "rejection"),
    slots=(Slot("reason", label=("理由", "reason"), parse=_reason,
                prompt=lambda t: t.t(f"请回复驳回 {t.data['number']} 的理由（发送「取消」放弃驳回）：",
                                     f"Why do you reject {t.data['number']}? (say \"cancel\" to keep it)"),
                example=("发票抬头不对，请重开", "wrong invoice title")),),
    on_complete=_reject_with_reason,
))


# text decisions ---------------------------------------------------------------------------------
async def waiting_for(ctx: Context) -> list[tuple[Expense, datetime]]:
    """What waits for the sender's decision now, oldest first, with since when."""
    repo = ctx.repo(ExpenseRepo)
    rows: list[tuple[Expense, datetime]] = []
    for task in await ctx.repo(ApprovalRepo).open_for_approver(ctx.msg.user_id):
        expense = await repo.by_id(task.expense_id)
        if expense is not None and expense.status == "submitted" and task.step == expense.current_step:
            rows.append((expense, task.created_at))
    return rows


async def waiting_lines(ctx: Context) -> list[Candidate]:
    rows = await waiting_for(ctx)
    names = await ctx.repo(OrgRepo).names(e.submitter for e, _ in rows)
    return [Candidate(e.number, f"{e.number} {names.get(e.submitter, e.submitter)} ¥{e.amount:,.2f} {e.category} "
                                f"{plain(e.description[:20])}".rstrip()) for e, _ in rows]


async def own_expenses(ctx: Context, *statuses: str) -> list[Candidate]:
    """The sender's recent expenses in these states, as candidates to pick from."""
    recent = await ctx.repo(ExpenseRepo).by_submitter(ctx.msg.user_id, limit=20)
    return [Candidate(e.number, f"{e.number} ¥{e.amount:,.2f} {e.category} {e.expense_date.isoformat()} "
                                f"{status_label(ctx, e.status)}") for e in recent if not statuses or e.status in statuses]


async def _decide_by_text(ctx: Context, verdict: Verdict) -> None:
    word = ctx.t("同意" if verdict == "approve" else "驳回", "approve" if verdict == "approve" else "reject")
    await pick.act(ctx, verdict, parse_number(ctx.args), lambda: waiting_lines(ctx),
                   lead=(f"等你审批的有几笔，要{word}哪一笔？", f"Several expenses wait for you; which one to {word}?"),
                   none=(f"现在没有等你审批的报销，无需{word}。", f"Nothing waits for your decision; nothing to {word}."))


@pick.action("approve")
async def approve_number(ctx: Context, number: str, comment: str) -> None:
    await decide_number(ctx, "approve", number, comment)


@pick.action("reject")
async def reject_number(ctx: Context, number: str, comment: str) -> None:
    await decide_number(ctx, "reject", number, comment)


async def decide_number(ctx: Context, verdict: Verdict, number: str, comment: str, via: str = "text") -> bool:
    """A decision said in text (or made on a page) on one expense: the same checks as a card click,
    then the decision; False when nothing was decided (refused, held, or asking for the reason)."""
    expense = await ctx.repo(ExpenseRepo).by_number(number)
    task = await open_task_of(ctx, expense, ctx.msg.user_id)
    reason = await refusal(ctx, expense, task, number)
    if reason is not None or expense is None or task is None:
        await ctx.reply(reason or "")
        return False
    if verdict == "reject" and not comment:
        await start_dialog(ctx, REJECT_REASON.name, {"number": number, "task": task.id})  # asks for the reason
        return False
    dialog = await active_dialog(ctx)
    if dialog is not None and dialog.spec == REJECT_REASON.name and dialog.data.get("task") == task.id:
        await end_dialog(ctx)  # decided in text while the reason was being asked for
    if not await flow.decide(ctx, expense, task, verdict, comment, via):
        return False
    done = ctx.t("已同意" if verdict == "approve" else "已驳回", "Approved" if verdict == "approve" else "Rejected")
    await ctx.reply(f"{done} {number}（¥{expense.amount:,.2f} {expense.category}）" + (f"：{plain(comment)}" if comment else ""))
    return True


@verification.verified("approve")
async def approve_verified(ctx: Context, held: Verification) -> None:
    """A large approval confirmed on the page: checked again as the approver, then decided."""
    params = held.params
    await decide_number(ctx, "approve", str(params["number"]), str(params.get("comment", "")),
                        str(params.get("via", "text")))


@router.command("同意", "批准", "approve", priority=Priority.GLOBAL, when=names_a_number)
@said(router, "approve")
async def approve_text(ctx: Context) -> None:
    await _decide_by_text(ctx, "approve")


@router.command("驳回", "拒绝", "reject", priority=Priority.GLOBAL, when=names_a_number)
@said(router, "reject")
async def reject_text(ctx: Context) -> None:
    await _decide_by_text(ctx, "reject")


@router.command("撤回", "withdraw", priority=Priority.GLOBAL, when=names_a_number)
@said(router, "withdraw")
async def withdraw_text(ctx: Context) -> None:
    await pick.act(ctx, "withdraw", parse_number(ctx.args), lambda: own_expenses(ctx, "submitted"),
                   lead=("你有几笔报销在审批中，要撤回哪一笔？", "Several of your expenses are in approval; which one?"),
                   none=("你没有审批中的报销，无需撤回。", "None of your expenses is in approval; nothing to withdraw."))


@pick.action("withdraw")
async def withdraw_number(ctx: Context, number: str, _rest: str) -> None:
    expense = await ctx.repo(ExpenseRepo).by_number(number)
    if expense is None or expense.submitter != ctx.msg.user_id:
        await ctx.reply(ctx.t(f"没有找到你提交的 {number}。", f"No expense {number} of yours was found."))
        return
    if expense.status != "submitted":
        label = status_label(ctx, expense.status)
        await ctx.reply(ctx.t(f"{number} {label}，不能撤回。", f"{number} is {label}; it cannot be withdrawn."))
        return
    await flow.withdraw(ctx, expense)
    await ctx.reply(ctx.t(f"已撤回 {number}。", f"Withdrew {number}."))


# reminders --------------------------------------------------------------------------------------
async def _waiting(ctx: Context) -> tuple[ApprovalTask, Expense] | None:
    task = await ctx.repo(ApprovalRepo).by_id(int(ctx.msg.field("task") or 0))
    if task is None or not task.open:
        return None
    expense = await ctx.repo(ExpenseRepo).by_id(task.expense_id)
    if expense is None or expense.status != "submitted":
        return None
    return task, expense


def _hours(ctx: Context, task: ApprovalTask) -> int:
    return int((ctx.now - task.created_at).total_seconds() // 3600)


@router.timer(flow.REMIND)
async def remind(ctx: Context) -> None:
    found = await _waiting(ctx)
    if found is None:
        return
    task, expense = found
    hours = _hours(ctx, task)
    await ctx.send_text([task.approver], f"提醒：{expense.number}（¥{expense.amount:,.2f} {expense.category}）已等待你审批"
                                         f" {hours} 小时。回复「同意 {expense.number}」或「驳回 {expense.number} 理由」，"
                                         "也可以点击审批卡片。", quiet=True)
    await flow.record(ctx, expense, "remind", actor="bot", data={"step": task.step, "approver": task.approver,
                                                                   "hours": hours})


@router.timer(flow.ESCALATE)
async def escalate(ctx: Context) -> None:
    found = await _waiting(ctx)
    if found is None:
        return
    task, expense = found
    hours = _hours(ctx, task)
    mode = ctx.rules.approval.escalation
    name = await flow.names_of(ctx, [task.approver])
    if mode == "reassign":
        takers = await flow.reassign(ctx, expense, task, f"no decision after {hours} h", "bot")
        await ctx.send_text([task.approver], f"{expense.number} 等待你审批已 {hours} 小时，已转交给"
                                             f" {await flow.names_of(ctx, takers)}。", quiet=True)
        await ctx.send_text([expense.submitter], f"{expense.number} 在 {name} 处等待 {hours} 小时，已转交给"
                                                 f" {await flow.names_of(ctx, takers)}。", quiet=True)
    else:
        leaders = await Directory(ctx).leader_of(task.approver, {expense.submitter})
        targets = leaders or [u for u in await Directory(ctx).finance_reviewers() if u != task.approver]
        await ctx.send_text(targets, f"督办：{expense.number}（¥{expense.amount:,.2f} {expense.category}）已在"
                                     f" {name} 处等待审批 {hours} 小时，请协助推进。", quiet=True)
        takers = targets
    await flow.record(ctx, expense, "escalate", actor="bot", data={
        "step": task.step, "approver": task.approver, "hours": hours, "mode": mode, "to": takers})


# domain events ----------------------------------------------------------------------------------
@events.on("expense.submitted")
async def on_submitted(ctx: Context, payload: dict[str, Any]) -> None:
    expense = await ctx.repo(ExpenseRepo).by_number(str(payload["number"]))
    if expense is None or expense.status != "submitted" or expense.route:
        return
    await flow.start(ctx, expense)


@events.on("user.deactivated")
async def on_deactivated(ctx: Context, payload: dict[str, Any]) -> None:
    """A leaver's open approvals move at once to their leader (or finance review at the top)."""
    user_id = str(payload["user_id"])
    tasks = ctx.repo(ApprovalRepo)
    expenses = ctx.repo(ExpenseRepo)
    for task in await tasks.open_for_approver(user_id, limit=10_000):
        expense = await expenses.by_id(task.expense_id)
        if expense is None or expense.status != "submitted":
            continue
        name = await flow.names_of(ctx, [user_id])
        takers = await flow.reassign(ctx, expense, task, "approver left or was disabled", "bot")
        await ctx.send_text([expense.submitter], f"{expense.number} 的审批人 {name} 已离职或停用，"
                                                 f"已转交给 {await flow.names_of(ctx, takers) or '下一步'}。")
