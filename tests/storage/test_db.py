"""The database shell: migrations once, rollback on error, urgent writers first."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.sqlite import PriorityLock, SqliteDatabase
from tests.loop_ticks import LoopTicks


async def test_migrations_apply_once_and_rollback_keeps_nothing(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "m.db")
    await db.open()
    async with db.read() as tx:
        versions = [r[0] for r in await tx.fetchall("SELECT version FROM schema_migrations ORDER BY version")]
    await db.close()
    assert versions[:2] == [1, 2] and versions == sorted(set(versions))
    await db.open()  # a second start applies nothing again
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO tags (id, name) VALUES (1, 't')")
            raise RuntimeError("handler failed")
    async with db.read() as tx:
        assert await tx.fetchall("SELECT * FROM tags") == []
        again = [r[0] for r in await tx.fetchall("SELECT version FROM schema_migrations ORDER BY version")]
    await db.close()
    assert again == versions


async def test_urgent_waiters_go_first_and_cancellation_is_safe() -> None:
    lock = PriorityLock()
    order: list[str] = []

    async def take(name: str, urgent: bool) -> None:
        async with lock.hold(urgent=urgent):
            order.append(name)
            await asyncio.sleep(0.01)

    async with lock.hold():
        tasks = [asyncio.create_task(take(n, u)) for n, u in [("n1", False), ("n2", False), ("u1", True)]]
        doomed = asyncio.create_task(take("x", True))
        await asyncio.sleep(0)
        doomed.cancel()
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert order == ["u1", "n1", "n2"]
    async with lock.hold():  # still usable: nothing leaked by the cancelled waiter
        pass


async def test_a_failing_commit_rolls_back_and_leaves_the_connection_usable(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "c.db")
    await db.open()
    async with db.transaction() as tx:
        await tx.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        await tx.execute("CREATE TABLE child (id INTEGER PRIMARY KEY,"
                         " parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)")
    # a deferred foreign key is checked at COMMIT: the commit itself fails
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO child (id, parent_id) VALUES (1, 42)")
    with pytest.raises(sqlite3.IntegrityError):
        await db.write_batch(lambda tx: tx.execute("INSERT INTO child (id, parent_id) VALUES (2, 43)"))
    async with db.transaction() as tx:  # BEGIN works again: nothing of the failed ones was kept
        await tx.execute("INSERT INTO parent (id) VALUES (7)")
    async with db.read() as tx:
        children = await tx.fetchall("SELECT * FROM child")
        parents = [r[0] for r in await tx.fetchall("SELECT id FROM parent")]
    await db.close()
    assert children == [] and parents == [7]


def _hold_write_lock(path: Path, held: threading.Event, release: threading.Event) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO tags (id, name) VALUES (7, 'other')")
    held.set()
    release.wait(10)
    conn.execute("COMMIT")
    conn.close()


@contextlib.asynccontextmanager
async def another_process_writing(path: Path) -> AsyncIterator[None]:
    """Another connection (as another process would) holds the file's write lock until the block ends."""
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, held, release))
    holder.start()
    await asyncio.to_thread(held.wait, 10)
    try:
        yield
    finally:
        release.set()
        await asyncio.to_thread(holder.join)


async def test_a_write_waiting_for_another_process_keeps_the_event_loop_running(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "shared.db")
    await db.open()
    async with another_process_writing(tmp_path / "shared.db"), LoopTicks() as ticks:
        write = asyncio.create_task(db.write_batch(lambda tx: tx.execute("INSERT INTO tags (id, name) VALUES (8, 'ours')")))
        while ticks.count < 10:  # a write stuck in SQLite's busy handler would stop these ticks
            await asyncio.sleep(0.01)
        assert not write.done()  # still waiting for the lock, without holding up the loop
    await write
    async with db.read() as tx:
        assert [r[0] for r in await tx.fetchall("SELECT name FROM tags ORDER BY id")] == ["other", "ours"]
    await db.close()


async def test_a_write_lock_never_released_fails_the_write_and_leaves_the_database_usable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("storage.sqlite.LOCK_WAIT_LIMIT", 0.2)
    db = SqliteDatabase(tmp_path / "shared.db")
    await db.open()
    async with another_process_writing(tmp_path / "shared.db"):
        with pytest.raises(sqlite3.OperationalError):
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO tags (id, name) VALUES (8, 'ours')")
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO tags (id, name) VALUES (9, 'later')")
    async with db.read() as tx:
        assert [r[0] for r in await tx.fetchall("SELECT name FROM tags ORDER BY id")] == ["other", "later"]
    await db.close()
