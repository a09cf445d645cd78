"""Durable timers (reminders, deferred alerts, dialog timeouts): one row per key, fired once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.codec import dumps, from_db_time, loads, to_db_time
from storage.db import Tx


@dataclass(frozen=True, slots=True)
class Timer:
    id: int
    kind: str
    key: str
    due_at: datetime
    payload: dict[str, Any]


class TimerRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def schedule(self, kind: str, key: str, due_at: datetime, payload: dict[str, Any] | None = None) -> None:
        """Set (or move) the timer with this key; a fired timer with the same key is re-armed."""
        await self.tx.execute(
            "INSERT INTO timers (kind, timer_key, due_at, payload, status) VALUES (?, ?, ?, ?, 'pending')"
            " ON CONFLICT (timer_key) DO UPDATE SET kind = excluded.kind, due_at = excluded.due_at,"
            " payload = excluded.payload, status = 'pending', fired_at = NULL",
            (kind, key, to_db_time(due_at), dumps(payload or {})),
        )

    async def schedule_once(
        self, kind: str, key: str, due_at: datetime, payload: dict[str, Any] | None = None
    ) -> bool:
        """Set the timer only if this key was never set: 'never twice for the same wait'."""
        cur = await self.tx.execute(
            "INSERT INTO timers (kind, timer_key, due_at, payload) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (timer_key) DO NOTHING",
            (kind, key, to_db_time(due_at), dumps(payload or {})),
        )
        return cur.rowcount == 1

    async def cancel(self, key: str) -> None:
        await self.tx.execute("UPDATE timers SET status = 'cancelled' WHERE timer_key = ? AND status = 'pending'", (key,))

    async def due(self, now: datetime, limit: int = 200) -> list[Timer]:
        rows = await self.tx.fetchall(
            "SELECT * FROM timers WHERE status = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT ?",
            (to_db_time(now), limit),
        )
        return [
            Timer(r["id"], r["kind"], r["timer_key"], from_db_time(r["due_at"]), loads(r["payload"]))  # type: ignore[arg-type]
            for r in rows
        ]

    async def mark_fired(self, timer_id: int, now: datetime) -> None:
        await self.tx.execute(
            "UPDATE timers SET status = 'fired', fired_at = ? WHERE id = ?", (to_db_time(now), timer_id)
        )

    async def next_due_at(self) -> datetime | None:
        row = await self.tx.fetchone("SELECT MIN(due_at) FROM timers WHERE status = 'pending'")
        return from_db_time(row[0]) if row and row[0] else None

    async def pending(self, kind: str | None = None) -> list[Timer]:
        rows = await self.tx.fetchall(
            "SELECT * FROM timers WHERE status = 'pending' AND kind = COALESCE(?, kind) ORDER BY due_at, id",
            (kind,),
        )
        return [
            Timer(r["id"], r["kind"], r["timer_key"], from_db_time(r["due_at"]), loads(r["payload"]))  # type: ignore[arg-type]
            for r in rows
        ]
