"""Delivers the webhook outbox to FINANCE_WEBHOOK_URL: signed, in order per expense, never lost.

- Each expense's events go one at a time in outbox order; different expenses go in parallel.
- 2xx marks the event delivered. 5xx, 408, 429, timeouts and connection errors retry with
  exponential backoff and jitter, at most 60 s apart, for as long as it takes. Any other status
  parks the event as failed and holds the expense's later events behind it (admins are told;
  `POST /api/v1/events/{id}/retry` re-queues it, `POST /api/v1/events/{id}/discard` gives it up).
- The event id is fixed when the row is written, so a retry (or a re-send after a crash between
  the POST and the commit) carries the same id; the receiver de-duplicates by it.
- Timestamp and signature are computed afresh on every attempt:
  X-Bot-Signature = hex HMAC-SHA256(FINANCE_WEBHOOK_SECRET, f"{X-Bot-Timestamp}.{body}").
- Outcomes are group-committed: many deliveries share one transaction, which is what lets a
  single SQLite writer keep up with hundreds of events per second.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import aiohttp
from aiohttp import web

from bot.parts import Bot
from bot.runtime.batching import GroupCommit
from bot.runtime.bus import OUTBOUND
from bot.runtime.pump import Pump
from bot.runtime.retry import MAX_BACKOFF, backoff
from handlers.expense_json import iso
from handlers.finance_events import webhook_parked
from storage.db import Database, Tx
from storage.finance_events import WebhookEvent, WebhookRepo

log = logging.getLogger(__name__)

FIRST_RETRY = 0.1
RETRY_STATUSES = frozenset({408, 429})

Parked = Callable[[Tx, WebhookEvent, str], Awaitable[None]]


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def envelope(event: WebhookEvent) -> bytes:
    body = {"id": event.event_id, "type": event.type, "created_at": iso(event.created_at), "data": event.data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Outcome:
    event: WebhookEvent
    kind: Literal["delivered", "retry", "failed"]
    error: str = ""
    retry_after: float | None = None


class WebhookSender(Pump):
    name = "webhook-pump"

    def __init__(
        self, db: Database, url: str, secret: str, now: Callable[[], datetime], *, parked: Parked | None = None,
        concurrency: int = 32, timeout: float = 10.0,
    ) -> None:
        super().__init__()
        self.db = db
        self.url = url
        self.secret = secret
        self.now = now
        self.parked = parked
        self.timeout = timeout
        self._slots = asyncio.Semaphore(concurrency)
        self._outcomes: GroupCommit[Outcome, None] = GroupCommit(self._flush, name="webhook-outcomes")
        self._in_flight: set[str] = set()
        self._commits = 0
        self._released: dict[str, int] = {}
        self._session: aiohttp.ClientSession | None = None

    def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        super().start()
        self._outcomes.start()

    async def stop(self) -> None:
        await super().stop()
        await self._outcomes.stop()
        if self._session is not None:
            await self._session.close()

    async def pump(self) -> float:
        """Start the due head event of every expense not in flight.

        A read that began before an expense's last outcome was committed may still show the event
        just delivered; `_released` remembers after which commit each expense was let go, and such
        an expense waits for a read that started later.
        """
        now = self.now()
        seen = self._commits
        async with self.db.read() as tx:
            repo = tx.repo(WebhookRepo)
            heads = await repo.due_heads(now, limit=1000)
            next_at = await repo.next_attempt_at()
        for event in heads:
            if event.number in self._in_flight or self._released.get(event.number, -1) > seen:
                continue
            self._in_flight.add(event.number)
            self.spawn(self._deliver(event))
        self._released = {n: c for n, c in self._released.items() if c > seen}
        if next_at is None:
            return 30.0
        return min(30.0, max(0.05, (next_at - self.now()).total_seconds()))

    async def _deliver(self, event: WebhookEvent) -> None:
        """Deliver the expense's events one after another until one has to wait for a retry.

        Pending rows are changed by this sender alone, so the rows read after our own commit stay
        valid while we work through them; new rows are picked up by the next read.
        """
        queue = [event]
        try:
            while queue:
                current = queue.pop(0)
                async with self._slots:
                    outcome = await self._post(current)
                await self._outcomes.submit(outcome)
                if outcome.kind != "delivered":  # waiting for a retry, or parked: the rest waits too
                    break
                if not queue:
                    async with self.db.read() as tx:
                        queue = await tx.repo(WebhookRepo).due_of(current.number, self.now())
        except Exception:
            log.exception("webhook events of %s: recording an outcome failed; they stay pending", event.number)
        finally:
            self._released[event.number] = self._commits
            self._in_flight.discard(event.number)
            self.wake()

    async def _post(self, event: WebhookEvent) -> Outcome:
        assert self._session is not None
        body = envelope(event)
        timestamp = str(int(self.now().timestamp()))
        headers = {
            "Content-Type": "application/json",
            "X-Bot-Event-Id": event.event_id,
            "X-Bot-Timestamp": timestamp,
            "X-Bot-Signature": sign(self.secret, timestamp, body),
        }
        try:
            async with self._session.post(self.url, data=body, headers=headers, allow_redirects=False) as resp:
                await resp.read()
                status = resp.status
                retry_after = _seconds(resp.headers.get("Retry-After"))
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return Outcome(event, "retry", f"{type(exc).__name__}: {exc}")
        if 200 <= status < 300:
            return Outcome(event, "delivered")
        if status >= 500 or status in RETRY_STATUSES:
            return Outcome(event, "retry", f"HTTP {status}", retry_after)
        return Outcome(event, "failed", f"HTTP {status}")

    async def _flush(self, outcomes: list[Outcome]) -> list[None]:
        now = self.now()
        async with self.db.transaction() as tx:
            repo = tx.repo(WebhookRepo)
            await repo.mark_delivered([o.event.id for o in outcomes if o.kind == "delivered"], now)
            for o in outcomes:
                if o.kind == "retry":
                    delay = (backoff(o.event.attempts, first=FIRST_RETRY) if o.retry_after is None
                             else min(MAX_BACKOFF, o.retry_after))
                    await repo.retry_later(o.event.id, now + timedelta(seconds=delay), o.error)
                elif o.kind == "failed":
                    log.error("webhook event %s (%s %s) refused: %s", o.event.event_id, o.event.type,
                              o.event.number, o.error)
                    await repo.mark_failed(o.event.id, o.error)
                    if self.parked is not None:
                        await self.parked(tx, o.event, o.error)
        self._commits += 1
        return [None] * len(outcomes)


def _seconds(value: str | None) -> float | None:
    if value is None or not value.strip().isdigit():
        return None
    return float(value.strip())


class WebhookDelivery:
    """Plugin: runs the sender while FINANCE_WEBHOOK_URL is set; otherwise events wait in the outbox."""

    def __init__(self) -> None:
        self.sender: WebhookSender | None = None

    def routes(self, app: web.Application) -> None:
        return None

    async def start(self, bot: Bot) -> None:
        url = bot.settings.finance_webhook_url
        if not url:
            log.info("webhooks: FINANCE_WEBHOOK_URL is empty; events are kept in the outbox (GET /api/v1/events)")
            return

        async def parked(tx: Tx, event: WebhookEvent, error: str) -> None:
            await webhook_parked(bot.context(tx, "webhook_parked"), event, error)

        sender = WebhookSender(bot.db, url, bot.settings.finance_webhook_secret.get_secret_value(), bot.clock.now,
                               parked=parked)
        self.sender = sender
        bot.bus.on(OUTBOUND, sender.wake)  # webhook rows are written where outbound rows are
        bot.extras["webhooks"] = sender
        bot.run_once("webhooks", sender)

    async def stop(self) -> None:
        self.sender = None  # stopped with the bot's other once-per-fleet loops
