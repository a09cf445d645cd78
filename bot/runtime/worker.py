"""Processes one inbox item: prepare (slow reads) first, then route and act in one transaction.

The handler's changes, its outbound messages and the inbox row's 'done' mark commit together, so
a crash at any point either leaves the item pending (processed again after restart, with nothing
of the first attempt kept) or done: each accepted message is processed exactly once. The done mark
only takes a pending row: when another instance finished the item first (its claim on the user had
run out while this one stalled), this transaction rolls back and nothing of it is kept.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

from bot.ops import metrics
from chat.context import Context, Services
from chat.message import Inbound
from chat.router import Router
from storage.db import Conflict, Database
from storage.inbox import InboxItem, InboxRepo
from storage.outbound import OutboundRepo

log = logging.getLogger(__name__)

CONFLICT_RETRIES = 5


class AlreadyHandled(Exception):
    """The item was no longer pending when its transaction tried to mark it done."""


class Worker:
    def __init__(self, db: Database, router: Router, services: Services) -> None:
        self.db = db
        self.router = router
        self.services = services

    async def prepare(self, item: InboxItem) -> Any:
        """Slow outside reads the item's handler asked for (downloads, OCR, contacts), before any
        transaction; a failure is handed to the handler as the value, which decides what it means."""
        started = time.perf_counter()
        try:
            return await self.router.run_prepare(Inbound.from_item(item), self.services.gateway)
        except Exception as exc:
            log.warning("prepare for inbox item %d failed: %s", item.id, exc)
            return exc
        finally:
            log.debug("prepare took %.3fs", time.perf_counter() - started)

    async def handle(self, item: InboxItem, prepared: Any = None) -> None:
        msg = Inbound.from_item(item)
        try:
            route = await self._run(item, msg, prepared)
        except AlreadyHandled:
            log.info("inbox item %d was handled elsewhere meanwhile; this attempt is dropped", item.id)
            metrics.PROCESSED.labels("elsewhere").inc()
            return
        except Exception as exc:
            log.exception("inbox item %d (%s from %s) failed", item.id, msg.msg_type, msg.user_id)
            await self._record_failure(item, msg, exc)
            metrics.PROCESSED.labels("failed").inc()
            return
        metrics.PROCESSED.labels("done").inc()
        elapsed = (self.services.clock.now() - item.received_at).total_seconds()
        metrics.PROCESS_SECONDS.observe(max(0.0, elapsed))
        log.debug("inbox item %d handled by %s", item.id, route)

    async def _run(self, item: InboxItem, msg: Inbound, prepared: Any) -> str | None:
        """The transaction, run again when the database aborted it for a concurrent one (PostgreSQL)."""
        for attempt in range(CONFLICT_RETRIES):
            try:
                async with self.db.transaction() as tx:
                    ctx = Context(msg=msg, tx=tx, services=self.services, prepared=prepared)
                    route = await self.router.dispatch(ctx)
                    if not await tx.repo(InboxRepo).mark_done(item.id, ctx.now):
                        raise AlreadyHandled
                return route
            except Conflict as exc:
                if attempt == CONFLICT_RETRIES - 1:
                    raise
                log.info("inbox item %d: transaction lost to a concurrent one (%s); running it again", item.id, exc)
                await asyncio.sleep(random.uniform(0, 0.02 * (attempt + 1)))
        raise AssertionError("unreachable")

    async def _record_failure(self, item: InboxItem, msg: Inbound, exc: Exception) -> None:
        now = self.services.clock.now()
        async with self.db.transaction() as tx:
            if not await tx.repo(InboxRepo).mark_failed(item.id, now, f"{type(exc).__name__}: {exc}"):
                return
            if msg.source in ("app", "upload") and msg.user_id and msg.user_id != "sys":
                text = f"抱歉，处理这条消息时出错了，请稍后再试。(参考号 #{item.id})"
                body = {"touser": msg.user_id, "msgtype": "text", "text": {"content": text}}
                await tx.repo(OutboundRepo).add("message", f"user:{msg.user_id}", body, now=now, not_before=now)
                tx.after_commit(self.services.wake_sender)
