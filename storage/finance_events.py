"""What the finance platform receives and reads: the webhook outbox and the expense search.

Outbox rows are written in the transaction of the state change they report; a row keeps its
event id for life, so every retry carries the same id. Rows of one expense are delivered in id
order: a row waits while an earlier row of the same expense is still pending or parked (failed)
until that one is delivered or discarded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from itertools import takewhile
from typing import Any

from storage.codec import dumps, from_db_time, loads, to_db_time
from storage.db import Row, Tx
from storage.expenses import Expense, ExpenseEvent, event_from_row, expense_from_row


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    id: int
    event_id: str
    type: str
    number: str
    data: dict[str, Any]
    created_at: datetime
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None


def _event(row: Row) -> WebhookEvent:
    return WebhookEvent(
        id=row["id"],
        event_id=row["event_id"],
        type=row["type"],
        number=row["number"],
        data=loads(row["data"]),
        created_at=from_db_time(row["created_at"]),  # type: ignore[arg-type]
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=from_db_time(row["next_attempt_at"]),  # type: ignore[arg-type]
        last_error=row["last_error"],
        delivered_at=from_db_time(row["delivered_at"]),
    )


class WebhookRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def add(self, event_id: str, type_: str, number: str, data: dict[str, Any], now: datetime) -> int:
        return await self.tx.insert(
            "INSERT INTO webhook_events (event_id, type, number, data, created_at, next_attempt_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (event_id, type_, number, dumps(data), to_db_time(now), to_db_time(now)),
        )

    async def due_heads(self, now: datetime, limit: int = 500) -> list[WebhookEvent]:
        """The oldest pending event of each expense not held by a parked one, when its attempt is due."""
        rows = await self.tx.fetchall(
            "SELECT * FROM webhook_events w WHERE w.status = 'pending' AND w.next_attempt_at <= ?"
            " AND NOT EXISTS (SELECT 1 FROM webhook_events p WHERE p.number = w.number"
            " AND p.status IN ('pending', 'failed') AND p.id < w.id) ORDER BY w.id LIMIT ?",
            (to_db_time(now), limit),
        )
        return [_event(r) for r in rows]

    async def due_of(self, number: str, now: datetime, limit: int = 50) -> list[WebhookEvent]:
        """The expense's pending events in order, if the oldest one is due and none is parked (else none)."""
        rows = await self.tx.fetchall(
            "SELECT * FROM webhook_events WHERE number = ? AND status IN ('pending', 'failed') ORDER BY id LIMIT ?",
            (number, limit),
        )
        events = [_event(r) for r in rows]
        if not events or events[0].status != "pending" or events[0].next_attempt_at > now:
            return []
        return list(takewhile(lambda e: e.status == "pending", events))

    async def held_behind(self, event: WebhookEvent) -> int:
        """How many later events of the same expense wait behind a parked one."""
        row = await self.tx.fetchone(
            "SELECT COUNT(*) FROM webhook_events WHERE number = ? AND status = 'pending' AND id > ?",
            (event.number, event.id),
        )
        return int(row[0]) if row else 0

    async def next_attempt_at(self) -> datetime | None:
        row = await self.tx.fetchone("SELECT MIN(next_attempt_at) FROM webhook_events WHERE status = 'pending'")
        return from_db_time(row[0]) if row and row[0] else None

    async def mark_delivered(self, ids: Iterable[int], now: datetime) -> None:
        await self.tx.executemany(
            "UPDATE webhook_events SET status = 'delivered', attempts = attempts + 1, delivered_at = ?,"
            " last_error = NULL WHERE id = ? AND status = 'pending'",
            [(to_db_time(now), i) for i in ids],
        )

    async def retry_later(self, event_id: int, when: datetime, error: str) -> None:
        await self.tx.execute(
            "UPDATE webhook_events SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?"
            " WHERE id = ? AND status = 'pending'",
            (to_db_time(when), error[:2000], event_id),
        )

    async def mark_failed(self, event_id: int, error: str) -> None:
        await self.tx.execute(
            "UPDATE webhook_events SET status = 'failed', attempts = attempts + 1, last_error = ?"
            " WHERE id = ? AND status = 'pending'",
            (error[:2000], event_id),
        )

    async def requeue(self, event_id: str, now: datetime) -> bool:
        cur = await self.tx.execute(
            "UPDATE webhook_events SET status = 'pending', next_attempt_at = ? WHERE event_id = ? AND status = 'failed'",
            (to_db_time(now), event_id),
        )
        return cur.rowcount == 1

    async def discard(self, event_id: str) -> bool:
        """Give up on a parked event for good; the expense's later events go on."""
        cur = await self.tx.execute(
            "UPDATE webhook_events SET status = 'discarded' WHERE event_id = ? AND status = 'failed'", (event_id,)
        )
        return cur.rowcount == 1

    async def by_event_id(self, event_id: str) -> WebhookEvent | None:
        row = await self.tx.fetchone("SELECT * FROM webhook_events WHERE event_id = ?", (event_id,))
        return None if row is None else _event(row)

    async def search(
        self, *, status: str | None = None, number: str | None = None, after_id: int = 0, limit: int = 100
    ) -> list[WebhookEvent]:
        rows = await self.tx.fetchall(
            "SELECT * FROM webhook_events WHERE status = COALESCE(?, status) AND number = COALESCE(?, number)"
            " AND id > ? ORDER BY id LIMIT ?",
            (status, number, after_id, limit),
        )
        return [_event(r) for r in rows]

    async def counts(self) -> dict[str, int]:
        rows = await self.tx.fetchall("SELECT status, COUNT(*) FROM webhook_events GROUP BY status")
        return {r[0]: r[1] for r in rows}


