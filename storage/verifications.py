"""Held actions waiting for a second verification, reached through a single-use, short-lived link."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.codec import dumps, from_db_time, loads, to_db_time
from storage.db import Row, Tx


@dataclass(frozen=True, slots=True)
class Verification:
    id: int
    user_id: str
    action: str
    subject: str
    params: dict[str, Any]
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None

    def usable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at


def token_digest(token: str) -> str:
    """Only the digest is stored: whoever reads the database cannot confirm in the person's name."""
    return hashlib.sha256(token.encode()).hexdigest()


def _verification(row: Row) -> Verification:
    return Verification(
        id=row["id"], user_id=row["user_id"], action=row["action"], subject=row["subject"],
        params=loads(row["params"]) or {},
        created_at=from_db_time(row["created_at"]),  # type: ignore[arg-type]
        expires_at=from_db_time(row["expires_at"]),  # type: ignore[arg-type]
        used_at=from_db_time(row["used_at"]),
    )


class VerificationRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def hold(self, token: str, user_id: str, action: str, subject: str, params: dict[str, Any],
                   now: datetime, expires_at: datetime) -> int:
        return await self.tx.insert(
            "INSERT INTO verifications (token_sha256, user_id, action, subject, params, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (token_digest(token), user_id, action, subject, dumps(params), to_db_time(now), to_db_time(expires_at)),
        )

    async def by_token(self, token: str) -> Verification | None:
        row = await self.tx.fetchone("SELECT * FROM verifications WHERE token_sha256 = ?", (token_digest(token),))
        return None if row is None else _verification(row)

    async def use(self, verification_id: int, now: datetime) -> bool:
        """Spend the token; False when it was spent already or has expired (then nothing may happen)."""
        row = await self.tx.fetchone(
            "UPDATE verifications SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ? RETURNING id",
            (to_db_time(now), verification_id, to_db_time(now)),
        )
        return row is not None
