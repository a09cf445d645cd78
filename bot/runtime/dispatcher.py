"""The per-user ordered dispatcher: one user's messages run strictly in arrival order, while
different users run concurrently. What a message needs first (a download, an invoice read) is done
outside the processing slots, so a burst of photos never holds up approvals; only the handling
itself (one short transaction) waits for a slot."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from typing import Any

from bot.ops import metrics
from storage.inbox import InboxItem

log = logging.getLogger(__name__)

Handler = Callable[[InboxItem, Any], Awaitable[None]]
Prepare = Callable[[InboxItem], Awaitable[Any]]
REMEMBER_FINISHED = 10_000  # ids handled lately: a scan that read them just before they finished skips them


async def _nothing(item: InboxItem) -> None:
    return None


class Dispatcher:
    """Runs `prepare` then `handler` for each item: in order per user, concurrently across users, at
    most `concurrency` handlers at a time.

    An item offered twice (stored here and seen again by a scan of the inbox) runs once: ids queued,
    running or finished lately are known. `on_idle(user)` is called when a user's queue runs dry
    (the fleet feed then gives up its claim on the user).
    """

    def __init__(
        self, handler: Handler, *, prepare: Prepare = _nothing, concurrency: int = 16,
        gate: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.handler = handler
        self.prepare = prepare
        self.gate = gate
        self.on_idle: Callable[[str], None] = lambda user_id: None
        self._queues: dict[str, deque[InboxItem]] = {}
        self._active: dict[str, asyncio.Task[None]] = {}
        self._known: set[int] = set()
        self._finished: OrderedDict[int, None] = OrderedDict()
        self._slots = asyncio.Semaphore(concurrency)
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False

    def dispatch(self, item: InboxItem) -> None:
        if self._closed or self.knows(item.id):
            return
        self._known.add(item.id)
        self._queues.setdefault(item.user_id, deque()).append(item)
        self._idle.clear()
        metrics.QUEUE_DEPTH.labels("inbox").inc()
        if item.user_id not in self._active:
            self._active[item.user_id] = asyncio.create_task(self._drain(item.user_id), name=f"user-{item.user_id}")

    def forget(self, item_id: int) -> None:
        """Let an item run again (it was put back to pending after it failed)."""
        self._finished.pop(item_id, None)

    def knows(self, item_id: int) -> bool:
        return item_id in self._known or item_id in self._finished

    def busy_with(self, user_id: str) -> bool:
        return user_id in self._active

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
                self._known.discard(item.id)
                self._finished[item.id] = None
                if len(self._finished) > REMEMBER_FINISHED:
                    self._finished.popitem(last=False)
                metrics.QUEUE_DEPTH.labels("inbox").dec()
        finally:
            del self._active[user_id]
            if not queue:
                self._queues.pop(user_id, None)
            else:  # cancelled: what was left is pending in the inbox and known no more
                for item in queue:
                    self._known.discard(item.id)
            if not self._active:
                self._idle.set()
            if not self._closed:
                self.on_idle(user_id)

    @property
    def depth(self) -> int:
        return sum(len(q) for q in self._queues.values())

    async def wait_idle(self) -> None:
        # an Event's waiter wakes a step after `set()`, by when new work may have cleared it again
        while not self._idle.is_set():
            await self._idle.wait()

    async def stop(self) -> None:
        """Stop taking work and cancel what runs; unfinished items stay pending in the inbox."""
        self._closed = True
        tasks = list(self._active.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
