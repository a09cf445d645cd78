"""Schema, migrations and repositories over SQLite or PostgreSQL; every SQL statement lives here."""

from storage.db import Database, Tx

__all__ = ["Database", "Tx"]
