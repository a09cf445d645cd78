"""Long read-only queries that must not hold the event loop.

Statements usually run inline on the event loop (microseconds on an indexed file; see
`storage/sqlite.py`). A page of the finance API's expense list over a million rows is not that: it
reads hundreds of rows, their timelines and a count. Run inline it would hold every callback ack
behind it, so such reads go through `ThreadReads.run(fn)`:
- on SQLite, `fn` gets a consistent snapshot on a connection of its own in a worker thread (SQLite
  releases the GIL while it works). Its statements complete without suspending, so the coroutine is
  driven to its end right there in the thread;
- on PostgreSQL the work happens in the server anyway: `fn` runs on a pooled read transaction.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from storage.db import Database, Tx
from storage.sqlite import SqliteDatabase, SqliteTx

R = TypeVar("R")


def finish(coro: Coroutine[Any, Any, R]) -> R:
    """Run a coroutine that never waits (SQLite statements are synchronous) to its result."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("a thread read may only run SQLite statements")


class ThreadReads:
    def __init__(self, connections: int = 2) -> None:
        self.db: Database | None = None
        self._slots = asyncio.Semaphore(connections)
        self._idle: list[sqlite3.Connection] = []

    def open(self, db: Database) -> None:
        self.db = db

    async def run(self, fn: Callable[[Tx], Awaitable[R]]) -> R:
        """`fn(tx)` inside one read transaction, off the event loop's critical path."""
        assert self.db is not None, "ThreadReads.open() first"
        if not isinstance(self.db, SqliteDatabase):
            async with self.db.read() as tx:
                return await fn(tx)
        async with self._slots:
            conn = self._idle.pop() if self._idle else await asyncio.to_thread(self._connect, self.db)
            try:
                return await asyncio.to_thread(self._snapshot, conn, fn)
            finally:
                self._idle.append(conn)

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()

    @staticmethod
    def _connect(db: SqliteDatabase) -> sqlite3.Connection:
        conn = sqlite3.connect(db.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA query_only = ON")
        conn.execute("PRAGMA busy_timeout = 5000")
        return conn

    @staticmethod
    def _snapshot(conn: sqlite3.Connection, fn: Callable[[Tx], Awaitable[R]]) -> R:
        conn.execute("BEGIN")
        try:
            return finish(fn(SqliteTx(conn)))  # type: ignore[arg-type]
        finally:
            conn.execute("ROLLBACK")
