"""Turns due timers into inbox items and runs the periodic jobs (org sync, inbox pruning).

A due timer becomes an inbox row in the same transaction that marks it fired, so it is handled
exactly once like any message, survives restarts, and is never sent twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.runtime.pump import Pump
from storage.db import Database
from storage.inbox import InboxItem, InboxRepo
from storage.timers import TimerRepo

log = logging.getLogger(__name__)


@dataclass
class PeriodicJob:
    name: str
    every: timedelta
    run: Callable[[], Awaitable[object]]
    next_at: datetime | None = None


class Scheduler(Pump):
    name = "scheduler"

    def __init__(
        self,
        db: Database,
        now: Callable[[], datetime],
        on_stored: Callable[[InboxItem], None],
        *,
        max_sleep: float = 30.0,
    ) -> None:
        super().__init__()
        self.db = db
        self.now = now
        self.on_stored = on_stored
        self.max_sleep = max_sleep
        self.jobs: list[PeriodicJob] = []

    def every(self, name: str, interval: timedelta, run: Callable[[], Awaitable[object]]) -> None:
        self.jobs.append(PeriodicJob(name, interval, run, self.now() + interval))

    def run_now(self, name: str) -> None:
        """Run a periodic job at once (e.g. the org sync an admin just confirmed), off schedule."""
        for job in self.jobs:
            if job.name == name:
                self.spawn(self._run_job(job), name=f"job-{job.name}-now")

    async def tick(self) -> int:
        """Fire everything due now; returns how many timers fired (tests call this after moving the clock)."""
        fired = await self._fire_timers()
        now = self.now()
        for job in self.jobs:
            if job.next_at is not None and job.next_at <= now:
                job.next_at = now + job.every
                self.spawn(self._run_job(job), name=f"job-{job.name}")
        return fired

    async def pump(self) -> float:
        await self.tick()
        return await self._sleep_for()

    async def _fire_timers(self) -> int:
        now = self.now()
        stored: list[InboxItem] = []
        async with self.db.transaction() as tx:
            timers = await tx.repo(TimerRepo).due(now)
            for timer in timers:
                payload = {"kind": timer.kind, "key": timer.key, "due_at": timer.due_at.isoformat(), **timer.payload}
                item = await tx.repo(InboxRepo).add(
                    InboxItem(
                        dedupe_key=f"timer:{timer.id}:{timer.due_at.isoformat()}",
                        source="timer",
                        user_id=str(timer.payload.get("user") or f"timer:{timer.kind}"),
                        msg_type="timer",
                        event=None,
                        payload=payload,
                        received_at=now,
                    )
                )
                await tx.repo(TimerRepo).mark_fired(timer.id, now)
                if item is not None:
                    stored.append(item)
        for item in stored:
            self.on_stored(item)
        return len(timers)

    async def _sleep_for(self) -> float:
        async with self.db.read() as tx:
            next_timer = await tx.repo(TimerRepo).next_due_at()
        candidates = [t for t in (next_timer, *(j.next_at for j in self.jobs)) if t is not None]
        if not candidates:
            return self.max_sleep
        return min(self.max_sleep, max(0.05, (min(candidates) - self.now()).total_seconds()))

    async def _run_job(self, job: PeriodicJob) -> None:
        try:
            await job.run()
        except Exception:
            log.exception("periodic job %s failed", job.name)
