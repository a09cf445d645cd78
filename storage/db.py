"""The database seam: what repositories and the runtime see, whichever backend stores the data.

Two backends serve the same repositories: SQLite (`storage/sqlite.py`, the embedded default, one
file) and PostgreSQL (`storage/postgres.py`, the shared store and queue of several instances).
Repository SQL is written once, portable: `?` parameters (translated for PostgreSQL), `ON CONFLICT`,
`RETURNING`, recursive CTEs. What differs lives beside it: each backend's migrations (triggers,
types), its locking (`Tx.lock`), its batch insert (`Tx.backend` picks), and how `rowcount` and new
ids come back (`Done`, `Tx.insert`).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from importlib import resources
from typing import Any, ClassVar, Protocol, TypeVar

log = logging.getLogger(__name__)

R = TypeVar("R")
Row = Any  # sqlite3.Row or asyncpg.Record: both read by name (`row["id"]`) and by position (`row[0]`)


class Conflict(Exception):
    """The backend aborted a transaction because a concurrent one won (deadlock, serialization);
    running it again is safe and will usually succeed."""


class Unreachable(Exception):
    """The database could not be opened at all (no server there, refused, wrong password, a path
    that cannot hold a file): the operator's to fix, said in one line."""


class Done(Protocol):
    """What a write statement reports: how many rows it changed."""

    @property
    def rowcount(self) -> int: ...


class Tx(ABC):
    """A connection inside an open transaction, handed to repositories."""

    backend: ClassVar[str]

    def __init__(self) -> None:
        self._after_commit: list[Callable[[], None]] = []
        self._repos: dict[type, Any] = {}

    @abstractmethod
    async def execute(self, sql: str, params: Sequence[Any] = ()) -> Done: ...

    @abstractmethod
    async def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> None: ...

    @abstractmethod
    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    @abstractmethod
    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    @abstractmethod
    async def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run an INSERT into a table with an `id` column; the new row's id."""

    @abstractmethod
    def rows(self, sql: str, params: Sequence[Any] = ()) -> AsyncIterator[Row]:
        """Stream a large result without building a list (iterate inside `contextlib.aclosing`, so
        a loop left early closes the cursor at once)."""

    async def lock(self, name: str) -> None:
        """Hold `name` until this transaction ends, so writers of the same thing go one at a time
        (the audit chain's head). SQLite has one writer at a time already: nothing to do."""
        return None

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the transaction is durable (e.g. wake a sender)."""
        self._after_commit.append(callback)

    def committed(self) -> None:
        for callback in self._after_commit:
            callback()

    def repo(self, cls: type[R]) -> R:
        """One repository instance per class and transaction."""
        if cls not in self._repos:
            self._repos[cls] = cls(self)  # type: ignore[call-arg]
        return self._repos[cls]  # type: ignore[no-any-return]


class Database(ABC):
    """Owns the connections: `transaction()` for writes, `read()` for snapshot reads,
    `write_batch()` for the group-committed inbox (acknowledgements wait on it)."""

    backend: ClassVar[str]
    shared: ClassVar[bool]  # several processes (on several machines) may work on it at once

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Tx]: ...

    @abstractmethod
    def read(self) -> AbstractAsyncContextManager[Tx]: ...

    batch_writers: int = 1  # `write_batch` calls that may commit at the same time

    @abstractmethod
    async def write_batch(self, fn: Callable[[Tx], Awaitable[R]], *, one_statement: bool = False) -> R:
        """Run `fn` as one short transaction that goes before queued handler transactions.
        `one_statement`: `fn` runs a single statement, atomic by itself, so a server needs no
        BEGIN and COMMIT round trips around it."""

    @abstractmethod
    def describe(self) -> str:
        """Where the data is, without credentials (for logs and /healthz)."""

    async def ping(self) -> bool:
        try:
            async with self.read() as tx:
                row = await tx.fetchone("SELECT 1")
            return row is not None
        except Exception:  # health checks report, they never raise
            log.exception("database ping failed")
            return False


def migration_files(backend: str) -> list[tuple[int, str, str]]:
    """(version, name, sql) of a backend's migrations, in order: SQLite's in `migrations/`,
    PostgreSQL's beside them in `migrations/postgres/`."""
    folder = resources.files("storage") / "migrations"
    if backend == "postgres":
        folder = folder / "postgres"
    found = []
    for entry in folder.iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    return sorted(found)
