"""The append-only audit log: each row carries the hash of the one before it.

Rows are never updated (a trigger refuses it) and not deleted within the retention period, so a
changed or removed row breaks the chain and `audit verify` names the first row that no longer fits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.codec import dumps, from_db_time, loads, to_db_time
from storage.db import Tx

GENESIS = "0" * 64


def row_hash(prev_hash: str, at: str, actor: str, action: str, subject: str, data: str) -> str:
    material = "\x1f".join((prev_hash, at, actor, action, subject, data))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ChainReport:
    rows: int
    first_broken: int | None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.first_broken is None


class AuditRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def append(self, *, at: datetime, actor: str, action: str, subject: str, data: dict[str, Any]) -> int:
        last = await self.tx.fetchone("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
        prev = last[0] if last else GENESIS
        at_text, data_text = to_db_time(at), dumps(data)
        digest = row_hash(prev, at_text, actor, action, subject, data_text)
        return await self.tx.insert(
            "INSERT INTO audit_log (at, actor, action, subject, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (at_text, actor, action, subject, data_text, prev, digest),
        )

    async def for_subject(self, subject: str) -> list[AuditEntry]:
        rows = await self.tx.fetchall("SELECT * FROM audit_log WHERE subject = ? ORDER BY id", (subject,))
        return [
            AuditEntry(r["id"], from_db_time(r["at"]), r["actor"], r["action"], r["subject"], loads(r["data"]))  # type: ignore[arg-type]
            for r in rows
        ]

    async def verify(self) -> ChainReport:
        """Walk the chain from the start; pruned history (older than retention) starts a new anchor."""
        prev: str | None = None
        count = 0
        for row in self.tx.rows(
            "SELECT id, at, actor, action, subject, data, prev_hash, hash FROM audit_log ORDER BY id"
        ):
            count += 1
            expected_prev = row["prev_hash"] if prev is None else prev
            if row["prev_hash"] != expected_prev:
                return ChainReport(count, row["id"], "previous hash does not match the row before")
            digest = row_hash(
                row["prev_hash"], row["at"], row["actor"], row["action"], row["subject"], row["data"]
            )
            if digest != row["hash"]:
                return ChainReport(count, row["id"], "row content does not match its hash")
            prev = row["hash"]
        return ChainReport(count, None)
