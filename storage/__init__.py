"""Schema, migrations and repositories over SQLite (connections from aiosqlite); every SQL statement lives here."""

from storage.db import Database, Tx

__all__ = ["Database", "Tx"]
