"""WeCom's per-recipient limits, kept strictly: a sliding window over what was really sent.

WeCom answers errcode 0 and silently drops app messages past 30 a minute (and 1,000 an hour) to one
member; a group robot refuses more than 20 a minute. A token bucket lets a burst through and then
refills, so it sends about twice the limit in the first minute; the window here counts the rows
already sent (stored, so a restart keeps counting them) and lets the next one go only when it fits.
When more cards wait for one person than the window lets through now, they are folded into one
digest message (`bot.wecom.digest`) instead of trickling out for minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.ops import metrics
from bot.wecom.digest import digest
from storage.cards import CardRepo
from storage.db import Tx
from storage.outbound import Outbound, OutboundRepo


@dataclass(frozen=True)
class Window:
    limit: int
    seconds: int


WINDOWS: dict[str, tuple[Window, ...]] = {
    "message": (Window(30, 60), Window(1000, 3600)),
    "robot": (Window(20, 60),),
}


async def free_at(tx: Tx, row: Outbound, now: datetime) -> datetime | None:
    """When the row's recipient can take one more without WeCom dropping it; None when now."""
    repo = tx.repo(OutboundRepo)
    latest: datetime | None = None
    for window in WINDOWS.get(row.channel, ()):
        span = timedelta(seconds=window.seconds)
        nth = await repo.nth_latest_sent(row.order_key, row.channel, now - span, window.limit)
        if nth is not None and (latest is None or nth + span > latest):
            latest = nth + span
    return latest if latest is not None and latest > now else None


@dataclass(frozen=True)
class Fold:
    """Cards to fold into one digest for their recipient."""

    order_key: str
    touser: str
    cards: tuple[Outbound, ...]

    @property
    def task_ids(self) -> set[str]:
        return {str(r.body["template_card"]["task_id"]) for r in self.cards}


async def fold_needed(tx: Tx, row: Outbound, now: datetime) -> Fold | None:
    """A fold when the recipient's waiting cards outnumber the room left in the minute window."""
    repo = tx.repo(OutboundRepo)
    minute = WINDOWS["message"][0]
    room = minute.limit - await repo.sent_count_since(row.order_key, "message", now - timedelta(seconds=minute.seconds))
    if await repo.waiting_count(row.order_key, now) <= room:  # the usual case: nothing to fold, nothing loaded
        return None
    queue = await repo.waiting(row.order_key, now)
    messages = [r for r in queue if r.channel == "message"]
    cards = tuple(r for r in messages if r.body.get("msgtype") == "template_card")
    if len(messages) <= room or len(cards) < 2:
        return None
    return Fold(row.order_key, str(cards[0].body["touser"]), cards)


async def fold(tx: Tx, plan: Fold, now: datetime) -> None:
    """Mark the cards folded, queue the digest in their place; cards decided meanwhile (an update
    waits for them) are dropped from it, since nothing about them is still news."""
    repo = tx.repo(OutboundRepo)
    task_ids = plan.task_ids
    updates = [r for r in await repo.waiting(plan.order_key, now)  # read again: a decision may just have come
               if r.channel == "card_update" and str(r.body.get("task_id")) in task_ids]
    retired = {str(r.body["task_id"]) for r in updates}
    shown = [r.body["template_card"] for r in plan.cards if str(r.body["template_card"]["task_id"]) not in retired]
    into = await repo.add("message", plan.order_key, digest(plan.touser, shown), now=now, not_before=now) if shown else None
    await repo.fold([r.id for r in (*plan.cards, *updates)], into)
    await tx.repo(CardRepo).forget(task_ids)
    metrics.OUTBOUND_FOLDED.inc(len(plan.cards))
