"""Schema, migrations and repositories over aiosqlite; every SQL statement of the bot lives here."""

from storage.db import Database, Tx

__all__ = ["Database", "Tx"]
