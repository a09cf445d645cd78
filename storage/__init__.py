"""Schema, migrations and repositories over SQLite; every SQL statement lives here."""

from storage.db import Database, Tx

__all__ = ["Database", "Tx"]
