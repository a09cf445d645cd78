"""`BOT_DB` to a backend: a PostgreSQL URL, else a SQLite file path."""

from __future__ import annotations

from pathlib import Path

from storage.db import Database
from storage.postgres import PostgresDatabase
from storage.sqlite import SqliteDatabase


def is_postgres(target: str | Path) -> bool:
    return str(target).startswith(("postgresql://", "postgres://"))


def open_database(target: str | Path, *, synchronous: str = "NORMAL", pool_size: int = 10, batch_writers: int = 1
                  ) -> Database:
    """The backend `target` names (not opened yet)."""
    if is_postgres(target):
        return PostgresDatabase(str(target), pool_size=pool_size, batch_writers=batch_writers)
    return SqliteDatabase(Path(target), synchronous=synchronous)
