"""`统计` / `stats` [department] [period]: the process figures in chat, for finance roles and leaders.

Also understood in free text (`这个月报销了多少`, `审批都卡在哪`). See handlers/stats_view.py for what
a request means and who may see what, and storage/stats.py for how each figure is defined.
"""

from __future__ import annotations

from chat.context import Context, Gateway
from chat.message import Inbound
from chat.router import Priority, Router, split_command
from handlers.intents import said, today
from handlers.stats_view import (
    Refused,
    department_in,
    report,
    scope_of,
    span_in,
    this_month,
    window,
    window_from,
    window_payload,
)
from storage.stats import Figures, StatsRepo

router = Router("stats")
STATS_WORDS = ("统计", "stats")
KIND = "stats.report"


@router.command(*STATS_WORDS, priority=Priority.GLOBAL)
@said(router, "stats")
async def show_stats(ctx: Context) -> None:
    text = ctx.msg.text or ctx.args
    if split_command(text, STATS_WORDS) is not None:
        for word in ctx.args.split():  # word by word: each must be a period or a department
            if span_in(word, today(ctx)) is None and await department_in(ctx, word) is None:
                await ctx.reply(ctx.t(f"「{word}」既不是部门也不是时间段。例如「统计 研发部 上个月」「统计 2026-Q4」。",
                                      f'"{word}" is neither a department nor a period, e.g. "stats 研发部 last month".'))
                return
    period = span_in(text, today(ctx)) or this_month(today(ctx))
    try:
        departments, label = await scope_of(ctx, await ctx.user(), await department_in(ctx, text))
    except Refused as refused:
        await ctx.reply(str(refused))
        return
    # figures over months of data take a while: they are read after this transaction, off the event
    # loop (see read_figures), and sent by send_stats, in order with the asker's other messages
    await ctx.schedule(KIND, f"stats:{ctx.msg.inbox_id}", ctx.now, {
        "user": ctx.msg.user_id, "period": period.key, "label": label,
        **window_payload(window(ctx, period, departments), ctx.now)})


def _stats_due(msg: Inbound) -> bool:
    return msg.msg_type == "timer" and msg.field("kind") == KIND


@router.prepare_when(_stats_due)
async def read_figures(msg: Inbound, gateway: Gateway) -> Figures:
    w, now = window_from(msg.data)
    return await gateway.long_read(lambda tx: tx.repo(StatsRepo).figures(w, now))


@router.timer(KIND)
async def send_stats(ctx: Context) -> None:
    await ctx.reply(await report(ctx, ctx.prepared, ctx.msg.field("period"), ctx.msg.field("label")))
