"""Group-committed inbox writes and the per-user ordered dispatcher.

Writes: callbacks arriving together share one transaction (one fsync), so durability before the
ack costs little under load. Dispatch: one user's messages run strictly in arrival order, while
different users run concurrently up to a limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from bot.ops import metrics
from storage.db import Database
from storage.inbox import InboxItem, InboxRepo

log = logging.getLogger(__name__)

Handler = Callable[[InboxItem], Awaitable[None]]


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
    """Collects items from concurrent callbacks and commits them in batches."""

    def __init__(
        self, db: Database, on_stored: Callable[[InboxItem], None], *, max_batch: int = 256,
        gate: AckGate | None = None,
    ) -> None:
        self.db = db
        self.gate = gate
        self.on_stored = on_stored
        self.max_batch = max_batch
        self._pending: list[tuple[InboxItem, asyncio.Future[InboxItem | None]]] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="inbox-writer")
        if self.gate is not None:
            self.gate.start()

    async def stop(self) -> None:
        if self.gate is not None:
            await self.gate.stop()
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for _, fut in self._pending:
            if not fut.done():
                fut.set_exception(RuntimeError("inbox writer stopped"))

    async def submit(self, item: InboxItem) -> InboxItem | None:
        """Durably store the item; None when it was a duplicate of one stored before."""
        fut: asyncio.Future[InboxItem | None] = asyncio.get_running_loop().create_future()
        self._pending.append((item, fut))
        self._wakeup.set()
        if self.gate is not None:
            self.gate.arrived()
        return await asyncio.shield(fut)

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                await self._commit(batch)

    async def _commit(self, batch: list[tuple[InboxItem, asyncio.Future[InboxItem | None]]]) -> None:
        items = [item for item, _ in batch]
        try:
            # a repeated key inside one batch conflicts with its first copy and comes back as None
            results = await self.db.write_batch(lambda conn: InboxRepo.add_many_sync(conn, items))
        except Exception as exc:
            log.exception("inbox batch of %d failed", len(batch))
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return
        metrics.INBOX_BATCH.observe(len(batch))
        for (_, fut), stored in zip(batch, results, strict=True):
            if stored is not None:
                self.on_stored(stored)
            if not fut.done():
                fut.set_result(stored)


class Dispatcher:
    """Runs `handler` for each item: in order per user, concurrently across users."""

    def __init__(
        self, handler: Handler, *, concurrency: int = 16, gate: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self.handler = handler
        self.gate = gate
        self._queues: dict[str, deque[InboxItem]] = {}
        self._active: dict[str, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(concurrency)
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False

    def dispatch(self, item: InboxItem) -> None:
        if self._closed:
            return
        self._queues.setdefault(item.user_id, deque()).append(item)
        self._idle.clear()
        metrics.QUEUE_DEPTH.labels("inbox").inc()
        if item.user_id not in self._active:
            self._active[item.user_id] = asyncio.create_task(self._drain(item.user_id), name=f"user-{item.user_id}")

    async def _drain(self, user_id: str) -> None:
        queue = self._queues[user_id]
        try:
            while queue:
                item = queue[0]
                async with self._slots:
                    if self.gate is not None:  # inside the slot: at most `concurrency` items pass per wait
                        await self.gate()
                    try:
                        await self.handler(item)
                    except Exception:  # the handler records failures itself; never stop the queue
                        log.exception("inbox item %d crashed its handler", item.id)
                queue.popleft()
                metrics.QUEUE_DEPTH.labels("inbox").dec()
        finally:
            del self._active[user_id]
            if not queue:
                self._queues.pop(user_id, None)
            if not self._active:
                self._idle.set()

    @property
    def depth(self) -> int:
        return sum(len(q) for q in self._queues.values())

    async def wait_idle(self) -> None:
        await self._idle.wait()

    async def stop(self) -> None:
        """Stop taking work and cancel what runs; unfinished items stay pending in the inbox."""
        self._closed = True
        tasks = list(self._active.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


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
