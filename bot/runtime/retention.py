"""The daily prune: finished rows and uploads past their retention go; the audit log is archived first.

- done inbox rows after `BOT_RETENTION_INBOX_DAYS`; sent outbound rows and delivered webhook events
  after `BOT_RETENTION_SENT_DAYS`; Idempotency-Key answers after a day (pending and failed rows
  stay: people still act on them; fired timers stay: they are what makes a reminder "never twice");
- uploads abandoned (`BOT_RETENTION_UPLOAD_HOURS`; an expense's original is kept with it),
  never while their inbox item waits; their files go after their rows, and files no row names are
  swept;
- audit rows only with `BOT_RETENTION_AUDIT_DAYS` set (at least 180; 0 keeps every row): rows older
  than that are written to `audit-archive/` in the data folder, then cut from the log with an
  `audit.pruned` row in the chain that records where it now starts. Rows younger are never touched.

Everything runs in small batches, each its own short transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from chat.context import Services
from storage.audit import AuditRepo
from storage.audit_files import archive
from storage.codec import to_db_time
from storage.db import Database, Tx
from storage.retention import IDEMPOTENCY, INBOX, OUTBOUND, WEBHOOKS, RetentionRepo, Rule
from storage.uploads import UploadFiles, UploadRepo

log = logging.getLogger(__name__)

BATCH = 5000


async def prune(db: Database, services: Services, files: UploadFiles) -> dict[str, int]:
    """One pass; returns how many rows went, per table."""
    settings = services.settings
    now = services.clock.now()
    sent = now - timedelta(days=settings.bot_retention_sent_days)
    rules: list[tuple[Rule, datetime]] = [
        (INBOX, now - timedelta(days=settings.bot_retention_inbox_days)), (OUTBOUND, sent), (WEBHOOKS, sent),
        (IDEMPOTENCY, now - timedelta(days=1)),
    ]
    removed: dict[str, int] = {}
    for rule, before in rules:
        removed[rule.table] = await _in_batches(db, lambda tx, r=rule, b=before: tx.repo(RetentionRepo).prune(r, b, BATCH))
    removed["uploads"] = await _uploads(db, files, now - timedelta(hours=settings.bot_retention_upload_hours))
    if settings.bot_retention_audit_days:
        removed["audit_log"] = await _audit(db, services, now - timedelta(days=settings.bot_retention_audit_days))
    log.info("retention: removed %s", ", ".join(f"{n} {table}" for table, n in removed.items()))
    return removed


async def _in_batches(db: Database, batch: Callable[[Tx], Awaitable[int]]) -> int:
    total = 0
    while True:
        async with db.transaction() as tx:
            done = await batch(tx)
        total += done
        if done < BATCH:
            return total
        await asyncio.sleep(0)  # let acknowledgements and handlers in between batches


async def _uploads(db: Database, files: UploadFiles, abandoned_before: datetime) -> int:
    async with db.transaction() as tx:
        repo = tx.repo(UploadRepo)
        done = await repo.done_with(abandoned_before)
        await repo.delete(u.id for u in done)
        kept = await repo.files()
    await files.remove(u.file for u in done if u.file)
    await files.sweep(kept)
    return len(done)


async def _audit(db: Database, services: Services, before: datetime) -> int:
    """Archive and cut the oldest rows, a batch at a time. A cut needs a row to start the chain after
    it; the `audit.pruned` row each cut appends is one, so the log is never emptied."""
    key = services.audit_key
    assert key is not None, "the chain is opened at start"
    cutoff = to_db_time(before)
    total = 0
    while True:
        async with db.read() as tx:
            rows = await tx.repo(AuditRepo).oldest(BATCH + 1)
        old = 0
        while old < min(len(rows) - 1, BATCH) and rows[old]["at"] < cutoff:
            old += 1
        if old == 0:
            return total
        name = await asyncio.to_thread(archive, services.settings.data_dir, rows[:old])
        async with db.transaction() as tx:
            if not await tx.repo(AuditRepo).cut_before(rows[old], name, old, key, services.clock.now()):
                return total
        total += old
