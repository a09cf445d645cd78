"""Long read-only queries on connections of their own, run in worker threads.

Statements usually run inline on the event loop (microseconds on an indexed file; see
`storage/db.py`). A page of the finance API's expense list over a million rows is not that: it reads
hundreds of rows, their timelines and a count. Run inline it would hold every callback ack behind
it, so such reads go through `ThreadReads.run`, which gives a function a consistent snapshot on a
connection of its own in a worker thread (SQLite releases the GIL while it works).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

R = TypeVar("R")


class ThreadReads:
    def __init__(self, connections: int = 2) -> None:
        self.path: Path | None = None
        self._slots = asyncio.Semaphore(connections)
        self._idle: list[sqlite3.Connection] = []

    def open(self, path: Path) -> None:
        self.path = path

    async def run(self, fn: Callable[[sqlite3.Connection], R]) -> R:
        """`fn(connection)` inside one read transaction, in a worker thread."""
        async with self._slots:
            conn = self._idle.pop() if self._idle else await asyncio.to_thread(self._connect)
            try:
                return await asyncio.to_thread(self._snapshot, conn, fn)
            finally:
                self._idle.append(conn)

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()

    def _connect(self) -> sqlite3.Connection:
        assert self.path is not None, "ThreadReads.open() first"
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA query_only = ON")
        conn.execute("PRAGMA busy_timeout = 5000")
        return conn

    @staticmethod
    def _snapshot(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], R]) -> R:
        conn.execute("BEGIN")
        try:
            return fn(conn)
        finally:
            conn.execute("ROLLBACK")
