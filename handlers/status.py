"""`进度 BX…` (timeline), `我的报销` (my recent expenses) and `待办` (what waits for my decision).

The timeline is for the submitter, the approvers in the route, finance reviewers and admins;
anyone else gets the same answer as for a number that does not exist, so nothing is revealed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from chat.context import Context
from chat.render import plain
from chat.router import Filter, Priority, Router, split_command
from dialogs import active_dialog
from handlers import pick, roles
from handlers.approval.chat import names_a_number, own_expenses, parse_number, status_label, waiting_for
from handlers.approval.model import MODE_LABEL, Route
from handlers.intents import said
from storage.approvals import ApprovalRepo
from storage.expenses import Expense, ExpenseEvent, ExpenseRepo
from storage.org import OrgRepo

router = Router("status")

ACTIONS = {
    "submitted": ("提交", "submitted"),
    "route": ("生成审批路线", "route set"),
    "approve": ("同意", "approved"),
    "reject": ("驳回", "rejected"),
    "reassign": ("转交", "reassigned"),
    "skip": ("跳过步骤", "step skipped"),
    "remind": ("提醒审批人", "reminder sent"),
    "nudge": ("催办", "nudged"),
    "escalate": ("督办", "escalated"),
    "approved": ("审批通过", "approval complete"),
    "rejected": ("报销驳回", "expense rejected"),
    "withdrawn": ("撤回", "withdrawn"),
    "paid": ("已付款", "paid"),
    "resubmitted": ("重新提交为新报销", "resubmitted as"),
}


MINE_WORDS = ("我的报销", "mine", "my expenses")
TODO_WORDS = ("待办", "todo", "待审批")


def alone(words: tuple[str, ...]) -> Filter:
    """Inside an open dialog only the words alone are a command (`todo buy paper` is an answer)."""

    async def check(ctx: Context) -> bool:
        return split_command(ctx.msg.command or "", words) == "" or await active_dialog(ctx) is None

    return check


def duration(ctx: Context, since: datetime) -> str:
    return span(ctx, ctx.now - since)


def span(ctx: Context, length: timedelta) -> str:
    """A length of time as people say it: 2天3小时, 1小时5分, 12分钟."""
    minutes = max(0, int(length.total_seconds() // 60))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if ctx.lang == "en":
        return f"{days}d {hours}h" if days else (f"{hours}h {mins}m" if hours else f"{mins}m")
    return f"{days}天{hours}小时" if days else (f"{hours}小时{mins}分" if hours else f"{mins}分钟")


async def may_see(ctx: Context, expense: Expense) -> bool:
    user = await ctx.user()
    if user is None or not user.active:
        return False
    if user.user_id == expense.submitter or roles.is_finance(ctx, user):
        return True
    route = Route.load(expense.route)
    asked = await ctx.repo(ApprovalRepo).approvers_of(expense.id)
    return user.user_id in route.everyone() | asked


async def waiting_line(ctx: Context, expense: Expense, names: dict[str, str]) -> str:
    """Where a pending expense waits now, and since when."""
    route = Route.load(expense.route)
    if expense.status != "submitted" or not route.steps or expense.current_step >= len(route.steps):
        return ctx.t(f"当前状态：{status_label(ctx, expense.status)}", f"Now: {status_label(ctx, expense.status)}")
    step = route.steps[expense.current_step]
    who = "、".join(names.get(u, u) for u in step.outstanding()) or "—"
    started = datetime.fromisoformat(step.started_at) if step.started_at else expense.updated_at
    mode = MODE_LABEL[step.mode][0 if ctx.lang == "zh" else 1]
    return ctx.t(
        f"当前：等待 {who} 审批（第{expense.current_step + 1}/{len(route.steps)}步 {step.name}，{mode}），"
        f"已等待 {duration(ctx, started)}",
        f"Now: waiting for {who} (step {expense.current_step + 1}/{len(route.steps)} {step.name}, {mode}) "
        f"for {duration(ctx, started)}",
    )


def event_line(ctx: Context, event: ExpenseEvent, names: dict[str, str]) -> str:
    zh, en = ACTIONS.get(event.action, (event.action, event.action))
    actor = "系统" if event.actor == "bot" else names.get(event.actor, event.actor)
    line = f"{ctx.fmt_time(event.at)} {actor} {ctx.t(zh, en)}"
    data = event.data
    if event.action == "reassign":
        to = "、".join(names.get(u, u) for u in data.get("to", []))
        line += f"：{names.get(data.get('from', ''), data.get('from', ''))} → {to or '—'}"
    elif event.action in ("approve", "reject") and data.get("step_name"):
        line += f"（{data['step_name']}）"
    elif event.action == "skip" and data.get("step_name"):
        line += f"：{data['step_name']}"
    elif event.action == "resubmitted" and data.get("new"):
        line += f" {data['new']}"
    elif event.action == "submitted" and data.get("resubmit_of"):
        line += ctx.t(f"（重新提交自 {data['resubmit_of']}）", f" (resubmission of {data['resubmit_of']})")
    if event.comment:
        line += f"：{plain(event.comment)}"
    return line


@router.command("进度", "status", priority=Priority.GLOBAL, when=names_a_number)
@said(router, "status")
async def show_status(ctx: Context) -> None:
    async def candidates() -> list[pick.Candidate]:
        return await own_expenses(ctx, "submitted") or (await own_expenses(ctx))[:5]

    await pick.act(ctx, "status", parse_number(ctx.args), candidates,
                   lead=("要看哪一笔的进度？", "Which expense do you want to follow?"),
                   none=("你还没有报销记录。发送「报销」开始。", "You have no expenses yet. Say \"expense\" to start."))


@pick.action("status")
async def status_of_number(ctx: Context, number: str, _rest: str) -> None:
    await ctx.reply(await status_text(ctx, number))


async def timeline_names(ctx: Context, expense: Expense, timeline: list[ExpenseEvent]) -> dict[str, str]:
    """The names of everyone an expense's route and timeline mention."""
    people = {expense.submitter, *Route.load(expense.route).everyone(), *(e.actor for e in timeline)}
    for e in timeline:
        people |= set(e.data.get("to", []) or []) | {str(e.data.get("from", ""))}
    return await ctx.repo(OrgRepo).names(people)


