"""The latest response_code of each interactive card: WeCom lets each code update a card once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from storage.codec import to_db_time
from storage.db import Tx


class CardRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def remember(self, task_id: str, user_id: str, response_code: str | None, now: datetime) -> None:
        await self.tx.execute(
            "INSERT INTO card_codes (task_id, user_id, response_code, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (task_id) DO UPDATE SET response_code = excluded.response_code,"
            " updated_at = excluded.updated_at",
            (task_id, user_id, response_code, to_db_time(now)),
        )

    async def code(self, task_id: str) -> str | None:
        """The card's current unused code; it stays until WeCom accepted an update made with it."""
        row = await self.tx.fetchone("SELECT response_code FROM card_codes WHERE task_id = ?", (task_id,))
        return None if row is None or row[0] is None else str(row[0])

    async def spend(self, task_id: str, response_code: str) -> None:
        """WeCom accepted an update with this code: forget it (unless a newer click already replaced it)."""
        await self.tx.execute(
            "UPDATE card_codes SET response_code = NULL WHERE task_id = ? AND response_code = ?",
            (task_id, response_code),
        )

    async def forget(self, task_ids: Iterable[str]) -> None:
        """Cards that were never sent (folded into a digest): nothing to update later."""
        await self.tx.executemany("DELETE FROM card_codes WHERE task_id = ?", [(t,) for t in task_ids])

    async def owner(self, task_id: str) -> str | None:
        row = await self.tx.fetchone("SELECT user_id FROM card_codes WHERE task_id = ?", (task_id,))
        return None if row is None else str(row[0])
