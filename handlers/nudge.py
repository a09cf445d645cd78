"""`催办 BX…`: the submitter reminds the approvers an expense waits for, at most once a day.

The page's 催办 button calls the same function. A day is the calendar day in BOT_TIMEZONE; the
reminder is an event on the expense's timeline (and so in the audit log) and is how the next
request knows it was already sent today.
"""

from __future__ import annotations

from datetime import datetime

from chat.context import Context
from chat.router import Priority, Router
from handlers import pick
from handlers.approval import flow
from handlers.approval.cards import detail_url, money
from handlers.approval.chat import names_a_number, own_expenses, parse_number, status_label
from handlers.approval.model import Route
from handlers.status import duration
from storage.expenses import Expense, ExpenseRepo

router = Router("nudge")
ACTION = "nudge"


async def nudged_today(ctx: Context, expense: Expense) -> bool:
    today = ctx.local(ctx.now).date()
    return any(e.action == ACTION and ctx.local(e.at).date() == today
               for e in await ctx.repo(ExpenseRepo).timeline(expense.id))


@router.command("催办", "nudge", priority=Priority.GLOBAL, when=names_a_number)
async def nudge_text(ctx: Context) -> None:
    await pick.act(ctx, ACTION, parse_number(ctx.args), lambda: own_expenses(ctx, "submitted"),
                   lead=("你有几笔报销在审批中，要催办哪一笔？", "Several of your expenses are in approval; which one?"),
                   none=("你没有审批中的报销，无需催办。", "None of your expenses is in approval; nothing to nudge."))


@pick.action(ACTION)
async def nudge(ctx: Context, number: str, _rest: str = "") -> None:
    """Remind whoever the current step waits for; refused when not the submitter's, not in approval,
    or already reminded today."""
    expense = await ctx.repo(ExpenseRepo).by_number(number)
    if expense is None or expense.submitter != ctx.msg.user_id:
        await ctx.reply(ctx.t(f"没有找到你提交的 {number}。", f"No expense {number} of yours was found."))
        return
    route = Route.load(expense.route)
    if expense.status != "submitted" or expense.current_step >= len(route.steps):
        label = status_label(ctx, expense.status)
        await ctx.reply(ctx.t(f"{number} {label}，无需催办。", f"{number} is {label}; there is nobody to remind."))
        return
    if await nudged_today(ctx, expense):
        await ctx.reply(ctx.t(f"今天已经催办过 {number}，明天可以再催。",
                              f"{number} was already nudged today; you can nudge again tomorrow."))
        return
    step = route.steps[expense.current_step]
    waiting = step.outstanding()
    who = await flow.names_of(ctx, [expense.submitter])
    waited = duration(ctx, datetime.fromisoformat(step.started_at) if step.started_at else expense.updated_at)
    await ctx.send_text(waiting, (
        f"催办：{who} 提醒你审批 {number}（{money(expense.amount)} {expense.category}），已等待 {waited}。"
        f"回复「同意 {number}」或「驳回 {number} 理由」，或打开 {detail_url(ctx, number)}"))
    await flow.record(ctx, expense, ACTION, data={"step": expense.current_step, "to": waiting})
    names = await flow.names_of(ctx, waiting)
    await ctx.reply(ctx.t(f"已提醒 {names} 审批 {number}。", f"Reminded {names} about {number}."))
