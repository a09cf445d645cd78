"""Wake-ups between instances: a committed change tells the loops that act on it.

`signal(name)` wakes this process's loops registered for `name` at once; on PostgreSQL it also
sends one NOTIFY (coalesced: at most one in flight per name, however many signals came meanwhile),
and every instance wakes its own loops when the notification arrives. Losing one costs only time:
each loop also looks for work on its own every few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from storage.db import Database
from storage.postgres import PostgresDatabase

log = logging.getLogger(__name__)

CHANNEL = "bot_wake"
INBOX = "inbox"  # new inbox rows: claim their users
OUTBOUND = "outbound"  # new outbound or webhook rows: the sender and the webhook delivery
TIMERS = "timers"  # a timer was set: the scheduler recomputes its sleep


class Bus:
    def __init__(self, db: Database) -> None:
        self.db = db if isinstance(db, PostgresDatabase) else None
        self._local: dict[str, list[Callable[[], None]]] = {}
        self._unsent: set[str] = set()
        self._sending: asyncio.Task[None] | None = None

    def on(self, name: str, wake: Callable[[], None]) -> None:
        self._local.setdefault(name, []).append(wake)

    def signal(self, name: str, *, notified: bool = False) -> None:
        """Wake the loops for `name` here and in every instance; `notified`: the change's own
        statement already told the others (see `notification`), so only this process is woken."""
        self._wake(name)
        if self.db is not None and not notified:
            self._unsent.add(name)
            if self._sending is None or self._sending.done():
                self._sending = asyncio.create_task(self._send(), name="bus-notify")

    @staticmethod
    def notification(name: str) -> tuple[str, str]:
        """(channel, payload) for a statement that notifies the other instances itself, in its own
        transaction, instead of a separate NOTIFY round trip after it."""
        return CHANNEL, name

    async def start(self) -> None:
        if self.db is not None:
            await self.db.listen(CHANNEL, self._received)

    async def stop(self) -> None:
        if self._sending is not None:
            self._sending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sending

    def _wake(self, name: str) -> None:
        for wake in self._local.get(name, ()):
            wake()

    def _received(self, payload: str) -> None:
        for name in payload.split(","):
            self._wake(name)

    async def _send(self) -> None:
        assert self.db is not None
        while self._unsent:
            names, self._unsent = ",".join(sorted(self._unsent)), set()
            try:
                await self.db.notify(CHANNEL, names)
            except Exception as exc:  # the periodic scans find the work anyway
                log.warning("could not notify other instances (%s)", exc)