@dataclass(frozen=True, slots=True)
class ExpenseFilter:
    status: str | None = None
    submitter: str | None = None
    department_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None

    def where(self) -> tuple[list[str], list[Any]]:
        """SQL conditions for the filters given, and their parameters (absent filters add nothing, so
        the planner picks the index of the ones present)."""
        clauses, params = [], []
        for name, condition in FILTERS:
            value = getattr(self, name)
            if value is not None:
                clauses.append(condition)
                params.append(value.isoformat() if isinstance(value, date) else value)
        return clauses, params


FILTERS = (
    ("status", "status = ?"),
    ("submitter", "submitter = ?"),
    ("department_id", "department_id = ?"),
    ("date_from", "expense_date >= ?"),
    ("date_to", "expense_date <= ?"),
)


@dataclass(frozen=True, slots=True)
class ExpensePage:
    expenses: list[Expense]
    timelines: dict[int, list[ExpenseEvent]]
    total: int


async def search_expenses(
    tx: Tx, f: ExpenseFilter, *, limit: int, before_id: int | None = None, offset: int = 0
) -> ExpensePage:
    """One page of expenses, newest first: after a cursor (`before_id`, by key) or, for old clients,
    after `offset` rows. Their timelines come in one query for the whole page. On SQLite it runs on a
    connection of its own in a worker thread (`storage.reads.ThreadReads`)."""
    clauses, params = f.where()
    page = [*clauses, "id < ?"] if before_id is not None else clauses
    page_params = [*params, before_id] if before_id is not None else params
    rows = await tx.fetchall(f"SELECT * FROM expenses{_where(page)} ORDER BY id DESC LIMIT ? OFFSET ?",
                             (*page_params, limit, offset))
    expenses = [expense_from_row(r) for r in rows]
    timelines: dict[int, list[ExpenseEvent]] = {e.id: [] for e in expenses}
    if expenses:
        marks = ",".join("?" * len(expenses))
        for r in await tx.fetchall(
                f"SELECT * FROM expense_events WHERE expense_id IN ({marks}) ORDER BY expense_id, id",
                [e.id for e in expenses]):
            timelines[r["expense_id"]].append(event_from_row(r))
    total = await tx.fetchone(f"SELECT COUNT(*) FROM expenses{_where(clauses)}", params)
    return ExpensePage(expenses, timelines, int(total[0]) if total else 0)


def _where(clauses: list[str]) -> str:
    return " WHERE " + " AND ".join(clauses) if clauses else ""
