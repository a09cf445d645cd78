"""The weekly digest: Monday 09:00 (BOT_TIMEZONE), last week's figures to the finance group chat
(BOT_FINANCE_CHAT_ID) and to each leader about the departments they lead.

One durable timer per week (key `digest:<monday>`), set at start and by each digest for the next
one; the scheduler turns it into one inbox item exactly once, so a restart around 09:00 can
neither skip nor double it. Messages wait out quiet hours rather than being dropped. A leader
whose departments had no activity and hold nothing pending gets nothing.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from chat.context import Context
from chat.router import Router
from handlers.intents import today
from handlers.stats_view import Span, report, window
from storage.org import OrgRepo
from storage.stats import Figures, StatsRepo

router = Router("digest")
KIND = "digest.weekly"
AT = time(9, 0)


def next_monday(ctx: Context, after: datetime) -> datetime:
    """The first Monday 09:00 local strictly after `after`."""
    local = ctx.local(after)
    day = local.date() + timedelta(days=(7 - local.weekday()) % 7)
    due = datetime.combine(day, AT, tzinfo=ctx.services.zone)
    return due if due > local else due + timedelta(days=7)


async def schedule_next(ctx: Context, after: datetime | None = None) -> None:
    """Make sure the next digest's timer exists (idempotent: one key per week)."""
    due = next_monday(ctx, after or ctx.now)
    await ctx.schedule_once(KIND, f"digest:{ctx.local(due).date().isoformat()}", due, {"user": "bot"})


def last_week(day: date) -> Span:
    monday = day - timedelta(days=day.weekday() + 7)
    return Span(f"{monday.isoformat()}~{(monday + timedelta(days=6)).isoformat()}", monday, monday + timedelta(days=7))


def _busy(f: Figures) -> bool:
    return bool(f.filed.count or f.approved.count or f.rejected.count or f.paid.count or f.waiting)


@router.timer(KIND)
async def send_digest(ctx: Context) -> None:
    period = last_week(today(ctx))
    repo = ctx.repo(StatsRepo)
    sent: list[str] = []
    chat = ctx.settings.bot_finance_chat_id
    if chat:
        figures = await repo.figures(window(ctx, period, None), ctx.now)
        text = await report(ctx, figures, period, "全公司", title="📅 上周报销周报", group=True)
        await ctx.send_group(chat, "text", {"content": text}, quiet=True)
        sent.append(f"chat:{chat}")
    org = ctx.repo(OrgRepo)
    led: dict[str, list[int]] = {}
    for dept in await org.departments():
        for leader in await org.leaders_of(dept.id):
            led.setdefault(leader, []).append(dept.id)
    for leader, depts in sorted(led.items()):
        scope: set[int] = set()
        for dept_id in depts:
            scope |= await org.descendants(dept_id)
        figures = await repo.figures(window(ctx, period, frozenset(scope)), ctx.now)
        if not _busy(figures):
            continue
        names = [d.name for d in [await org.department(i) for i in depts] if d is not None]
        text = await report(ctx, figures, period, "、".join(names), title="📅 上周报销周报")
        await ctx.send_text([leader], text, quiet=True)
        sent.append(leader)
    await ctx.audit("digest.sent", f"digest:{period.key}", {"to": sent}, actor="bot")
    await schedule_next(ctx)
