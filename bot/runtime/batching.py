"""Group commit: what callers submit while a commit runs goes together in the next one, so many
callers share one transaction (one fsync) and none waits for more than the commit before its own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """Runs `commit(items) -> results` (one result per item, in order) over batches of submissions.

    A batch that fails is committed again item by item, so one bad item fails alone and the others
    still get their results.
    """

    def __init__(self, commit: Callable[[list[T]], Awaitable[list[R]]], *, max_batch: int = 256,
                 parallel: int = 1, max_gather: float = 0.001, name: str = "group-commit") -> None:
        self.commit = commit
        self.max_batch = max_batch
        self.max_gather = max_gather
        self.name = name
        self.parallel = parallel
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._slots = asyncio.Semaphore(parallel)  # batches committing at once (a database with several writers)
        self._running: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        tasks = [*self._running, *([self._task] if self._task is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None
        for _, fut in self._pending:
            if not fut.done():
                fut.set_exception(RuntimeError(f"{self.name} stopped"))
        self._pending.clear()

    def submit(self, item: T) -> asyncio.Future[R]:
        """The item's result, once its batch has committed, to await. A caller that goes away cancels
        only its wait: the item stays in its batch and is committed all the same."""
        fut: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, fut))
        self._wakeup.set()
        return fut

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                await self._slots.acquire()  # meanwhile, later submissions join the next batch
                await self._gather()
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                if self.parallel == 1:  # one writer (SQLite): commit right here, no task to schedule
                    await self._commit_in_slot(batch)
                    continue
                task = asyncio.create_task(self._commit_in_slot(batch), name=self.name)
                self._running.add(task)
                task.add_done_callback(self._running.discard)

    async def _gather(self) -> None:
        """Let the loop finish what it is reading: while each pass of it brings more submissions,
        they join this batch, for at most `max_gather` seconds. A lone submission waits one pass; a
        burst goes as one batch, not as a small one and a big one in turn (each commit has a fixed
        cost); a steady stream, or passes made long by other work, cannot hold a batch back."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_gather
        seen = -1
        while seen != len(self._pending) < self.max_batch and loop.time() < deadline:
            seen = len(self._pending)
            await asyncio.sleep(0)

    async def _commit_in_slot(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            await self._commit(batch)
        finally:
            self._slots.release()

    async def _commit(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self.commit([item for item, _ in batch])
        except Exception as exc:
            if len(batch) > 1:
                log.warning("%s: a batch of %d failed (%s); committing its items one by one",
                            self.name, len(batch), exc)
                for one in batch:
                    await self._commit([one])
                return
            log.exception("%s: an item failed", self.name)
            with contextlib.suppress(asyncio.InvalidStateError):
                batch[0][1].set_exception(exc)
            return
        for (_, fut), result in zip(batch, results, strict=True):
            if not fut.done():
                fut.set_result(result)
