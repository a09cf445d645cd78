"""Feedback: `反馈 …` stores a note with what the person was doing, finance admins get the day's
notes in one batch, `反馈列表` shows the latest; after a payment the submitter may rate the
experience with one tap on a card (once).
"""

from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta
from typing import Any

from chat.context import Context
from chat.events import EventBus
from chat.render import plain
from chat.router import Priority, Router, split_command
from dialogs import active_dialog, get_spec
from handlers.intents import said
from handlers.roles import admins, is_admin
from storage.expenses import ExpenseRepo
from storage.feedback import FeedbackRepo, Note, RatingRepo
from storage.org import OrgRepo

router = Router("feedback")
bus = EventBus()

FEEDBACK_WORDS = ("反馈", "feedback")
LIST_WORDS = ("反馈列表", "feedback list")
BATCH = "feedback.batch"
BATCH_AT = time(18, 0)  # local time the day's notes go to the admins
MAX_NOTE = 500
LISTED = 10
RATE = "rate:"
SCORES = {3: ("满意", "good"), 2: ("一般", "okay"), 1: ("不满意", "poor")}


# notes -------------------------------------------------------------------------------------------
@router.command(*LIST_WORDS, priority=Priority.GLOBAL)
@said(router, "feedback_list")
async def list_feedback(ctx: Context) -> None:
    """The latest notes, for finance admins."""
    if not is_admin(ctx, await ctx.user()):
        await ctx.reply(ctx.t("反馈列表只对财务管理员开放。你也可以发送「反馈 你的建议」告诉我们。",
                              'Only finance admins can list feedback. You can say "feedback <your idea>" yourself.'))
        return
    notes = await ctx.repo(FeedbackRepo).recent(LISTED)
    if not notes:
        await ctx.reply(ctx.t("还没有收到反馈。", "No feedback yet."))
        return
    total = await ctx.repo(FeedbackRepo).count()
    lines = [ctx.t(f"最近的反馈（共 {total} 条）：", f"Latest feedback ({total} in all):")]
    lines += await note_lines(ctx, notes)
    await ctx.reply("\n".join(lines))


@router.command(*FEEDBACK_WORDS, priority=Priority.GLOBAL)
@said(router, "feedback")
async def give_feedback(ctx: Context) -> None:
    """Keep the note with the context (the last expense, the open dialog); the admins hear at BATCH_AT."""
    said_as_command = split_command(ctx.msg.text, FEEDBACK_WORDS) is not None
    text = (ctx.args if said_as_command else ctx.msg.text).strip()
    if not text:
        await ctx.reply(ctx.t("请把意见写在「反馈」后面，例如「反馈 希望审批卡片显示发票图片」。",
                              'Write your note after "feedback", e.g. "feedback show the invoice on the card".'))
        return
    if len(text) > MAX_NOTE:
        await ctx.reply(ctx.t(f"反馈最多 {MAX_NOTE} 个字，请精简后再发。", f"At most {MAX_NOTE} characters, please."))
        return
    note_id = await ctx.repo(FeedbackRepo).add(ctx.msg.user_id, text, await _context(ctx), ctx.now)
    await ctx.audit("feedback.added", f"feedback:{note_id}", {"length": len(text)})
    await ctx.schedule_once(BATCH, f"{BATCH}:{_batch_due(ctx).date().isoformat()}", _batch_due(ctx), {"user": "bot"})
    await ctx.reply(ctx.t("谢谢你的反馈！已记下，财务管理员会看到。", "Thanks for the feedback! It is noted for the finance admins."))


async def _context(ctx: Context) -> dict[str, Any]:
    found: dict[str, Any] = {}
    last = await ctx.repo(ExpenseRepo).by_submitter(ctx.msg.user_id, limit=1)
    if last:
        found["expense"] = {"number": last[0].number, "status": last[0].status}
    dialog = await active_dialog(ctx)
    if dialog is not None:
        found["dialog"] = {"spec": dialog.spec, "state": dialog.state}
    return found


def _batch_due(ctx: Context) -> datetime:
    local = ctx.local(ctx.now)
    due = datetime.combine(local.date(), BATCH_AT, tzinfo=ctx.services.zone)
    return due if due > local else due + timedelta(days=1)


async def note_lines(ctx: Context, notes: list[Note]) -> list[str]:
    names = await ctx.repo(OrgRepo).names(n.user_id for n in notes)
    lines = []
    for n in notes:
        about = n.context.get("expense", {}).get("number")
        spec = get_spec(str(n.context.get("dialog", {}).get("spec", "")))
        doing = spec and ctx.t(f"填写{spec.title[0]}中", f"filling in the {spec.title[1]}")
        extra = "，".join(p for p in (about, doing) if p)
        lines.append(f"• {ctx.fmt_time(n.created_at)} {plain(names.get(n.user_id, n.user_id))}"
                     f"{f'（{extra}）' if extra else ''}：{plain(n.text)}")
    return lines


@router.timer(BATCH)
async def send_batch(ctx: Context) -> None:
    """Once a day: every note not yet reported, to the finance admins (after quiet hours)."""
    repo = ctx.repo(FeedbackRepo)
    notes = await repo.unreported()
    if not notes:
        return
    lines = [f"📮 今日反馈 {len(notes)} 条："] + await note_lines(ctx, notes[:LISTED])
    if len(notes) > LISTED:
        lines.append(f"……还有 {len(notes) - LISTED} 条，发送「反馈列表」查看。")
    await ctx.send_text(await admins(ctx), "\n".join(lines), quiet=True)
    await repo.mark_reported([n.id for n in notes], ctx.now)
    await ctx.audit("feedback.reported", "feedback", {"notes": [n.id for n in notes]}, actor="bot")


# ratings -----------------------------------------------------------------------------------------
def rating_card(number: str) -> dict[str, Any]:
    return {
        "card_type": "button_interaction",
        "source": {"desc": "财务助手"},
        "main_title": {"title": "这次报销体验怎么样？", "desc": f"{number} · 点一下就好（只能选一次）"},
        "task_id": f"rate-{number}-{secrets.token_hex(4)}",
        "button_list": [{"text": zh, "style": 1 if score == 3 else 2, "key": f"{RATE}{score}:{number}"}
                        for score, (zh, _) in SCORES.items()],
    }


@bus.on("expense.paid")
async def ask_rating(ctx: Context, payload: dict[str, object]) -> None:
    expense = await ctx.repo(ExpenseRepo).by_number(str(payload["number"]))
    if expense is not None:
        await ctx.send_card(expense.submitter, rating_card(expense.number), quiet=True)


@router.card(RATE)
async def rated(ctx: Context) -> None:
    """One tap, once: the first tap is kept and the card shows it; later taps change nothing."""
    _, score_text, number = ctx.msg.event_key.split(":", 2)
    expense = await ctx.repo(ExpenseRepo).by_number(number)
    if expense is None or expense.submitter != ctx.msg.user_id or not score_text.isdigit() or \
            int(score_text) not in SCORES:
        return
    await ctx.remember_card_code(ctx.msg.task_id, ctx.msg.response_code)
    repo = ctx.repo(RatingRepo)
    if await repo.rate(number, ctx.msg.user_id, int(score_text), ctx.now):
        await ctx.audit("expense.rated", f"expense:{number}", {"score": int(score_text)})
    score = await repo.score_of(number)
    assert score is not None
    await ctx.update_card(ctx.msg.task_id, replace_name=f"已评价：{SCORES[score][0]}")
