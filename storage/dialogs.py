"""Per-user dialog state: which conversation is open, at which step, with what was entered so far."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.codec import dumps, from_db_time, loads, to_db_time
from storage.db import Row, Tx


@dataclass(frozen=True, slots=True)
class DialogRecord:
    user_id: str
    spec: str
    state: str
    data: dict[str, Any]
    started_at: datetime
    updated_at: datetime
    expires_at: datetime


def _record(row: Row) -> DialogRecord:
    return DialogRecord(
        user_id=row["user_id"],
        spec=row["spec"],
        state=row["state"],
        data=loads(row["data"]) or {},
        started_at=from_db_time(row["started_at"]),  # type: ignore[arg-type]
        updated_at=from_db_time(row["updated_at"]),  # type: ignore[arg-type]
        expires_at=from_db_time(row["expires_at"]),  # type: ignore[arg-type]
    )


class DialogRepo:
    """One row per user (the primary key enforces 'one active dialog per user')."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def get(self, user_id: str) -> DialogRecord | None:
        row = await self.tx.fetchone("SELECT * FROM dialogs WHERE user_id = ?", (user_id,))
        return None if row is None else _record(row)

    async def save(self, record: DialogRecord) -> None:
        """Insert or overwrite the user's dialog (write-through on every turn)."""
        await self.tx.execute(
            "INSERT INTO dialogs (user_id, spec, state, data, started_at, updated_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET spec = excluded.spec,"
            " state = excluded.state, data = excluded.data, started_at = excluded.started_at,"
            " updated_at = excluded.updated_at, expires_at = excluded.expires_at",
            (
                record.user_id,
                record.spec,
                record.state,
                dumps(record.data),
                to_db_time(record.started_at),
                to_db_time(record.updated_at),
                to_db_time(record.expires_at),
            ),
        )

    async def delete(self, user_id: str) -> bool:
        cur = await self.tx.execute("DELETE FROM dialogs WHERE user_id = ?", (user_id,))
        return cur.rowcount > 0
