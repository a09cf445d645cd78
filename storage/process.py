"""Process records the figures need: invoice reads (and what people corrected) and dialog outcomes.

Written by the capabilities in the transaction of the change they describe, read by storage.stats.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from storage.codec import dumps, to_db_time
from storage.db import Tx

DIALOG_OUTCOMES = ("completed", "cancelled", "timed_out", "replaced", "closed")


class InvoiceReadRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def record(self, user_id: str, *, read: bool, uncertain: Iterable[str], now: datetime) -> int:
        """One attachment went through OCR; returns the read's id (kept with the draft)."""
        return await self.tx.insert(
            "INSERT INTO invoice_reads (user_id, at, outcome, uncertain) VALUES (?, ?, ?, ?)",
            (user_id, to_db_time(now), "read" if read else "unreadable", dumps(sorted(uncertain))),
        )

    async def filed(self, read_id: int, number: str, corrected: Iterable[str]) -> None:
        """The expense filed from this read, and the fields the person changed from what was read."""
        await self.tx.execute(
            "UPDATE invoice_reads SET number = ?, corrected = ? WHERE id = ?",
            (number, dumps(sorted(corrected)), read_id),
        )


class DialogRunRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def started(self, user_id: str, spec: str, now: datetime) -> None:
        await self.tx.execute(
            "INSERT INTO dialog_runs (user_id, spec, started_at) VALUES (?, ?, ?)", (user_id, spec, to_db_time(now))
        )

    async def ended(self, user_id: str, outcome: str, now: datetime) -> None:
        """Close the user's open run (there is at most one: one dialog per user)."""
        assert outcome in DIALOG_OUTCOMES
        await self.tx.execute(
            "UPDATE dialog_runs SET ended_at = ?, outcome = ? WHERE user_id = ? AND ended_at IS NULL",
            (to_db_time(now), outcome, user_id),
        )
