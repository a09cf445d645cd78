"""Feedback notes (反馈) and the one-tap ratings of paid expenses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.codec import dumps, from_db_time, loads, to_db_time
from storage.db import Row, Tx


@dataclass(frozen=True, slots=True)
class Note:
    id: int
    user_id: str
    text: str
    context: dict[str, Any]
    created_at: datetime
    reported_at: datetime | None


def _note(row: Row) -> Note:
    return Note(row["id"], row["user_id"], row["text"], loads(row["context"]) or {},
                from_db_time(row["created_at"]), from_db_time(row["reported_at"]))  # type: ignore[arg-type]


class FeedbackRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def add(self, user_id: str, text: str, context: dict[str, Any], now: datetime) -> int:
        return await self.tx.insert(
            "INSERT INTO feedback (user_id, text, context, created_at) VALUES (?, ?, ?, ?)",
            (user_id, text, dumps(context), to_db_time(now)),
        )

    async def recent(self, limit: int = 10) -> list[Note]:
        rows = await self.tx.fetchall("SELECT * FROM feedback ORDER BY id DESC LIMIT ?", (limit,))
        return [_note(r) for r in rows]

    async def unreported(self) -> list[Note]:
        rows = await self.tx.fetchall("SELECT * FROM feedback WHERE reported_at IS NULL ORDER BY id")
        return [_note(r) for r in rows]

    async def mark_reported(self, ids: list[int], now: datetime) -> None:
        await self.tx.executemany("UPDATE feedback SET reported_at = ? WHERE id = ?",
                                  [(to_db_time(now), i) for i in ids])

    async def count(self) -> int:
        row = await self.tx.fetchone("SELECT COUNT(*) FROM feedback")
        return int(row[0]) if row else 0


class RatingRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def rate(self, number: str, user_id: str, score: int, now: datetime) -> bool:
        """Record the rating of a paid expense; False when it was rated already (once only)."""
        cur = await self.tx.execute(
            "INSERT INTO ratings (number, user_id, score, rated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (number) DO NOTHING",
            (number, user_id, score, to_db_time(now)),
        )
        return cur.rowcount == 1

    async def score_of(self, number: str) -> int | None:
        row = await self.tx.fetchone("SELECT score FROM ratings WHERE number = ?", (number,))
        return None if row is None else int(row[0])
