"""The SQLite backend: one writer connection behind a lock, one reader, versioned migrations.

SQLite allows one writer at a time, so the bot serialises writes itself instead of letting
connections fight over the file lock: a transaction is short (handlers do slow I/O before they
open one), and the group-committed inbox shares the same writer. Processes on one machine may share
the file (WAL): edges only append to the inbox, one worker does everything else. When another
process holds the file's write lock, the writer waits for it with asyncio sleeps, never inside
SQLite's busy handler, which would stop the whole event loop (and every acknowledgement) meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import aiosqlite

from storage.db import Database, Row, Tx, Unreachable, migration_files

log = logging.getLogger(__name__)

R = TypeVar("R")

LOCK_WAIT_LIMIT = 5.0  # seconds a write waits for another process's write lock before it fails
LOCK_RETRY = (0.0002, 0.005)  # first and longest pause between attempts


async def begin_immediate(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE on a connection without a busy timeout, retried off the event loop's back."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LOCK_WAIT_LIMIT
    pause = LOCK_RETRY[0]
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or loop.time() + pause > deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, LOCK_RETRY[1])


class SqliteTx(Tx):
    """Statements run inline: on an indexed local SQLite file one takes a few microseconds, while a
    hop to a worker thread and back costs about fifty times that. What can take long (an fsync'd
    commit, checkpoints) runs in a thread instead (see SqliteDatabase)."""

    backend: ClassVar[str] = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__()
        self.conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    async def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        self.conn.executemany(sql, params)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return self.conn.execute(sql, params).fetchone()

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self.conn.execute(sql, params).fetchall()

    async def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        return int(self.conn.execute(sql, params).lastrowid or 0)

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> AsyncIterator[Row]:
        cursor = self.conn.execute(sql, params)
        try:
            for row in cursor:
                yield row
        finally:  # an open cursor would keep the read snapshot alive past the transaction
            cursor.close()


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
                else:  # a release may already have popped (and skipped) our cancelled future
                    with contextlib.suppress(ValueError):
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


class SqliteDatabase(Database):
    """The writer and the reader are plain `sqlite3` connections used inline on the event loop (short,
    indexed statements take microseconds; a hop to a thread costs fifty times that). What can block
    on the disk runs in a thread instead: commits that fsync (`synchronous=FULL`) go through
    `asyncio.to_thread` while the write lock is held, and migrations and WAL checkpoints run on an
    aiosqlite connection of their own. Automatic checkpoints are off on the writer; a background task
    checkpoints every few seconds.
    """

    backend: ClassVar[str] = "sqlite"
    shared: ClassVar[bool] = False

    def __init__(self, path: Path | str, *, synchronous: str = "NORMAL", checkpoint_every: float = 2.0) -> None:
        self.path = Path(path)
        self.synchronous = synchronous
        self.checkpoint_every = checkpoint_every
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._maintenance: aiosqlite.Connection | None = None
        self._checkpoints: asyncio.Task[None] | None = None
        self._write_lock = PriorityLock()
        self._read_lock = asyncio.Lock()

    def describe(self) -> str:
        return str(self.path)

    async def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._maintenance = await aiosqlite.connect(self.path, isolation_level=None)
            await self._maintenance.execute("PRAGMA busy_timeout=5000")
            await self._maintenance.execute("PRAGMA journal_mode=WAL")
        except (OSError, sqlite3.Error) as exc:
            await self.close()
            raise Unreachable(f"{self.describe()}: {exc}") from None
        await self._maintenance.execute("PRAGMA foreign_keys=ON")
        await migrate(self._maintenance)
        self._writer = await asyncio.to_thread(self._connect)
        self._writer.execute("PRAGMA busy_timeout=0")  # see begin_immediate
        self._writer.execute(f"PRAGMA synchronous={self.synchronous}")
        self._writer.execute("PRAGMA wal_autocheckpoint=0")
        self._reader = await asyncio.to_thread(self._connect)
        self._checkpoints = asyncio.create_task(self._checkpoint_loop(), name="wal-checkpoints")

    def _connect(self) -> sqlite3.Connection:
        # shared with the thread that runs fsync'd commits, always under the write lock
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    async def close(self) -> None:
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            await asyncio.gather(self._checkpoints, return_exceptions=True)
            self._checkpoints = None
        for conn in (self._reader, self._writer):
            if conn is not None:
                conn.close()
        if self._maintenance is not None:
            await self._maintenance.close()
        self._maintenance = self._reader = self._writer = None

    async def checkpoint(self) -> None:
        """Copy the WAL back into the database file, off the event loop."""
        if self._maintenance is not None:
            await self._maintenance.execute("PRAGMA wal_checkpoint(PASSIVE)")

    async def _checkpoint_loop(self) -> None:
        while True:
            await asyncio.sleep(self.checkpoint_every)
            try:
                await self.checkpoint()
            except Exception:
                log.exception("WAL checkpoint failed")

    def changes_seen(self) -> int:
        """A number that changes whenever another connection (or process) committed: a cheap way
        for a worker to notice inbox rows an edge process wrote (`PRAGMA data_version`)."""
        row = self._open(self._reader).execute("PRAGMA data_version").fetchone()
        return int(row[0])

    @staticmethod
    def _open(conn: sqlite3.Connection | None) -> sqlite3.Connection:
        assert conn is not None, "database is not open"
        return conn

    async def _commit(self, conn: sqlite3.Connection) -> None:
        """COMMIT; when it fails (a deferred constraint, a full disk) roll back, so the connection
        is not left inside the transaction where every later BEGIN would fail."""
        try:
            if self.synchronous == "FULL":
                await asyncio.to_thread(conn.execute, "COMMIT")  # the fsync happens off the event loop
            else:
                conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """A write transaction; commits on success, rolls back on any exception."""
        conn = self._open(self._writer)
        async with self._write_lock.hold():
            tx = SqliteTx(conn)
            await begin_immediate(conn)
            try:
                yield tx
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            await self._commit(conn)
        tx.committed()

    async def write_batch(self, fn: Callable[[Tx], Awaitable[R]], *, one_statement: bool = False) -> R:
        conn = self._open(self._writer)
        async with self._write_lock.hold(urgent=True):
            await begin_immediate(conn)
            try:
                result = await fn(SqliteTx(conn))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            await self._commit(conn)
            return result

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """A consistent read-only snapshot that never waits for writers."""
        conn = self._open(self._reader)
        async with self._read_lock:
            conn.execute("BEGIN")
            try:
                yield SqliteTx(conn)
            finally:
                conn.execute("ROLLBACK")


async def migrate(conn: aiosqlite.Connection) -> list[str]:
    """Apply every migration newer than the recorded version, each in its own transaction."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)"
    )
    applied = []
    for version, name, sql in migration_files("sqlite"):
        await conn.execute("BEGIN IMMEDIATE")  # another process starting on the same file waits here
        try:
            async with conn.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (version,)) as cur:
                done = await cur.fetchone() is not None
            if not done:
                for statement in _statements(sql):
                    await conn.execute(statement)
                await conn.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (version, name))
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")
        if not done:
            applied.append(name)
            log.info("applied migration %s", name)
    return applied


def _statements(sql: str) -> list[str]:
    """Split a migration on semicolons at line ends (migrations keep one statement per block)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";\n") if part.strip().rstrip(";")]
