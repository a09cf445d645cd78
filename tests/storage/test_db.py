"""The database shell: migrations once, rollback on error, urgent writers first."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from storage.db import Database, PriorityLock


async def test_migrations_apply_once_and_rollback_keeps_nothing(tmp_path: Path) -> None:
    db = Database(tmp_path / "m.db")
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
