"""The PostgreSQL backend: the shared store and queue when several instances run.

The repositories' SQL is the same as on SQLite; this module adapts it at the boundary:
- `?` parameters become `$1, $2, ...` (outside string literals), once per statement text;
- values are coerced to the parameter types PostgreSQL inferred, as SQLite's column affinity would
  (an int for a TEXT column is stored as its text, a bool for an integer as 0/1);
- `numeric` results (SUM over integers) come back as int when whole, like SQLite's;
- `rowcount` is read from the command tag, new ids from `RETURNING id`.

Transactions run at READ COMMITTED; what must be serial across instances says so with `Tx.lock`
(a transaction-scoped advisory lock), and rows are claimed with `FOR UPDATE SKIP LOCKED`.
Deadlocks and serialization failures surface as `Conflict`, which callers may simply retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

import asyncpg

from storage.db import Conflict, Database, Row, Tx, Unreachable, migration_files

log = logging.getLogger(__name__)

R = TypeVar("R")
MIGRATION_LOCK = 0x626F74  # session advisory lock: one instance migrates, the others wait
CONFLICTS = (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError)
_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\?")


def to_dollar(sql: str) -> str:
    """`?` → `$n`, leaving string literals alone."""
    count = 0

    def number(match: re.Match[str]) -> str:
        nonlocal count
        if match.group(0) != "?":
            return match.group(0)
        count += 1
        return f"${count}"

    return _PLACEHOLDER.sub(number, sql)


def _as_int(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str | Decimal | float):
        return int(value)
    return value


def _as_text(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else str(value)


def _as_float(value: Any) -> Any:
    return float(value) if isinstance(value, int | Decimal) else value


def _as_numeric(value: Any) -> Any:
    return Decimal(value) if isinstance(value, int | float | str) and not isinstance(value, bool) else value


COERCE: dict[str, Callable[[Any], Any]] = {
    "int2": _as_int, "int4": _as_int, "int8": _as_int,
    "text": _as_text, "varchar": _as_text, "bpchar": _as_text,
    "float4": _as_float, "float8": _as_float, "numeric": _as_numeric,
}


def _number(text: str) -> int | float:
    """numeric → int when whole (SUM of integers), else float (AVG), as SQLite answers."""
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(value)


class Statement:
    """A repository statement as PostgreSQL runs it: its text and how to coerce its parameters."""

    __slots__ = ("coercers", "sql")

    def __init__(self, sql: str, coercers: tuple[Callable[[Any], Any] | None, ...]) -> None:
        self.sql = sql
        self.coercers = coercers

    def args(self, params: Sequence[Any]) -> list[Any]:
        return [value if fix is None or value is None else fix(value)
                for fix, value in zip(self.coercers, params, strict=True)]


class Statements:
    """Translated statements by their SQLite text; each is prepared once to learn its parameter types."""

    def __init__(self) -> None:
        self._known: dict[str, Statement] = {}

    async def get(self, conn: asyncpg.Connection, sql: str) -> Statement:
        found = self._known.get(sql)
        if found is None:
            text = to_dollar(sql)
            prepared = await conn.prepare(text)
            found = Statement(text, tuple(COERCE.get(t.name) for t in prepared.get_parameters()))
            if len(self._known) < 4096:  # statements built with IN (?, ?, ...) vary; keep the cache bounded
                self._known[sql] = found
        return found


class PostgresTx(Tx):
    backend: ClassVar[str] = "postgres"

    def __init__(self, conn: asyncpg.Connection, statements: Statements) -> None:
        super().__init__()
        self.conn = conn
        self.statements = statements

    async def _statement(self, sql: str, params: Sequence[Any]) -> tuple[str, list[Any]]:
        stmt = await self.statements.get(self.conn, sql)
        return stmt.sql, stmt.args(params)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        text, args = await self._statement(sql, params)
        with _conflicts():
            return Result(await self.conn.execute(text, *args))

    async def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> None:
        batch = list(params)
        if not batch:
            return
        stmt = await self.statements.get(self.conn, sql)
        with _conflicts():
            await self.conn.executemany(stmt.sql, [stmt.args(p) for p in batch])

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        text, args = await self._statement(sql, params)
        with _conflicts():
            return await self.conn.fetchrow(text, *args)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        text, args = await self._statement(sql, params)
        with _conflicts():
            return list(await self.conn.fetch(text, *args))

    async def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        row = await self.fetchone(sql if "RETURNING" in sql.upper() else f"{sql} RETURNING id", params)
        return int(row[0]) if row is not None else 0

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> AsyncIterator[Row]:
        text, args = await self._statement(sql, params)
        async for row in self.conn.cursor(text, *args, prefetch=500):
            yield row

    async def lock(self, name: str) -> None:
        await self.conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", name)


class Result:
    """A command tag (`UPDATE 3`, `INSERT 0 1`) read as a rowcount."""

    __slots__ = ("rowcount",)

    def __init__(self, tag: str) -> None:
        last = tag.rsplit(" ", 1)[-1]
        self.rowcount = int(last) if last.isdigit() else -1


@contextlib.contextmanager
def _conflicts() -> Any:
    try:
        yield
    except CONFLICTS as exc:
        raise Conflict(str(exc)) from exc


class PostgresDatabase(Database):
    """A pool of connections; every instance of the bot opens its own against the same database."""

    backend: ClassVar[str] = "postgres"
    shared: ClassVar[bool] = True

    def __init__(self, url: str, *, pool_size: int = 10, batch_writers: int = 1) -> None:
        self.url = url
        self.pool_size = pool_size
        # one batch at a time makes the largest batches: least CPU per ack for the bot and the server;
        # more overlap round trips to a server on other machines (BOT_DB_BATCH_WRITERS)
        self.batch_writers = batch_writers
        self.statements = Statements()
        self._pool: asyncpg.Pool | None = None
        self._listener: asyncpg.Connection | None = None
        self._channels: dict[str, Callable[[str], None]] = {}
        self._watch: asyncio.Task[None] | None = None
        self._batch_pool: asyncpg.Pool | None = None

    def describe(self) -> str:
        parts = urlsplit(self.url)
        host = parts.hostname or "localhost"
        return f"postgresql://{host}:{parts.port or 5432}{parts.path}"

    async def open(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(self.url, min_size=1, max_size=self.pool_size, init=_setup,
                                                   statement_cache_size=1024)
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise Unreachable(f"{self.describe()}: {exc}") from None
        async with self._pool.acquire() as conn:
            await migrate(conn)
        # batches leave nothing behind (transaction-scoped locks only): no reset round trip on release
        self._batch_pool = await asyncpg.create_pool(self.url, min_size=1, max_size=self.batch_writers, init=_setup,
                                                     statement_cache_size=1024, reset=_nothing_to_reset)

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
            self._watch = None
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        if self._batch_pool is not None:
            await self._batch_pool.close()
            self._batch_pool = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @property
    def batch_pool(self) -> asyncpg.Pool:
        assert self._batch_pool is not None, "database is not open"
        return self._batch_pool

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "database is not open"
        return self._pool

    @asynccontextmanager
    async def _tx(self, **options: Any) -> AsyncIterator[PostgresTx]:
        async with self.pool.acquire() as conn:
            tx = PostgresTx(conn, self.statements)
            with _conflicts():
                async with conn.transaction(**options):
                    yield tx
        tx.committed()

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Tx]:
        return self._tx()

    def read(self) -> contextlib.AbstractAsyncContextManager[Tx]:
        return self._tx(isolation="repeatable_read", readonly=True)

    async def write_batch(self, fn: Callable[[Tx], Awaitable[R]], *, one_statement: bool = False) -> R:
        """On connections of their own: acknowledgements never wait for a pooled connection that
        handler transactions hold (SQLite's priority lock, here). Up to `batch_writers` batches
        commit at once, so a commit's round trips and WAL flush overlap the next batch's. One
        statement runs in its own implicit transaction: one round trip instead of three."""
        async with self.batch_pool.acquire() as conn:
            tx = PostgresTx(conn, self.statements)
            with _conflicts():
                if one_statement:
                    result = await fn(tx)
                else:
                    async with conn.transaction():
                        result = await fn(tx)
        tx.committed()
        return result

    # wake-ups between instances ------------------------------------------------------------------
    async def notify(self, channel: str, payload: str = "") -> None:
        """Tell every instance listening on `channel` (delivered once the statement commits)."""
        async with self.pool.acquire() as conn:
            await conn.execute("SELECT pg_notify($1, $2)", channel, payload)

    async def listen(self, channel: str, callback: Callable[[str], None]) -> None:
        """Call `callback(payload)` for each notification on `channel`; the connection is watched and
        opened again when it drops (the periodic scans cover what was missed meanwhile)."""
        self._channels[channel] = callback
        await self._connect_listener()
        if self._watch is None:
            self._watch = asyncio.create_task(self._keep_listening(), name="pg-listen")

    async def _connect_listener(self) -> None:
        if self._listener is None or self._listener.is_closed():
            self._listener = await asyncpg.connect(self.url)
            for name in self._channels:
                await self._listener.add_listener(name, self._deliver)
        else:
            for name in self._channels:
                await self._listener.add_listener(name, self._deliver)

    def _deliver(self, conn: object, pid: int, channel: str, payload: str) -> None:
        callback = self._channels.get(channel)
        if callback is not None:
            callback(payload)

    async def _keep_listening(self) -> None:
        while True:
            await asyncio.sleep(2.0)
            if self._listener is None or self._listener.is_closed():
                try:
                    self._listener = None
                    await self._connect_listener()
                    log.warning("listening for notifications again")
                except Exception as exc:
                    log.warning("cannot listen for notifications (%s); trying again", exc)


async def _nothing_to_reset(conn: asyncpg.Connection) -> None:
    return None


async def _setup(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("numeric", encoder=str, decoder=_number, schema="pg_catalog", format="text")


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply every PostgreSQL migration newer than the recorded version, each in its own transaction;
    instances starting together take turns on an advisory lock."""
    applied = []
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
    try:
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        done = {r[0] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for version, name, sql in migration_files("postgres"):
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, name)
            applied.append(name)
            log.info("applied migration %s", name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    return applied
