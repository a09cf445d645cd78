"""The shape every background loop of the bot shares: work when woken or when due, never die."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class Pump(ABC):
    """Runs `pump()` whenever woken, or after the delay its last run returned.

    Tasks started through `spawn` are tracked so `stop` can cancel them; a failing run is logged
    and retried a second later instead of ending the loop.
    """

    name = "pump"

    def __init__(self) -> None:
        self._wakeup = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._pumping = False

    @abstractmethod
    async def pump(self) -> float:
        """Do what is due; return how long to sleep if nothing wakes the loop."""

    def start(self) -> None:
        self._loops.append(asyncio.create_task(self._run(), name=self.name))

    async def stop(self) -> None:
        tasks = [*self._loops, *self._tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._loops.clear()

    def wake(self) -> None:
        self._wakeup.set()

    def settled(self) -> bool:
        """Neither woken nor running: what was signalled has been acted on (tests and benchmarks wait
        for this, e.g. for a timer set due at once to reach the inbox)."""
        return not self._wakeup.is_set() and not self._pumping

    def spawn(self, coro: Coroutine[Any, Any, None], name: str | None = None) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run(self) -> None:
        while True:
            self._wakeup.clear()
            self._pumping = True
            try:
                delay = await self.pump()
            except Exception:
                log.exception("%s failed", self.name)
                delay = 1.0
            finally:
                self._pumping = False
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel that races a wake-up
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wakeup.wait()
