"""The per-user ordered dispatcher: one user's messages run strictly in arrival order, while
different users run concurrently. What a message needs first (a download, an invoice read) is done
outside the processing slots, so a burst of photos never holds up approvals; only the handling
itself (one short transaction) waits for a slot."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from bot.ops import metrics
from storage.inbox import InboxItem

log = logging.getLogger(__name__)

Handler = Callable[[InboxItem, Any], Awaitable[None]]
Prepare = Callable[[InboxItem], Awaitable[Any]]


async def _nothing(item: InboxItem) -> None:
    return None


class Dispatcher:
    """Runs `prepare` then `handler` for each item: in order per user, concurrently across users, at
    most `concurrency` handlers at a time."""

    def __init__(
        self, handler: Handler, *, prepare: Prepare = _nothing, concurrency: int = 16,
        gate: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.handler = handler
        self.prepare = prepare
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
                try:
                    prepared = await self.prepare(item)
                    async with self._slots:
                        if self.gate is not None:  # inside the slot: at most `concurrency` items pass per wait
                            await self.gate()
                        await self.handler(item, prepared)
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
