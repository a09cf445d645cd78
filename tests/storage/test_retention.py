"""Retention rules delete finished rows in batches and never let ids start over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.db import Database
from storage.outbound import OutboundRepo
from storage.retention import OUTBOUND, RetentionRepo
from storage.uploads import UploadRepo

pytestmark = pytest.mark.backends("sqlite", "postgres")

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


async def test_ids_never_start_over_after_a_prune(database: Database) -> None:
    db = database
    async with db.transaction() as tx:
        outbound, uploads = tx.repo(OutboundRepo), tx.repo(UploadRepo)
        for i in range(5):
            row = await outbound.add("message", "user:u", {"i": i}, now=NOW, not_before=NOW)
            await outbound.mark_sent(row, NOW, {})
            await uploads.add("u", "a.pdf", "application/pdf", "ab", 1, f"ab/{i}", NOW)
    later = NOW + timedelta(days=60)
    async with db.transaction() as tx:
        assert await tx.repo(RetentionRepo).prune(OUTBOUND, later, limit=2) == 2  # a batch at a time
        assert await tx.repo(RetentionRepo).prune(OUTBOUND, later, limit=100) == 2  # the newest stays
        await tx.repo(UploadRepo).delete(range(1, 6))
    async with db.transaction() as tx:
        assert await tx.repo(OutboundRepo).add("message", "user:u", {}, now=later, not_before=later) == 6
        assert await tx.repo(UploadRepo).add("u", "b.pdf", "application/pdf", "cd", 1, "cd/x", later) == 6
