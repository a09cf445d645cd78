"""Answers remembered under a client's Idempotency-Key, written in the transaction of the effect."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.codec import dumps, loads, to_db_time
from storage.db import Tx


@dataclass(frozen=True, slots=True)
class Remembered:
    request_sha256: str
    status: int
    response: dict[str, Any]


class IdempotencyRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def get(self, scope: str, key: str) -> Remembered | None:
        """The remembered answer; the key is held until the transaction ends, so concurrent requests
        with one key go one at a time (PostgreSQL; SQLite has one writer anyway)."""
        await self.tx.lock(f"idempotency:{scope}:{key}")
        row = await self.tx.fetchone(
            "SELECT request_sha256, status, response FROM idempotency_keys WHERE scope = ? AND key = ?", (scope, key)
        )
        return None if row is None else Remembered(row[0], row[1], loads(row[2]))

    async def remember(
        self, scope: str, key: str, request_sha256: str, status: int, response: dict[str, Any], now: datetime
    ) -> None:
        await self.tx.execute(
            "INSERT INTO idempotency_keys (scope, key, request_sha256, status, response, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (scope, key, request_sha256, status, dumps(response), to_db_time(now)),
        )
