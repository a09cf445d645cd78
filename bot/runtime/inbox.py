"""Group-committed inbox writes: callbacks arriving together share one transaction (one fsync), so
durability before the ack costs little under load; processing gives way to acks while they flood in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from bot.ops import metrics
from bot.runtime.batching import GroupCommit
from storage.db import Database
from storage.inbox import InboxItem, InboxRepo, add_batch

log = logging.getLogger(__name__)

class AckGate:
    """Background work (processing, sending) gives way to acknowledgements when the bot is loaded.

    The signal is event-loop lag while callbacks are arriving: ordinary traffic never waits here,
    a flood defers processing until it eases, and a waiting task always proceeds after `max_wait`
    so background work is never starved. The inbox is durable, so deferring loses nothing.
    """

    def __init__(self, *, max_lag: float = 0.002, window: float = 0.05, tick: float = 0.005) -> None:
        self.max_lag = max_lag
        self.window = window
        self.tick = tick
        self._lag = 0.0
        self._last_arrival = -1.0
        self._open = asyncio.Event()
        self._open.set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch(), name="ack-gate")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._open.set()

    def arrived(self) -> None:
        self._last_arrival = asyncio.get_running_loop().time()

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(self.tick)
            now = loop.time()
            self._lag += 0.3 * (now - started - self.tick - self._lag)
            if now - self._last_arrival < self.window and self._lag > self.max_lag:
                self._open.clear()
            else:
                self._open.set()

    async def wait(self, max_wait: float = 1.0) -> None:
        if self._open.is_set():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max_wait):
                await self._open.wait()


class InboxWriter:
    """Collects items from concurrent callbacks and commits them in batches (see `GroupCommit`)."""

    def __init__(
        self, db: Database, on_stored: Callable[[InboxItem], None], *, max_batch: int = 256,
        gate: AckGate | None = None, wake: tuple[str, str] | None = None,
    ) -> None:
        self.db = db
        self.wake = wake  # (channel, payload) each batch's statement notifies, see storage.inbox.add_batch
        self.gate = gate
        self.on_stored = on_stored
        self._group: GroupCommit[InboxItem, InboxItem | None] = GroupCommit(
            self._commit, max_batch=max_batch, parallel=db.batch_writers, name="inbox-writer")

    def start(self) -> None:
        self._group.start()
        if self.gate is not None:
            self.gate.start()

    async def stop(self) -> None:
        if self.gate is not None:
            await self.gate.stop()
        await self._group.stop()

    def submit(self, item: InboxItem) -> asyncio.Future[InboxItem | None]:
        """Durably store the item: the stored row once committed, None when it was a duplicate of one
        stored before (a future, not a coroutine: one frame less on every ack)."""
        if self.gate is not None:
            self.gate.arrived()
        return self._group.submit(item)

    async def _commit(self, items: list[InboxItem]) -> list[InboxItem | None]:
        # a repeated key inside one batch conflicts with its first copy and comes back as None
        results = await add_batch(self.db, items, wake=self.wake)
        metrics.INBOX_BATCH.observe(len(items))
        for stored in results:
            if stored is not None:
                self.on_stored(stored)
        return results


async def load_pending(db: Database) -> list[InboxItem]:
    """Everything accepted but not yet processed, e.g. after a crash, in arrival order."""
    items: list[InboxItem] = []
    after = 0
    while True:
        async with db.read() as tx:
            chunk = await tx.repo(InboxRepo).pending(limit=1000, after_id=after)
        if not chunk:
            return items
        items.extend(chunk)
        after = chunk[-1].id
