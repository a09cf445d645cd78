"""Delivers the outbound table to WeCom: in order per recipient, retried, never silently dropped.

A row is marked sent only after WeCom accepted it; a crash in between re-sends it once on restart
(at least once). This table is the only retry loop for sends: transient failures back off
exponentially (at most 60 s apart); WeCom's rate limit waits a full window; a permanent error or too
many attempts parks the row as failed, where admins see it (`失败消息`) and can re-queue it.

A re-send after an answer that never came (a timeout) must not reach the person twice: app messages
go with WeCom's `enable_duplicate_check`, so WeCom drops a repeat of the same request inside the
window. A row whose exact body already reached the same person in that window (a second identical
answer to a repeated question) goes without the check, or WeCom would swallow it.
A card update spends the card's response_code only once WeCom accepted it, so a retry still has it.

When gettoken says 40001 (WeCom refuses the app secret), nothing is given up: rows are held, shown
to admins (`失败消息`), and tried again every minute (one probe, never a gettoken storm); admins get
an alert, which reaches them together with everything else once the secret works again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from bot.ops import metrics
from bot.runtime.pump import Pump
from bot.runtime.retry import backoff
from bot.wecom.client import BadSecret, RateLimited, Transient, WeComClient, WeComError
from bot.wecom.pacing import fold, fold_needed, free_at
from storage.cards import CardRepo
from storage.db import Database
from storage.inbox import InboxItem, InboxRepo, internal_item
from storage.outbound import Outbound, OutboundRepo

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
FIRST_RETRY = 0.5
DUPLICATE_WINDOW = 1800  # seconds; WeCom's default, far longer than the retries of one row
CREDENTIALS_PROBE = 60.0  # seconds between gettoken attempts while WeCom refuses the secret


class PermanentFailure(Exception):
    """The row can never be delivered as it is (bad recipients, consumed card code...)."""


class OutboundSender(Pump):
    name = "outbound-sender"

    def __init__(
        self,
        db: Database,
        client: WeComClient,
        agent_id: int,
        now: Callable[[], datetime],
        *,
        concurrency: int = 8,
        on_stored: Callable[[InboxItem], None] = lambda item: None,
    ) -> None:
        self.db = db
        self.client = client
        self.agent_id = agent_id
        self.now = now
        super().__init__()
        self._slots = asyncio.Semaphore(concurrency)
        self._in_flight: set[str] = set()
        self._in_flight_ids: set[int] = set()
        self.batch = 4 * concurrency
        self._completed = 0
        self._backlog_read_at = 0.0
        self.on_stored = on_stored
        self.probe_at: datetime | None = None  # while WeCom refuses the secret: when to try again
        self.gate: Callable[[], Awaitable[None]] | None = None

    async def pump(self) -> float:
        """Start sends for due rows; return how long to sleep if nothing wakes us."""
        while True:
            # a delivery finishing while we read would make the snapshot stale (its row still pending)
            completed = self._completed
            async with self.db.read() as tx:
                repo = tx.repo(OutboundRepo)
                rows = await repo.due(self.now(), limit=self.batch, exclude=self._in_flight_ids)
                next_at = await repo.next_due_at()
            if completed == self._completed:
                break
        for row in rows:
            if row.order_key in self._in_flight:
                continue
            self._in_flight.add(row.order_key)
            self._in_flight_ids.add(row.id)
            self.spawn(self._deliver(row))
        metrics.QUEUE_DEPTH.labels("outbound").set(len(rows))
        await self._report_backlog()
        if next_at is None:
            return 30.0
        return min(30.0, max(0.05, (next_at - self.now()).total_seconds()))

    async def _deliver(self, row: Outbound) -> None:
        try:
            async with self._slots:
                if self.gate is not None:
                    await self.gate()
                # while WeCom refuses the app secret, only the probe calls it (robots have keys of their own)
                if self.probe_at is not None and self.now() < self.probe_at and row.channel != "robot":
                    await self._hold(row, "waiting for WeCom to accept the app secret again (gettoken 40001)")
                    return
                check = await self._paced(row)
                if check is None:
                    return
                try:
                    result, spent = await self._send(row, check)
                except BadSecret as exc:
                    await self._hold(row, str(exc))
                except PermanentFailure as exc:
                    await self._fail(row, str(exc))
                except RateLimited as exc:
                    await self._later(row, exc.retry_after, str(exc))
                except Transient as exc:
                    await self._later(row, backoff(row.attempts, first=FIRST_RETRY), str(exc))
                except WeComError as exc:
                    await self._fail(row, str(exc))
                except Exception as exc:
                    log.exception("outbound %d: unexpected error", row.id)
                    await self._later(row, backoff(row.attempts, first=FIRST_RETRY), f"{type(exc).__name__}: {exc}")
                else:
                    await self._sent(row, result, spent)
        finally:
            self._completed += 1
            self._in_flight.discard(row.order_key)
            self._in_flight_ids.discard(row.id)
            self.wake()

    async def _send(self, row: Outbound, duplicate_check: dict[str, int]) -> tuple[dict[str, Any], str | None]:
        """Call WeCom for the row; returns its answer and the card response_code it used, if any."""
        body = dict(row.body)
        if row.channel == "message":
            body.update(agentid=self.agent_id, **duplicate_check)
            return await self.client.send_message(body), None
        if row.channel == "card_update":
            task_id = body.pop("task_id")
            async with self.db.read() as tx:
                code = await tx.repo(CardRepo).code(task_id)
            if code is None:
                raise PermanentFailure(f"card {task_id} has no unused response_code")
            body.update(agentid=self.agent_id, response_code=code)
            return await self.client.update_template_card(body), code
        if row.channel == "appchat":
            return await self.client.appchat_send(body), None
        if row.channel == "robot":
            key = body.pop("key")
            return await self.client.robot_send(key, body), None
        raise PermanentFailure(f"unknown channel {row.channel}")

    async def _paced(self, row: Outbound) -> dict[str, int] | None:
        """Keep WeCom's per-recipient window: wait for it, or fold a long queue of cards into a
        digest (None: the row is not to be sent now). Otherwise the duplicate-check fields to send
        it with. One read; the common case writes nothing here."""
        now = self.now()
        check: dict[str, int] = {}
        async with self.db.read() as tx:
            until = await free_at(tx, row, now)
            plan = None
            if until is None and row.channel == "message":
                plan = await fold_needed(tx, row, now)
                since = now - timedelta(seconds=DUPLICATE_WINDOW)
                check = ({"enable_duplicate_check": 0} if await tx.repo(OutboundRepo).sent_same_since(row, since)
                         else {"enable_duplicate_check": 1, "duplicate_check_interval": DUPLICATE_WINDOW})
        if until is not None:
            async with self.db.transaction() as tx:
                await tx.repo(OutboundRepo).defer(row.id, until)
            metrics.OUTBOUND_DEFERRED.labels(row.channel).inc()
            return None
        if plan is not None:
            async with self.db.transaction() as tx:
                await fold(tx, plan, now)
            return None
        return check

    async def _report_backlog(self) -> None:
        """Per-recipient queue sizes for /metrics, read at most once a second."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._backlog_read_at < 1.0:
            return
        self._backlog_read_at = loop.time()
        async with self.db.read() as tx:
            metrics.RECIPIENT_BACKLOG.update(await tx.repo(OutboundRepo).backlog_sizes())

    async def _hold(self, row: Outbound, error: str) -> None:
        """The app secret is refused: keep the row (uncounted) and alert admins once per hour."""
        now = self.now()
        if self.probe_at is None or now >= self.probe_at:
            self.probe_at = now + timedelta(seconds=CREDENTIALS_PROBE)
            log.error("WeCom refuses the app secret (gettoken 40001); outbound messages are held: %s", error)
        metrics.WECOM_CREDENTIALS.set(0)
        async with self.db.transaction() as tx:
            await tx.repo(OutboundRepo).hold(row.id, self.probe_at, error)
            alert = await tx.repo(InboxRepo).add(
                internal_item("wecom_bad_secret", now.strftime("%Y-%m-%dT%H"), now, since=now.isoformat()))
        if alert is not None:
            self.on_stored(alert)
        metrics.OUTBOUND.labels(row.channel, "held").inc()

    async def _sent(self, row: Outbound, result: dict[str, Any], spent_code: str | None) -> None:
        if self.probe_at is not None and row.channel != "robot":  # a call with the app's token worked
            self.probe_at = None
            metrics.WECOM_CREDENTIALS.set(1)
            log.warning("WeCom accepts the app secret again; held outbound messages are being sent")
        async with self.db.transaction() as tx:
            await tx.repo(OutboundRepo).mark_sent(row.id, self.now(), result)
            if spent_code is not None:
                await tx.repo(CardRepo).spend(str(row.body["task_id"]), spent_code)
            card = row.body.get("template_card") if row.channel == "message" else None
            if card and result.get("response_code"):
                await tx.repo(CardRepo).remember(str(card["task_id"]), str(row.body["touser"]),
                                                 str(result["response_code"]), self.now())
        metrics.OUTBOUND.labels(row.channel, "sent").inc()

    async def _later(self, row: Outbound, delay: float, error: str) -> None:
        if row.attempts + 1 >= MAX_ATTEMPTS:
            await self._fail(row, f"gave up after {row.attempts + 1} attempts: {error}")
            return
        log.info("outbound %d (%s) retry in %.1fs: %s", row.id, row.channel, delay, error)
        async with self.db.transaction() as tx:
            await tx.repo(OutboundRepo).retry_later(row.id, self.now() + timedelta(seconds=delay), error)
        metrics.OUTBOUND.labels(row.channel, "retry").inc()

    async def _fail(self, row: Outbound, error: str) -> None:
        log.error("outbound %d (%s to %s) failed for good: %s", row.id, row.channel, row.order_key, error)
        async with self.db.transaction() as tx:
            await tx.repo(OutboundRepo).mark_failed(row.id, error)
        metrics.OUTBOUND.labels(row.channel, "failed").inc()

