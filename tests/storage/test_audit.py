"""The hash-chained audit log: appends verify, any tampering is found, updates are refused."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.audit import AuditRepo
from storage.db import Database


async def test_chain_verifies_and_detects_tampering(tmp_path: Path) -> None:
    db = Database(tmp_path / "a.db")
    await db.open()
    now = datetime(2026, 11, 28, tzinfo=UTC)
    async with db.transaction() as tx:
        for i in range(5):
            await tx.repo(AuditRepo).append(at=now, actor="u", action="a", subject=f"s{i}", data={"i": i})
    async with db.read() as tx:
        report = await tx.repo(AuditRepo).verify()
    assert report.ok and report.rows == 5
    with pytest.raises(Exception, match="append-only"):
        async with db.transaction() as tx:
            await tx.execute("UPDATE audit_log SET actor = 'x' WHERE id = 2")
    with pytest.raises(Exception, match="180 days"):
        async with db.transaction() as tx:
            await tx.execute("DELETE FROM audit_log WHERE id = 2")
    async with db.transaction() as tx:  # 181 days on, the first rows may go (the newest one stays)
        await tx.repo(AuditRepo).append(at=now + timedelta(days=181), actor="u", action="a", subject="s5", data={})
        await tx.execute("DELETE FROM audit_log WHERE id = 1")
        with pytest.raises(Exception, match="180 days"):
            await tx.execute("DELETE FROM audit_log WHERE id = 6")
    await db.close()

    with sqlite3.connect(tmp_path / "a.db") as conn:  # an attacker with file access
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("UPDATE audit_log SET data = '{\"i\":99}' WHERE id = 3")
    await db.open()
    async with db.read() as tx:
        report = await tx.repo(AuditRepo).verify()
    await db.close()
    assert not report.ok and report.first_broken == 3
