"""Outbound WeCom calls waiting to be sent: written in the same transaction as the change they report."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.codec import dumps, from_db_time, loads, to_db_time
from storage.db import Row, Tx


@dataclass(frozen=True, slots=True)
class Outbound:
    id: int
    channel: str
    order_key: str
    body: dict[str, Any]
    status: str
    attempts: int
    not_before: datetime
    created_at: datetime
    last_error: str | None
    result: dict[str, Any] | None


def _outbound(row: Row) -> Outbound:
    return Outbound(
        id=row["id"],
        channel=row["channel"],
        order_key=row["order_key"],
        body=loads(row["body"]),
        status=row["status"],
        attempts=row["attempts"],
        not_before=from_db_time(row["not_before"]),  # type: ignore[arg-type]
        created_at=from_db_time(row["created_at"]),  # type: ignore[arg-type]
        last_error=row["last_error"],
        result=loads(row["result"]),
    )


class OutboundRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def add(
        self, channel: str, order_key: str, body: dict[str, Any], *, now: datetime, not_before: datetime
    ) -> int:
        return await self.tx.insert(
            "INSERT INTO outbound (channel, order_key, body, not_before, due_at, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (channel, order_key, dumps(body), to_db_time(not_before), to_db_time(not_before), to_db_time(now)),
        )

    async def due(self, now: datetime, limit: int = 200, exclude: Iterable[int] = ()) -> list[Outbound]:
        """Pending rows whose time has come, oldest first; a key blocked by an earlier row waits.

        An earlier row blocks once it was due, even while it waits in backoff: order per recipient
        holds under retry. A row scheduled for later (quiet hours) blocks nobody until its time.
        `exclude`: rows already being delivered, so they are not read again.
        """
        skip = list(exclude)
        not_in = f" AND o.id NOT IN ({','.join('?' * len(skip))})" if skip else ""
        rows = await self.tx.fetchall(
            "SELECT * FROM outbound o WHERE o.status IN ('pending', 'held') AND o.not_before <= ?"
            " AND NOT EXISTS (SELECT 1 FROM outbound p WHERE p.order_key = o.order_key"
            " AND p.status IN ('pending', 'held') AND p.id < o.id AND p.due_at <= ?)"
            f"{not_in} ORDER BY o.id LIMIT ?",
            (to_db_time(now), to_db_time(now), *skip, limit),
        )
        return [_outbound(r) for r in rows]

    async def sent_same_since(self, row: Outbound, since: datetime) -> bool:
        """Another row with exactly this body went to the same recipient since `since`."""
        found = await self.tx.fetchone(
            "SELECT 1 FROM outbound o WHERE o.order_key = ? AND o.status = 'sent' AND o.sent_at >= ? AND o.id <> ?"
            " AND o.body = (SELECT body FROM outbound WHERE id = ?) LIMIT 1",
            (row.order_key, to_db_time(since), row.id, row.id),
        )
        return found is not None

    async def nth_latest_sent(self, order_key: str, channel: str, since: datetime, n: int) -> datetime | None:
        """When the n-th most recent row of this channel reached the recipient after `since` (None: fewer)."""
        row = await self.tx.fetchone(
            "SELECT sent_at FROM outbound WHERE order_key = ? AND status = 'sent' AND sent_at > ? AND channel = ?"
            " ORDER BY sent_at DESC LIMIT 1 OFFSET ?",
            (order_key, to_db_time(since), channel, n - 1),
        )
        return None if row is None else from_db_time(row[0])

    async def sent_count_since(self, order_key: str, channel: str, since: datetime) -> int:
        row = await self.tx.fetchone(
            "SELECT COUNT(*) FROM outbound WHERE order_key = ? AND status = 'sent' AND sent_at > ? AND channel = ?",
            (order_key, to_db_time(since), channel),
        )
        return int(row[0]) if row else 0

    async def waiting(self, order_key: str, now: datetime, limit: int = 500) -> list[Outbound]:
        """The recipient's queue: pending rows already due (some may wait in backoff), in order."""
        rows = await self.tx.fetchall(
            "SELECT * FROM outbound WHERE order_key = ? AND status = 'pending' AND due_at <= ? ORDER BY id LIMIT ?",
            (order_key, to_db_time(now), limit),
        )
        return [_outbound(r) for r in rows]

    async def waiting_count(self, order_key: str, now: datetime) -> int:
        row = await self.tx.fetchone(
            "SELECT COUNT(*) FROM outbound WHERE order_key = ? AND status = 'pending' AND due_at <= ?",
            (order_key, to_db_time(now)),
        )
        return int(row[0]) if row else 0

    async def defer(self, outbound_id: int, when: datetime) -> None:
        """Wait for the recipient's window, not for a failure: no attempt is counted."""
        await self.tx.execute("UPDATE outbound SET not_before = ? WHERE id = ?", (to_db_time(when), outbound_id))

    async def fold(self, ids: Iterable[int], into: int | None) -> None:
        """Rows that will not go out on their own: their content went into digest row `into` (or
        nowhere, when nothing of it is still news)."""
        await self.tx.executemany(
            "UPDATE outbound SET status = 'folded', result = ? WHERE id = ? AND status = 'pending'",
            [(dumps({"folded_into": into}), i) for i in ids],
        )

    async def backlog_sizes(self) -> list[int]:
        """How many rows wait for each recipient (no recipient named)."""
        rows = await self.tx.fetchall("SELECT COUNT(*) FROM outbound WHERE status IN ('pending', 'held') GROUP BY order_key")
        return [r[0] for r in rows]

    async def next_due_at(self) -> datetime | None:
        row = await self.tx.fetchone("SELECT MIN(not_before) FROM outbound WHERE status IN ('pending', 'held')")
        return from_db_time(row[0]) if row and row[0] else None

    async def mark_sent(self, outbound_id: int, now: datetime, result: dict[str, Any]) -> None:
        await self.tx.execute(
            "UPDATE outbound SET status = 'sent', sent_at = ?, attempts = attempts + 1, result = ? WHERE id = ?",
            (to_db_time(now), dumps(result), outbound_id),
        )

    async def retry_later(self, outbound_id: int, when: datetime, error: str) -> None:
        await self.tx.execute(
            "UPDATE outbound SET status = 'pending', attempts = attempts + 1, not_before = ?, last_error = ? WHERE id = ?",
            (to_db_time(when), error[:2000], outbound_id),
        )

    async def mark_failed(self, outbound_id: int, error: str) -> None:
        await self.tx.execute(
            "UPDATE outbound SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?",
            (error[:2000], outbound_id),
        )

    async def hold(self, outbound_id: int, until: datetime, error: str) -> None:
        """WeCom refuses the app's credentials: the row waits, uncounted, until they work again."""
        await self.tx.execute(
            "UPDATE outbound SET status = 'held', not_before = ?, last_error = ? WHERE id = ?",
            (to_db_time(until), error[:2000], outbound_id),
        )

    async def failed(self, limit: int = 20) -> list[Outbound]:
        """Rows WeCom finally refused, and rows held while it refuses the app's credentials."""
        rows = await self.tx.fetchall(
            "SELECT * FROM outbound WHERE status IN ('failed', 'held') ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [_outbound(r) for r in rows]

    async def requeue(self, outbound_id: int, now: datetime) -> bool:
        cur = await self.tx.execute(
            "UPDATE outbound SET status = 'pending', not_before = ? WHERE id = ? AND status = 'failed'",
            (to_db_time(now), outbound_id),
        )
        return cur.rowcount == 1

    async def counts(self) -> dict[str, int]:
        rows = await self.tx.fetchall("SELECT status, COUNT(*) FROM outbound GROUP BY status")
        return {r[0]: r[1] for r in rows}
