"""The keyed audit chain: appends verify, tampering, truncation and a foreign key are found, updates refused."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.audit import GENESIS, Anchor, AuditKey, AuditRepo, ChainReport, WrongAuditKey, unkeyed_hash
from storage.audit_files import AnchorTampered, load_key, read_anchor, write_anchor
from storage.db import Database
from storage.sqlite import SqliteDatabase

KEY = AuditKey(b"k" * 32)
NOW = datetime(2026, 11, 28, tzinfo=UTC)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = SqliteDatabase(tmp_path / "a.db")
    await database.open()
    try:
        yield database
    finally:
        await database.close()


async def append(db: Database, n: int, *, key: AuditKey = KEY, at: datetime = NOW) -> None:
    async with db.transaction() as tx:
        for i in range(n):
            await tx.repo(AuditRepo).append(at=at, actor="u", action="a", subject=f"s{i}", data={"i": i}, key=key)


async def verify(db: Database, key: AuditKey = KEY, anchor: Anchor | None = None) -> ChainReport:
    async with db.read() as tx:
        return await tx.repo(AuditRepo).verify(key, anchor)


def attacker(db: Database, *statements: str) -> None:
    """Someone with write access to the database file (triggers are no obstacle to them)."""
    with sqlite3.connect(db.path) as conn:
        conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        conn.execute("DROP TRIGGER IF EXISTS audit_log_retention")
        for sql in statements:
            conn.execute(sql)


def rehash_unkeyed_from(db: Database, first: int, last: int = 2**62) -> None:
    """Recompute the plain SHA-256 chain of rows `first` to `last`, as an attacker without the key can."""
    with sqlite3.connect(db.path) as conn:
        conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        rows = conn.execute("SELECT id, at, actor, action, subject, data, prev_hash FROM audit_log"
                            " WHERE id BETWEEN ? AND ? ORDER BY id", (first, last)).fetchall()
        prev = rows[0][6]
        for rid, at, actor, action, subject, data, _ in rows:
            digest = unkeyed_hash(prev, at, actor, action, subject, data)
            conn.execute("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?", (prev, digest, rid))
            prev = digest


async def test_the_keyed_chain_verifies_and_refuses_changes(db: Database) -> None:
    await append(db, 5)
    report = await verify(db)
    assert report.ok and (report.rows, report.unkeyed) == (5, 0)
    wrong = await verify(db, AuditKey(b"another key"))
    assert (wrong.first_broken, wrong.reason) == (1, "row content does not match its hash (or BOT_AUDIT_KEY is"
                                                     " not the key it was written with)")
    with pytest.raises(Exception, match="append-only"):
        async with db.transaction() as tx:
            await tx.execute("UPDATE audit_log SET actor = 'x' WHERE id = 2")
    with pytest.raises(Exception, match="180 days"):
        async with db.transaction() as tx:
            await tx.execute("DELETE FROM audit_log WHERE id = 2")
    async with db.transaction() as tx:  # 181 days on, the first rows may go (the newest one stays)
        await tx.repo(AuditRepo).append(at=NOW + timedelta(days=181), actor="u", action="a", subject="s5", data={},
                                        key=KEY)
        await tx.execute("DELETE FROM audit_log WHERE id = 1")
        with pytest.raises(Exception, match="180 days"):
            await tx.execute("DELETE FROM audit_log WHERE id = 6")


async def test_rewriting_without_the_key_is_found(db: Database) -> None:
    await append(db, 5)
    attacker(db, "UPDATE audit_log SET data = '{\"i\":99}' WHERE id = 3")
    assert (await verify(db)).first_broken == 3
    rehash_unkeyed_from(db, 3)  # a consistent chain again, but not a keyed one
    report = await verify(db)
    assert (report.first_broken, report.reason) == (3, "row content does not match its hash")


async def test_removing_the_first_rows_is_found(db: Database) -> None:
    await append(db, 5)
    attacker(db, "DELETE FROM audit_log WHERE id <= 2")
    report = await verify(db)
    assert (report.first_broken, report.reason) == (3, "the first row does not start the chain: earlier rows were"
                                                       " removed")


async def test_removing_the_newest_rows_is_found_against_the_anchor(db: Database, tmp_path: Path) -> None:
    await append(db, 5)
    async with db.read() as tx:
        head = await tx.repo(AuditRepo).head()
    assert head is not None
    write_anchor(tmp_path, KEY, Anchor(head.id, head.hash, "2026-11-28T01:00:00.000000Z"))
    anchor = read_anchor(tmp_path, KEY)
    assert anchor == Anchor(5, head.hash, "2026-11-28T01:00:00.000000Z") and (await verify(db, anchor=anchor)).ok
    await append(db, 2)  # rows after the anchor are fine
    assert (await verify(db, anchor=anchor)).ok
    attacker(db, "DELETE FROM audit_log WHERE id >= 4")
    assert (await verify(db)).ok  # without an anchor a shortened log looks whole...
    report = await verify(db, anchor=anchor)  # ...the anchor tells
    assert (report.first_broken, report.reason) == (
        4, "the log ends at row 3, but row 5 was anchored at 2026-11-28T01:00:00.000000Z: rows were removed")
    attacker(db, "DELETE FROM audit_log")
    assert not (await verify(db, anchor=anchor)).ok

    path = tmp_path / "audit.anchor"
    path.write_text(path.read_text().replace('"id": 5', '"id": 3'))
    with pytest.raises(AnchorTampered):
        read_anchor(tmp_path, KEY)


async def test_a_chain_from_before_keys_is_keyed_from_a_recorded_row(db: Database) -> None:
    with sqlite3.connect(db.path) as conn:  # rows as an older version wrote them
        prev = GENESIS
        for i in range(3):
            fields = ("2026-11-01T00:00:00.000000Z", "u", "a", f"s{i}", "{}")
            digest = unkeyed_hash(prev, *fields)
            conn.execute("INSERT INTO audit_log (at, actor, action, subject, data, prev_hash, hash)"
                         " VALUES (?, ?, ?, ?, ?, ?, ?)", (*fields, prev, digest))
            prev = digest
    assert not (await verify(db)).ok  # nothing keyed yet
    async with db.transaction() as tx:
        assert await tx.repo(AuditRepo).key_chain(KEY, NOW)
        assert not await tx.repo(AuditRepo).key_chain(KEY, NOW)  # once
    await append(db, 2)
    report = await verify(db)
    assert report.ok and (report.rows, report.unkeyed) == (6, 3)
    async with db.read() as tx:
        [marker] = await tx.repo(AuditRepo).for_subject("audit")
    assert marker.action == "audit.keyed" and marker.data == {"earlier_rows": 3, "earlier_head": prev}

    attacker(db, "UPDATE audit_log SET data = '{\"x\":1}' WHERE id = 2")
    rehash_unkeyed_from(db, 2, 3)  # the old rows are consistent again, but the keyed row after them pins them
    assert (await verify(db)).first_broken == 4
    rehash_unkeyed_from(db, 1)
    attacker(db, "DELETE FROM audit_log WHERE id >= 4")
    assert (await verify(db)).reason == "no row is keyed: the chain was rewritten without the key"


def test_the_key_comes_from_the_setting_or_a_private_file(tmp_path: Path) -> None:
    assert load_key("", tmp_path, create=False) is None
    made = load_key("", tmp_path, create=True)
    assert made is not None and (tmp_path / "audit.key").stat().st_mode & 0o777 == 0o600
    again = load_key("", tmp_path, create=True)
    assert again is not None and again.mac("x") == made.mac("x")
    configured = load_key("from-the-environment", tmp_path, create=True)
    assert configured is not None and configured.mac("x") != made.mac("x")
    assert "from-the-environment" not in repr(configured) and repr(configured) == "AuditKey(***)"


async def test_a_chain_of_another_key_is_not_silently_restarted(db: Database) -> None:
    await append(db, 2)
    with pytest.raises(WrongAuditKey, match="not written with this BOT_AUDIT_KEY"):
        async with db.transaction() as tx:
            await tx.repo(AuditRepo).key_chain(AuditKey(b"a key set by mistake"), NOW)
    async with db.transaction() as tx:
        assert not await tx.repo(AuditRepo).key_chain(KEY, NOW)
    assert (await verify(db)).ok
