"""Group commit isolates its items: one that cannot be stored fails alone, its batch-mates are stored."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.runtime.inbox import InboxWriter
from storage.inbox import InboxItem, InboxRepo
from storage.sqlite import SqliteDatabase
from tests.world import START_AT


def item(n: int, payload: dict[str, object]) -> InboxItem:
    return InboxItem(f"k{n}", "app", f"user{n}", "text", None, payload, START_AT)


async def test_one_poisoned_item_fails_alone_in_its_batch(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "bot.db")
    await db.open()
    stored: list[InboxItem] = []
    writer = InboxWriter(db, stored.append)
    writer.start()
    try:
        items = [item(n, {"Content": f"hello {n}"}) for n in range(6)]
        items[3] = item(3, {"Content": {"not", "json"}})  # a set: json.dumps raises inside the batch
        results = await asyncio.gather(*(writer.submit(i) for i in items), return_exceptions=True)
    finally:
        await writer.stop()
    assert isinstance(results[3], TypeError)
    assert [r.dedupe_key for r in results if isinstance(r, InboxItem)] == ["k0", "k1", "k2", "k4", "k5"]
    async with db.read() as tx:
        pending = await tx.repo(InboxRepo).pending()
    await db.close()
    assert sorted(p.dedupe_key for p in pending) == ["k0", "k1", "k2", "k4", "k5"]
    assert len(stored) == 5

