"""Feeds the dispatcher with inbox items: those this process stored and those others stored.

- `LocalFeed` (SQLite): this process is the file's one worker. Items it stores go straight to the
  dispatcher; items edge processes stored are noticed through `PRAGMA data_version` (a counter the
  file bumps on every commit by another connection), read every 50 ms without touching the disk.
  So callbacks keep their order when they all come one way: to one `all` process, or to edges
  (a worker's own items, uploads and timers, go at once either way).
- `FleetFeed` (PostgreSQL): any number of instances. An instance handles a user's messages only
  while it holds the user's claim (`storage/fleet.py`), so one user's messages still run one at a
  time and in order across the fleet. It claims the users of pending messages when woken by a
  NOTIFY (`bot/runtime/bus.py`) and on its own every few seconds, renews its claims while it works,
  and gives a claim back as soon as the user's queue here runs dry. Items are dispatched only from a
  read of the inbox, in id order: a message acknowledged before another was received has the lower
  id and is committed, so any read that returns the later one returns it too. A killed instance's claims run
  out after `ttl` seconds and are taken over; its unfinished items are still pending (their done mark
  never committed), and an item finished twice commits once (see `Worker`).
"""

from __future__ import annotations

import asyncio
import logging

from bot.runtime.dispatcher import Dispatcher
from bot.runtime.pump import Pump
from storage.fleet import ClaimRepo
from storage.inbox import InboxItem, InboxRepo
from storage.postgres import PostgresDatabase
from storage.sqlite import SqliteDatabase

log = logging.getLogger(__name__)


class LocalFeed(Pump):
    name = "inbox-feed"

    def __init__(self, db: SqliteDatabase, dispatcher: Dispatcher, *, every: float = 0.05) -> None:
        super().__init__()
        self.db = db
        self.dispatcher = dispatcher
        self.every = every
        self._seen = -1
        self._after = 0

    def offer(self, item: InboxItem) -> None:
        self.dispatcher.dispatch(item)

    async def settled(self) -> bool:
        """Nothing stored here waits to be dispatched (it is dispatched as it is stored)."""
        return True

    async def pump(self) -> float:
        version = self.db.changes_seen()
        if version == self._seen:
            return self.every
        self._seen = version
        while True:  # rows commit in id order on SQLite: everything new is above the last id read
            async with self.db.read() as tx:
                repo = tx.repo(InboxRepo)
                ids = await repo.pending_ids(after_id=self._after, limit=1000)
                unseen = [i for i in ids if not self.dispatcher.knows(i)]  # most were stored here
                items = await repo.by_ids(unseen) if unseen else []
            for item in items:
                self.dispatcher.dispatch(item)
            if ids:
                self._after = ids[-1]
            if len(ids) < 1000:
                return self.every


class FleetFeed(Pump):
    name = "inbox-claims"

    def __init__(self, db: PostgresDatabase, dispatcher: Dispatcher, owner: str, *, ttl: float = 15.0) -> None:
        super().__init__()
        self.db = db
        self.dispatcher = dispatcher
        self.owner = owner
        self.ttl = ttl
        self._held: set[str] = set()
        self._idle: set[str] = set()
        self._renew_at = 0.0
        dispatcher.on_idle = self._went_idle

    def offer(self, item: InboxItem) -> None:
        """An item this instance stored or put back: look for work now. Never dispatched directly,
        even when its user is ours: an earlier message of that user stored by another instance may
        not have been read here yet, and only a read of the inbox returns both, in order."""
        self.wake()

    def _went_idle(self, user_id: str) -> None:
        self._idle.add(user_id)
        self.wake()

    async def pump(self) -> float:
        loop = asyncio.get_running_loop()
        await self._release()
        if loop.time() >= self._renew_at:
            self._renew_at = loop.time() + self.ttl / 3
            if self._held:
                await self.db.write_batch(lambda tx: tx.repo(ClaimRepo).renew(self.owner, self.ttl))
        await self._claim()
        return self.ttl / 3

    async def _claim(self) -> int:
        """Claim users with pending messages and dispatch those; how many were new here."""
        users = await self.db.write_batch(lambda tx: tx.repo(ClaimRepo).claim(self.owner, self.ttl))
        if not users:
            return 0
        self._held.update(users)
        async with self.db.read() as tx:
            items = await tx.repo(ClaimRepo).pending_of(users)
        new = [item for item in items if not self.dispatcher.knows(item.id)]
        for item in new:
            self.dispatcher.dispatch(item)
        for user in set(users) - {i.user_id for i in items}:  # finished meanwhile: give it back
            self._went_idle(user)
        return len(new)

    async def settled(self) -> bool:
        """No pending message that this instance could claim is waiting (tests and benchmarks ask
        this to know that everything acknowledged so far is being handled)."""
        return await self._claim() == 0 and self.dispatcher.depth == 0

    async def _release(self) -> None:
        done = [u for u in self._idle if not self.dispatcher.busy_with(u)]
        self._idle.clear()
        if not done:
            return
        self._held.difference_update(done)  # before the await: new items for them go through a claim
        await self.db.write_batch(lambda tx: tx.repo(ClaimRepo).release(self.owner, done))

    async def stop(self) -> None:
        await super().stop()
        self._held.clear()
        try:
            await self.db.write_batch(lambda tx: tx.repo(ClaimRepo).release_all(self.owner))
        except Exception as exc:  # they run out by themselves
            log.warning("could not give back inbox claims (%s)", exc)
