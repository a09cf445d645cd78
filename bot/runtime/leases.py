"""Loops that must run once per fleet: the scheduler (timers, org sync, retention, audit anchor,
budget scan), the outbound sender and the webhook delivery.

On SQLite there is one worker, which simply runs them. On PostgreSQL each runs on the instance that
holds its lease (`storage/fleet.py`): every instance tries to take or renew each lease every
`ttl / 3` seconds, starts a loop when it gets its lease and stops it when it loses the lease (a pause
longer than `ttl`). A killed instance's loops start elsewhere within `ttl` seconds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.runtime.pump import Pump
from storage.fleet import LeaseRepo
from storage.postgres import PostgresDatabase

log = logging.getLogger(__name__)


@dataclass
class Solo:
    name: str
    pump: Pump
    running: bool = False


class Leases(Pump):
    name = "leases"

    def __init__(self, db: PostgresDatabase, owner: str, *, ttl: float = 15.0) -> None:
        super().__init__()
        self.db = db
        self.owner = owner
        self.ttl = ttl
        self.loops: list[Solo] = []

    def add(self, name: str, pump: Pump) -> None:
        self.loops.append(Solo(name, pump))

    async def pump(self) -> float:
        for solo in self.loops:
            held = await self.db.write_batch(lambda tx, s=solo: tx.repo(LeaseRepo).take(s.name, self.owner, self.ttl))
            if held and not solo.running:
                log.info("this instance now runs %s", solo.name)
                solo.pump.start()
                solo.running = True
            elif not held and solo.running:
                log.warning("lost the lease of %s; stopping it here", solo.name)
                await solo.pump.stop()
                solo.running = False
        return self.ttl / 3

    async def stop(self) -> None:
        await super().stop()
        for solo in self.loops:
            if solo.running:
                await solo.pump.stop()
                solo.running = False
                try:
                    await self.db.write_batch(lambda tx, s=solo: tx.repo(LeaseRepo).drop(s.name, self.owner))
                except Exception as exc:
                    log.warning("could not give back the lease of %s (%s)", solo.name, exc)
