"""The append-only audit log: each row carries an HMAC, keyed by `BOT_AUDIT_KEY`, over the row before.

Rows are never updated (a trigger refuses it) and not deleted within the retention period. Without
the key, which is kept outside the database, nobody can write a row that verifies, so a changed,
inserted or removed row breaks the chain and `audit verify` names the first row that no longer fits:

- the first row must start the chain (`prev_hash` all zeros), or be the cut an `audit.pruned` row
  recorded when the retention job archived the rows before it;
- rows written before the chain was keyed (plain SHA-256) stay verifiable up to the `audit.keyed`
  row that re-keyed it; after the first keyed row every row must be keyed, and a chain with rows
  must contain one;
- truncation of the newest rows is caught against an anchor kept outside the database (see
  `storage/audit_files.py`): the anchored row must still be there with the anchored hash.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.codec import dumps, from_db_time, loads, to_db_time
from storage.db import Row, Tx

GENESIS = "0" * 64
KEYED = "audit.keyed"
PRUNED = "audit.pruned"
SUBJECT = "audit"


class WrongAuditKey(Exception):
    """The audit log was written with another key than the one configured."""


class AuditKey:
    """The secret that keys the chain; its repr never shows it."""

    __slots__ = ("_secret",)

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("the audit key is empty")
        self._secret = secret

    def mac(self, text: str) -> str:
        return hmac.new(self._secret, text.encode("utf-8"), hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "AuditKey(***)"


def _material(prev_hash: str, at: str, actor: str, action: str, subject: str, data: str) -> str:
    return "\x1f".join((prev_hash, at, actor, action, subject, data))


def row_hash(key: AuditKey, prev_hash: str, at: str, actor: str, action: str, subject: str, data: str) -> str:
    return key.mac(_material(prev_hash, at, actor, action, subject, data))


def unkeyed_hash(prev_hash: str, at: str, actor: str, action: str, subject: str, data: str) -> str:
    """How rows were hashed before the chain was keyed."""
    return hashlib.sha256(_material(prev_hash, at, actor, action, subject, data).encode("utf-8")).hexdigest()


def _hashes(key: AuditKey, row: Row) -> tuple[str, str]:
    """(keyed, unkeyed) hash of a stored row's content."""
    fields = (row["prev_hash"], row["at"], row["actor"], row["action"], row["subject"], row["data"])
    return row_hash(key, *fields), unkeyed_hash(*fields)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    subject: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Head:
    """The newest row: what an anchor pins."""

    id: int
    hash: str


@dataclass(frozen=True, slots=True)
class Anchor:
    """A head recorded outside the database at `at` (ISO text)."""

    id: int
    hash: str
    at: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    rows: int
    first_broken: int | None
    reason: str = ""
    unkeyed: int = 0
    anchor: Anchor | None = None

    @property
    def ok(self) -> bool:
        return self.first_broken is None


ROW = "SELECT id, at, actor, action, subject, data, prev_hash, hash FROM audit_log"


class AuditRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def append(
        self, *, at: datetime, actor: str, action: str, subject: str, data: dict[str, Any], key: AuditKey
    ) -> int:
        await self.tx.lock("audit_log")  # PostgreSQL: concurrent transactions would fork the chain
        head = await self.head()
        prev = head.hash if head else GENESIS
        at_text, data_text = to_db_time(at), dumps(data)
        digest = row_hash(key, prev, at_text, actor, action, subject, data_text)
        return await self.tx.insert(
            "INSERT INTO audit_log (at, actor, action, subject, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (at_text, actor, action, subject, data_text, prev, digest),
        )

    async def head(self) -> Head | None:
        row = await self.tx.fetchone("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
        return None if row is None else Head(row[0], row[1])

    async def key_chain(self, key: AuditKey, now: datetime) -> bool:
        """Start keying a chain written before keys: an `audit.keyed` row links the old head into the
        keyed chain. Nothing to do for an empty chain or one whose head is keyed with `key`; a head
        written with another key (or changed) raises `WrongAuditKey` rather than start a new chain."""
        last = await self.tx.fetchone(f"{ROW} ORDER BY id DESC LIMIT 1")
        if last is None:
            return False
        with_key, without = _hashes(key, last)
        if last["hash"] == with_key:
            return False
        if last["hash"] != without:
            raise WrongAuditKey(f"the newest audit row ({last['id']}) was not written with this BOT_AUDIT_KEY"
                                " (or was changed): restore the key it was written with, then run audit verify")
        count = await self.tx.fetchone("SELECT COUNT(*) FROM audit_log")
        await self.append(at=now, actor="bot", action=KEYED, subject=SUBJECT, key=key,
                          data={"earlier_rows": int(count[0]) if count else 0, "earlier_head": last["hash"]})
        return True

    async def oldest(self, limit: int) -> list[dict[str, Any]]:
        """The first rows of the chain as stored (for the archive), oldest first."""
        return [dict(r) for r in await self.tx.fetchall(f"{ROW} ORDER BY id LIMIT ?", (limit,))]

    async def cut_before(self, first: dict[str, Any], archive: str, archived: int, key: AuditKey,
                         now: datetime) -> bool:
        """Remove the rows before `first` (already archived), recording the cut in the chain so that
        `verify` accepts `first` as its start; False if `first` is no longer as it was read."""
        still = await self.tx.fetchone("SELECT prev_hash FROM audit_log WHERE id = ?", (first["id"],))
        if still is None or still[0] != first["prev_hash"]:
            return False
        await self.append(at=now, actor="bot", action=PRUNED, subject=SUBJECT, key=key, data={
            "first_id": first["id"], "prev_hash": first["prev_hash"], "archived_rows": archived, "archive": archive})
        await self.tx.execute("DELETE FROM audit_log WHERE id < ?", (first["id"],))
        return True

    async def for_subject(self, subject: str) -> list[AuditEntry]:
        rows = await self.tx.fetchall("SELECT * FROM audit_log WHERE subject = ? ORDER BY id", (subject,))
        return [
            AuditEntry(r["id"], from_db_time(r["at"]), r["actor"], r["action"], r["subject"], loads(r["data"]))  # type: ignore[arg-type]
            for r in rows
        ]

    async def verify(self, key: AuditKey, anchor: Anchor | None = None) -> ChainReport:
        """Walk the chain from its first row; see the module docstring for what is checked."""
        cuts = {(d["first_id"], d["prev_hash"]) for d in await self._marker_data(PRUNED)}
        async with aclosing(self.tx.rows(f"{ROW} ORDER BY id")) as rows:
            return await self._walk(rows, key, anchor, cuts)

    async def _walk(self, rows: AsyncIterator[Row], key: AuditKey, anchor: Anchor | None,
                    cuts: set[tuple[int, str]]) -> ChainReport:
        prev: str | None = None
        count = unkeyed = 0
        keyed = False
        anchored: str | None = None
        last_id = 0
        async for row in rows:
            count += 1
            last_id = row["id"]
            if prev is None and row["prev_hash"] != GENESIS and (row["id"], row["prev_hash"]) not in cuts:
                return ChainReport(count, row["id"], "the first row does not start the chain: earlier rows were removed")
            if prev is not None and row["prev_hash"] != prev:
                return ChainReport(count, row["id"], "previous hash does not match the row before")
            with_key, without = _hashes(key, row)
            if row["hash"] == with_key:
                keyed = True
            elif row["hash"] == without and not keyed:
                unkeyed += 1
            else:
                hint = "" if keyed else " (or BOT_AUDIT_KEY is not the key it was written with)"
                return ChainReport(count, row["id"], "row content does not match its hash" + hint)
            if anchor is not None and row["id"] == anchor.id:
                anchored = row["hash"]
            prev = row["hash"]
        if count and not keyed:
            return ChainReport(count, last_id, "no row is keyed: the chain was rewritten without the key")
        if anchor is not None:
            if last_id < anchor.id:
                return ChainReport(count, last_id + 1,
                                   f"the log ends at row {last_id}, but row {anchor.id} was anchored at {anchor.at}:"
                                   " rows were removed", unkeyed, anchor)
            if anchored is not None and anchored != anchor.hash:
                return ChainReport(count, anchor.id, f"row {anchor.id} differs from its anchor of {anchor.at}",
                                   unkeyed, anchor)
        return ChainReport(count, None, unkeyed=unkeyed, anchor=anchor)

    async def _marker_data(self, action: str) -> list[dict[str, Any]]:
        rows = await self.tx.fetchall("SELECT data FROM audit_log WHERE action = ? AND subject = ?", (action, SUBJECT))
        return [loads(r[0]) for r in rows]
