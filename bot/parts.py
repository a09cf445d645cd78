"""The running bot as its plugins see it: every long-lived part, reachable as `app[BOT]`.

The composition root (`bot.core`) builds a `Bot`; plugins (finance API, webhooks, H5 pages) import
this module, never the root, so nothing imports the root back.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from bot.runtime.bus import Bus
from bot.runtime.clock import Clock
from bot.runtime.contexts import outside_context
from bot.runtime.dispatcher import Dispatcher
from bot.runtime.inbox import InboxWriter
from bot.runtime.leases import Leases
from bot.runtime.ocr_workers import OcrWorkers
from bot.runtime.pump import Pump
from bot.runtime.scheduler import Scheduler
from bot.wecom.client import WeComClient
from bot.wecom.orgsync import OrgSync
from bot.wecom.sender import OutboundSender
from chat.context import Context, Services
from config import Settings
from storage.db import Database, Tx
from storage.reads import ThreadReads


@dataclass
class Bot:
    settings: Settings
    clock: Clock
    db: Database
    client: WeComClient
    writer: InboxWriter
    dispatcher: Dispatcher
    sender: OutboundSender
    scheduler: Scheduler
    orgsync: OrgSync
    services: Services
    ocr: OcrWorkers
    bus: Bus
    reads: ThreadReads  # snapshot connections in worker threads for long reads (gateway.long_read)
    leases: Leases | None = None  # PostgreSQL: the loops that run once per fleet
    extras: dict[str, Any] = field(default_factory=dict)
    _solo: dict[str, Pump] = field(default_factory=dict)

    def run_once(self, name: str, pump: Pump) -> None:
        """Start a loop that must run once per fleet: here (SQLite, one worker), or wherever its
        lease is held (PostgreSQL)."""
        if self.leases is None:
            self._solo[name] = pump
            pump.start()
        else:
            self.leases.add(name, pump)
            self.leases.wake()

    def running_here(self) -> list[str]:
        if self.leases is None:
            return list(self._solo)
        return [solo.name for solo in self.leases.loops if solo.running]

    async def stop_background(self) -> None:
        if self.leases is not None:
            await self.leases.stop()
        for pump in reversed(self._solo.values()):
            await pump.stop()

    async def idle(self, timeout: float = 10.0) -> None:
        """Wait until no inbox work is running or waiting to be claimed (tests and benchmarks)."""
        async with asyncio.timeout(timeout):
            while True:
                await self.dispatcher.wait_idle()
                if self.scheduler.name in self.running_here() and not self.scheduler.settled():
                    await asyncio.sleep(0.005)  # a timer set due at once is on its way to the inbox
                    continue
                feed = self.extras.get("feed")
                if feed is None or await feed.settled():
                    return

    def context(self, tx: Tx, action: str, *, user_id: str = "bot", source: str = "system") -> Context:
        """A handler context for work outside the inbox (API calls, pages, background jobs)."""
        return outside_context(self.services, tx, action, user_id=user_id, source=source)


BOT = web.AppKey("bot", Bot)


class Plugin(Protocol):
    """An optional part of the bot (finance API, webhooks, pages): routes now, loops at start."""

    def routes(self, app: web.Application) -> None: ...

    async def start(self, bot: Bot) -> None: ...

    async def stop(self) -> None: ...