async def status_text(ctx: Context, number: str) -> str:
    """The timeline of one expense as the asker may see it (chat `进度` and the detail page)."""
    expense = await ctx.repo(ExpenseRepo).by_number(number)
    if expense is None or not await may_see(ctx, expense):
        return ctx.t(f"{number} 不存在，或你无权查看。", f"{number} does not exist or is not visible to you.")
    timeline = await ctx.repo(ExpenseRepo).timeline(expense.id)
    names = await timeline_names(ctx, expense, timeline)
    head = (f"{expense.number} {names.get(expense.submitter, expense.submitter)} ¥{expense.amount:,.2f} "
            f"{expense.category} {expense.expense_date.isoformat()} {plain(expense.description)}").rstrip()
    lines = [head, ctx.t("状态：", "Status: ") + status_label(ctx, expense.status)]
    lines += [event_line(ctx, e, names) for e in timeline]
    lines.append(await waiting_line(ctx, expense, names))
    return "\n".join(lines)


@router.command(*MINE_WORDS, priority=Priority.GLOBAL, when=alone(MINE_WORDS))
@said(router, "mine")
async def mine(ctx: Context) -> None:
    expenses = await ctx.repo(ExpenseRepo).by_submitter(ctx.msg.user_id, limit=10)
    if not expenses:
        await ctx.reply(ctx.t("你还没有报销记录。发送「报销」开始。", "You have no expenses yet. Say \"expense\" to start."))
        return
    names: dict[str, str] = {}
    for expense in expenses:
        names |= await ctx.repo(OrgRepo).names(Route.load(expense.route).everyone())
    lines = [ctx.t("你最近的报销：", "Your recent expenses:")]
    for e in expenses:
        line = f"• {e.number} ¥{e.amount:,.2f} {e.category} {e.expense_date.isoformat()} {status_label(ctx, e.status)}"
        if e.status == "submitted":
            route = Route.load(e.route)
            if e.current_step < len(route.steps):
                who = "、".join(names.get(u, u) for u in route.steps[e.current_step].outstanding())
                line += ctx.t(f"（等待 {who}）", f" (waiting for {who})") if who else ""
        lines.append(line)
    lines.append(ctx.t("发送「进度 单号」查看详情。", "Say \"status <number>\" for details."))
    await ctx.reply("\n".join(lines))


@router.command(*TODO_WORDS, priority=Priority.GLOBAL, when=alone(TODO_WORDS))
@said(router, "todo")
async def todo(ctx: Context) -> None:
    rows = await waiting_for(ctx)
    if not rows:
        await ctx.reply(ctx.t("没有等你审批的报销。", "Nothing waits for your decision."))
        return
    names = await ctx.repo(OrgRepo).names(e.submitter for e, _ in rows)
    lines = [ctx.t(f"等你审批的报销（{len(rows)}）：", f"Waiting for your decision ({len(rows)}):")]
    for e, since in rows:
        lines.append(f"• {e.number} {names.get(e.submitter, e.submitter)} ¥{e.amount:,.2f} {e.category} "
                     f"{plain(e.description[:20])} · {ctx.t('已等待', 'waiting')} {duration(ctx, since)}")
    lines.append(ctx.t("回复「同意 单号 [意见]」或「驳回 单号 理由」。", "Reply \"approve <number> [comment]\" or "
                                                                "\"reject <number> reason\"."))
    await ctx.reply("\n".join(lines))
