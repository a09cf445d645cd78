"""Greetings, thanks and goodbyes get one friendly line, not the whole help; so does a stray 取消."""

from __future__ import annotations

from chat.context import Context
from chat.router import Router
from handlers.intents import said, understood

router = Router("smalltalk")

# concept → (Chinese, English) answer; the first concept the sentence names wins
ANSWERS = {
    "thanks": ("不客气！还有需要随时找我。", "You're welcome! Anything else, just say."),
    "bye": ("再见，有报销或审批随时找我。", "Bye! I'm here whenever you need me."),
    "greet": ("你好！我是财务助手：报销、查预算、审批都可以直接说，比如「昨天打车花了35」。",
              'Hi! I\'m the finance assistant: file expenses, check budgets, approve — e.g. "taxi 35 yesterday".'),
    "ok": ("好的 👌", "OK 👌"),
}


@said(router, "smalltalk")
async def chat(ctx: Context) -> None:
    concepts = understood(ctx).concepts
    zh, en = next((answer for concept, answer in ANSWERS.items() if concept in concepts), ANSWERS["ok"])
    await ctx.reply(ctx.t(zh, en))


@said(router, "cancel")
async def nothing_to_cancel(ctx: Context) -> None:
    """`取消` when nothing is open (inside a dialog the dialog itself takes it)."""
    await ctx.reply(ctx.t("现在没有进行中的事，不需要取消。", "Nothing is in progress; nothing to cancel."))
