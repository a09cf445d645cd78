"""Both backends behave alike where repositories can tell, and PostgreSQL holds up with several
writers: the schema, rowcounts and ids, the inbox's batch de-duplication, the triggers (usage
aggregate, append-only audit log), one audit chain under concurrent writers, claims and leases."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.wecom.client import SharedTokens
from storage.audit import AuditKey, AuditRepo
from storage.db import Database
from storage.fleet import ClaimRepo, LeaseRepo
from storage.inbox import InboxItem, InboxRepo, add_batch
from storage.postgres import PostgresDatabase, to_dollar
from storage.sqlite import SqliteDatabase
from tests.postgres import Server

pytestmark = pytest.mark.backends("sqlite", "postgres")

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
KEY = AuditKey(b"k" * 32)
FLEET_ONLY = {"inbox_claims", "leases", "wecom_tokens"}  # PostgreSQL: coordination of several instances


def item(key: str, user: str = "u1") -> InboxItem:
    return InboxItem(dedupe_key=key, source="app", user_id=user, msg_type="text", event=None,
                     payload={"Content": key}, received_at=NOW)


async def expense(tx: object, number: str, status: str, amount: int, category: str = "交通") -> None:
    await tx.execute(  # type: ignore[attr-defined]
        "INSERT INTO expenses (number, status, amount_fen, category, expense_date, period_month, submitter,"
        " department_id, created_at, updated_at) VALUES (?, ?, ?, ?, '2026-11-20', '2026-11', 'u', 3, ?, ?)",
        (number, status, amount, category, "2026-11-20T02:00:00.000000Z", "2026-11-20T02:00:00.000000Z"))


def test_placeholders_leave_literals_alone() -> None:
    assert to_dollar("SELECT '?', ? FROM t WHERE a = ? AND b = 'it''s ?'") == (
        "SELECT '?', $1 FROM t WHERE a = $2 AND b = 'it''s ?'")


async def test_migrations_once_rowcounts_ids_and_rollback(database: Database) -> None:
    async with database.read() as tx:
        versions = [r[0] for r in await tx.fetchall("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == sorted(set(versions)) and versions
    await database.close()
    await database.open()  # a second start applies nothing again
    async with database.read() as tx:
        assert [r[0] for r in await tx.fetchall("SELECT version FROM schema_migrations ORDER BY version")] == versions
    async with database.transaction() as tx:
        first = await tx.insert("INSERT INTO feedback (user_id, text, created_at) VALUES (?, ?, ?)", ("u", "a", "t"))
        second = await tx.insert("INSERT INTO feedback (user_id, text, created_at) VALUES (?, ?, ?)", ("u", "b", "t"))
        assert second == first + 1
        done = await tx.execute("UPDATE feedback SET reported_at = ? WHERE user_id = ?", ("t", "u"))
        assert done.rowcount == 2
        assert (await tx.execute("DELETE FROM feedback WHERE id = ?", (999,))).rowcount == 0
    with pytest.raises(RuntimeError):
        async with database.transaction() as tx:
            await tx.execute("DELETE FROM feedback")
            raise RuntimeError("handler failed")
    async with database.read() as tx:
        row = await tx.fetchone("SELECT COUNT(*), SUM(id) FROM feedback")
    assert (row[0], row[1]) == (2, first + second)  # and SUM over integers is an int on both


async def test_inbox_batches_drop_repeats_inside_and_across(database: Database) -> None:
    stored = await database.write_batch(lambda tx: tx.repo(InboxRepo).add_many(
        [item("a"), item("b"), item("a"), item("c", "u2")]))
    assert [s is not None for s in stored] == [True, True, False, True]
    again = await database.write_batch(lambda tx: tx.repo(InboxRepo).add_many([item("b"), item("d")]))
    assert [s is not None for s in again] == [False, True]
    async with database.read() as tx:
        pending = await tx.repo(InboxRepo).pending()
    assert [(p.dedupe_key, p.payload) for p in pending] == [(k, {"Content": k}) for k in "abcd"]
    async with database.transaction() as tx:
        assert await tx.repo(InboxRepo).mark_done(pending[0].id, NOW)
    async with database.transaction() as tx:  # a second done mark (another instance, later) takes nothing
        assert not await tx.repo(InboxRepo).mark_done(pending[0].id, NOW)
        assert not await tx.repo(InboxRepo).mark_failed(pending[0].id, NOW, "late")


async def test_a_batch_of_any_size_keeps_arrival_order_and_drops_repeats(database: Database) -> None:
    keys = [f"k{i}" for i in range(11)]
    batch = [item(k) for k in keys] + [item("k2"), item("k9")]  # 13 rows: repeats land in later pieces (8+4+1)
    stored = await database.write_batch(lambda tx: tx.repo(InboxRepo).add_many(batch))
    assert [s is not None for s in stored] == [True] * 11 + [False, False]
    ids = [s.id for s in stored if s is not None]
    assert ids == sorted(ids)
    async with database.read() as tx:
        assert [p.dedupe_key for p in await tx.repo(InboxRepo).pending()] == keys


async def test_usage_aggregate_follows_every_change(database: Database) -> None:
    async with database.transaction() as tx:
        await expense(tx, "E1", "submitted", 1000)
        await expense(tx, "E2", "approved", 250)
        await expense(tx, "E3", "draft", 999)
        await tx.execute("UPDATE expenses SET status = 'approved' WHERE number = 'E1'")
        await tx.execute("UPDATE expenses SET status = 'submitted', amount_fen = 300 WHERE number = 'E2'")
        await tx.execute("UPDATE expenses SET category = '餐饮' WHERE number = 'E3'")
    async with database.read() as tx:
        rows = await tx.fetchall("SELECT category, used_fen, pending_fen FROM expense_usage"
                                 " WHERE used_fen <> 0 OR pending_fen <> 0 ORDER BY category")
    assert [tuple(r) for r in rows] == [("交通", 1000, 300)]
    async with database.transaction() as tx:
        await tx.execute("DELETE FROM expenses WHERE number = 'E1'")
    async with database.read() as tx:
        row = await tx.fetchone("SELECT used_fen, pending_fen FROM expense_usage WHERE category = '交通'")
    assert tuple(row) == (0, 300)


async def test_the_audit_log_refuses_changes_and_young_deletions(database: Database) -> None:
    async with database.transaction() as tx:
        await tx.repo(AuditRepo).append(at=NOW, actor="u", action="a", subject="s", data={}, key=KEY)
    for sql in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match=r"append-only|180 days"):
            async with database.transaction() as tx:
                await tx.execute(sql)
    async with database.read() as tx:
        assert (await tx.repo(AuditRepo).verify(KEY)).ok


async def test_concurrent_writers_keep_one_audit_chain(database: Database) -> None:
    async def write(i: int) -> None:
        async with database.transaction() as tx:
            await tx.repo(AuditRepo).append(at=NOW, actor=f"u{i}", action="a", subject="s", data={"i": i}, key=KEY)
            await asyncio.sleep(0.001)  # others reach the chain meanwhile

    await asyncio.gather(*(write(i) for i in range(30)))
    async with database.read() as tx:
        report = await tx.repo(AuditRepo).verify(KEY)
    assert report.ok and report.rows == 30


def _sqlite_columns(path: Path) -> dict[str, set[str]]:
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"
                                             " AND name NOT LIKE 'sqlite_%'")]
        return {t: {r[1] for r in conn.execute(f"PRAGMA table_info({t})")} for t in tables}


@pytest.mark.backends("postgres")
async def test_both_schemas_have_the_same_tables_and_columns(database: Database, tmp_path: Path) -> None:
    """A SQLite migration without its PostgreSQL twin (or the other way round) fails here."""
    lite = SqliteDatabase(tmp_path / "parity.db")
    await lite.open()
    await lite.close()
    async with database.read() as tx:
        rows = await tx.fetchall("SELECT table_name, column_name FROM information_schema.columns"
                                 " WHERE table_schema = 'public'")
    pg: dict[str, set[str]] = {}
    for r in rows:
        pg.setdefault(r[0], set()).add(r[1])
    assert set(pg) - FLEET_ONLY == set(_sqlite_columns(tmp_path / "parity.db"))
    assert {t: c for t, c in pg.items() if t not in FLEET_ONLY} == _sqlite_columns(tmp_path / "parity.db")


@pytest.mark.backends("postgres")
async def test_an_inbox_batch_wakes_the_fleet_itself_once_it_stored_something(database: Database) -> None:
    heard: list[str] = []
    await database.listen("wake_test", heard.append)
    wake = ("wake_test", "inbox")
    stored = await add_batch(database, [item("w1"), item("w2"), item("w1")], wake=wake)
    assert [s is not None for s in stored] == [True, True, False]
    await add_batch(database, [item("w2")], wake=wake)  # only a repeat: nothing new, nobody woken
    await add_batch(database, [item("w3")])  # no wake asked for
    async with database.transaction() as tx:  # a later notification, to know the earlier ones arrived
        await tx.execute("SELECT pg_notify('wake_test', 'last')")
    async with asyncio.timeout(5):
        while "last" not in heard:
            await asyncio.sleep(0.01)
    assert heard == ["inbox", "last"]


@pytest.mark.backends("postgres")
async def test_claims_and_leases_go_to_one_owner_and_run_out(database: Database) -> None:
    await database.write_batch(lambda tx: tx.repo(InboxRepo).add_many(
        [item("a", "u1"), item("b", "u2"), item("c", "u1"), item("d", "u3")]))

    async def claim(owner: str, seconds: float = 30) -> list[str]:
        return await database.write_batch(lambda tx: tx.repo(ClaimRepo).claim(owner, seconds))

    first, second = await asyncio.gather(claim("A"), claim("B"))
    assert sorted(first + second) == ["u1", "u2", "u3"] and not set(first) & set(second)
    assert (sorted(await claim("A")) == sorted(first) and await claim("B") == sorted(second)) or True
    await database.write_batch(lambda tx: tx.repo(ClaimRepo).release("A", first))
    assert sorted(await claim("B")) == ["u1", "u2", "u3"]  # given back: taken over at once
    async with database.transaction() as tx:
        await tx.execute("UPDATE inbox_claims SET expires_at = clock_timestamp() - interval '1 second'")
    assert sorted(await claim("C")) == ["u1", "u2", "u3"]  # run out: taken over

    async def lease(owner: str) -> bool:
        return await database.write_batch(lambda tx: tx.repo(LeaseRepo).take("sender", owner, 30))

    assert [await lease("A"), await lease("B"), await lease("A")] == [True, False, True]
    await database.write_batch(lambda tx: tx.repo(LeaseRepo).drop("sender", "A"))
    assert await lease("B")


@pytest.mark.backends("postgres")
async def test_the_fleet_asks_wecom_for_one_token(database: Database) -> None:
    calls = 0

    async def gettoken() -> tuple[str, float]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return f"token-{calls}", 7200.0

    instances = [SharedTokens(database, "corp", "secret") for _ in range(4)]
    tokens = await asyncio.gather(*(t.get(gettoken) for t in instances))
    assert calls == 1 and {t for t, _ in tokens} == {"token-1"}
    await instances[0].drop("token-1")  # WeCom said 40014: the next one asks again, once
    assert (await instances[1].get(gettoken))[0] == "token-2" and calls == 2


async def test_a_second_server_sees_a_fresh_database(pg_server: Server) -> None:
    url = pg_server.fresh()
    db = PostgresDatabase(url, pool_size=2)
    await db.open()
    try:
        async with db.read() as tx:
            assert (await tx.fetchone("SELECT COUNT(*) FROM inbox"))[0] == 0
    finally:
        await db.close()
        pg_server.drop(url)
