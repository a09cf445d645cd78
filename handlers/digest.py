"""The weekly digest: Monday 09:00 (BOT_TIMEZONE), last week's figures to the finance group chat
(BOT_FINANCE_CHAT_ID) and to each leader about the departments they lead.

One durable timer per week (key `digest:<monday>`), set at start and by each digest for the next
one; the scheduler turns it into one inbox item exactly once, so a restart around 09:00 can
neither skip nor double it. Messages wait out quiet hours rather than being dropped. A leader
whose departments had no activity and hold nothing pending gets nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from chat.context import Context, Gateway
from chat.message import Inbound
from chat.router import Router
from handlers.intents import today
from handlers.stats_view import Span, report, window, window_from, window_payload
from storage.db import Tx
from storage.org import OrgRepo
from storage.stats import Figures, StatsRepo, Window

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
    """Make sure the next digest's timer exists (idempotent: one key per week). It carries the week
    it reports on, so its figures can be read before its transaction (see read_digest)."""
    due = next_monday(ctx, after or ctx.now)
    period = last_week(ctx.local(due).date())
    await ctx.schedule_once(KIND, f"digest:{ctx.local(due).date().isoformat()}", due,
                            {"user": "bot", "period": period.key, **window_payload(window(ctx, period, None), due)})


def last_week(day: date) -> Span:
    monday = day - timedelta(days=day.weekday() + 7)
    return Span(f"{monday.isoformat()}~{(monday + timedelta(days=6)).isoformat()}", monday, monday + timedelta(days=7))


def _busy(f: Figures) -> bool:
    return bool(f.filed.count or f.approved.count or f.rejected.count or f.paid.count or f.waiting)


@dataclass(frozen=True)
class Digest:
    """Last week's figures: the whole company's, and each leader's for the departments they lead
    (only leaders whose departments had something to report)."""

    company: Figures
    leaders: list[tuple[str, str, Figures]]  # leader, department names, figures


async def gather(tx: Tx, w: Window, now: datetime) -> Digest:
    repo, org = tx.repo(StatsRepo), tx.repo(OrgRepo)
    led: dict[str, list[int]] = {}
    for dept in await org.departments():
        for leader in await org.leaders_of(dept.id):
            led.setdefault(leader, []).append(dept.id)
    leaders = []
    for leader, depts in sorted(led.items()):
        scope: set[int] = set()
        for dept_id in depts:
            scope |= await org.descendants(dept_id)
        figures = await repo.figures(replace(w, departments=frozenset(scope)), now)
        if _busy(figures):
            names = [d.name for d in [await org.department(i) for i in depts] if d is not None]
            leaders.append((leader, "、".join(names), figures))
    return Digest(await repo.figures(w, now), leaders)


def _digest_due(msg: Inbound) -> bool:
    return msg.msg_type == "timer" and msg.field("kind") == KIND and "start" in msg.data


@router.prepare_when(_digest_due)
async def read_digest(msg: Inbound, gateway: Gateway) -> Digest:
    """Every department's figures for a week take long on a big company: read off the event loop."""
    w, now = window_from(msg.data)
    return await gateway.long_read(lambda tx: gather(tx, w, now))


@router.timer(KIND)
async def send_digest(ctx: Context) -> None:
    digest: Digest | None = ctx.prepared
    key = ctx.msg.field("period")
    if digest is None:  # a timer set before timers carried their week
        period = last_week(today(ctx))
        key, digest = period.key, await gather(ctx.tx, window(ctx, period, None), ctx.now)
    sent: list[str] = []
    chat = ctx.settings.bot_finance_chat_id
    if chat:
        text = await report(ctx, digest.company, key, "全公司", title="📅 上周报销周报", group=True)
        await ctx.send_group(chat, "text", {"content": text}, quiet=True)
        sent.append(f"chat:{chat}")
    for leader, names, figures in digest.leaders:
        text = await report(ctx, figures, key, names, title="📅 上周报销周报")
        await ctx.send_text([leader], text, quiet=True)
        sent.append(leader)
    await ctx.audit("digest.sent", f"digest:{key}", {"to": sent}, actor="bot")
    await schedule_next(ctx)
