"""The SQLite database: one writer connection behind a lock, one reader, versioned migrations.

SQLite allows one writer at a time, so the bot serialises writes itself instead of letting
connections fight over the file lock: a transaction is short (handlers do slow I/O before they
open one), and the group-committed inbox shares the same writer.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

log = logging.getLogger(__name__)

Row = aiosqlite.Row
R = TypeVar("R")


class Tx:
    """A connection inside an open transaction, handed to repositories."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn
        self._after_commit: list[Callable[[], None]] = []
        self._repos: dict[type, Any] = {}

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Cursor:
        return await self.conn.execute(sql, params)

    async def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> aiosqlite.Cursor:
        return await self.conn.executemany(sql, params)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        rows = await self.conn.execute_fetchall(sql, params)  # one thread hop, not three
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(await self.conn.execute_fetchall(sql, params))

    async def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        cur = await self.conn.execute(sql, params)
        return int(cur.lastrowid or 0)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the transaction is durable (e.g. wake a sender)."""
        self._after_commit.append(callback)

    def repo(self, cls: type[R]) -> R:
        """One repository instance per class and transaction."""
        if cls not in self._repos:
            self._repos[cls] = cls(self)  # type: ignore[call-arg]
        return self._repos[cls]  # type: ignore[no-any-return]


class PriorityLock:
    """A FIFO lock where urgent waiters go first: inbox commits (acks wait on them) jump the queue
    of handler transactions instead of waiting behind every one of them."""

    def __init__(self) -> None:
        self._locked = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    @asynccontextmanager
    async def hold(self, *, urgent: bool = False) -> AsyncIterator[None]:
        if self._locked or self._urgent or (self._normal and not urgent):
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            (self._urgent if urgent else self._normal).append(fut)
            try:
                await fut
            except BaseException:
                if fut.done() and not fut.cancelled():
                    self._release()  # we were handed the lock while being cancelled
                else:
                    (self._urgent if urgent else self._normal).remove(fut)
                raise
        else:
            self._locked = True
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        for queue in (self._urgent, self._normal):
            while queue:
                fut = queue.popleft()
                if not fut.done():
                    fut.set_result(None)  # ownership passes directly; _locked stays True
                    return
        self._locked = False


class Database:
    """Owns the connections; `transaction()` for writes, `read()` for snapshot reads."""

    def __init__(self, path: Path | str, *, synchronous: str = "NORMAL") -> None:
        self.path = Path(path)
        self.synchronous = synchronous
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = PriorityLock()
        self._read_lock = asyncio.Lock()

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = await self._connect()
        await self._writer.execute(f"PRAGMA synchronous={self.synchronous}")
        await migrate(self._writer)
        self._reader = await self._connect()

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=5000")
        return conn

    async def close(self) -> None:
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """A write transaction; commits on success, rolls back on any exception."""
        assert self._writer is not None, "database is not open"
        async with self._write_lock.hold():
            tx = Tx(self._writer)
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield tx
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            await self._writer.execute("COMMIT")
        for callback in tx._after_commit:
            callback()

    async def write_batch(self, fn: Callable[[sqlite3.Connection], R]) -> R:
        """Run `fn` as one transaction entirely on the writer's thread: one hop for a whole batch.

        The hot path (the group-committed inbox) uses this so a batch of callbacks costs one
        thread switch instead of several per row. `fn` gets the plain sqlite3 connection.
        """
        assert self._writer is not None, "database is not open"

        def run(conn: sqlite3.Connection) -> R:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        async with self._write_lock.hold(urgent=True):
            writer = self._writer
            return await writer._execute(run, writer._conn)  # aiosqlite's thread runner (pinned version)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """A consistent read-only snapshot that never waits for writers."""
        assert self._reader is not None, "database is not open"
        async with self._read_lock:
            await self._reader.execute("BEGIN")
            try:
                yield Tx(self._reader)
            finally:
                await self._reader.execute("ROLLBACK")

    async def ping(self) -> bool:
        try:
            async with self.read() as tx:
                row = await tx.fetchone("SELECT 1")
            return row is not None
        except Exception:  # health checks report, they never raise
            log.exception("database ping failed")
            return False


def _migration_files() -> list[tuple[int, str, str]]:
    folder = resources.files("storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)


async def migrate(conn: aiosqlite.Connection) -> list[str]:
    """Apply every migration newer than the recorded version, each in its own transaction."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)"
    )
    async with conn.execute("SELECT version FROM schema_migrations") as cur:
        done = {row[0] for row in await cur.fetchall()}
    applied = []
    for version, name, sql in _migration_files():
        if version in done:
            continue
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(sql):
                await conn.execute(statement)
            await conn.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (version, name))
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")
        applied.append(name)
        log.info("applied migration %s", name)
    return applied


def _statements(sql: str) -> list[str]:
    """Split a migration on semicolons at line ends (migrations keep one statement per block)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";\n") if part.strip().rstrip(";")]
