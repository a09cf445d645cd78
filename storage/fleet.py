"""Coordination of several instances on one PostgreSQL database: per-user inbox claims, leases of
the loops that run once per fleet, and the shared WeCom access token.

A claim or lease is a row with an owner and an expiry on the database's clock. Taking one is a
single upsert that succeeds only when the row is free, expired, or already ours, so two instances
racing for it serialise on the row and exactly one wins. An owner renews what it holds well within
the expiry; a killed instance simply stops renewing, and its claims are taken over once they run out.
"""

from __future__ import annotations

from storage.db import Tx
from storage.inbox import InboxItem, item_from_row

# users whose oldest pending messages nobody (alive) holds; the window keeps a scan's cost bounded
_CLAIM = (
    "WITH wanted AS (SELECT DISTINCT i.user_id FROM (SELECT user_id FROM inbox WHERE status = 'pending'"
    " ORDER BY id LIMIT ?) i WHERE NOT EXISTS (SELECT 1 FROM inbox_claims c WHERE c.user_id = i.user_id"
    " AND c.owner <> ? AND c.expires_at > clock_timestamp()) LIMIT ?)"
    " INSERT INTO inbox_claims AS c (user_id, owner, expires_at)"
    " SELECT user_id, ?, clock_timestamp() + make_interval(secs => ?) FROM wanted"
    " ON CONFLICT (user_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at"
    " WHERE c.owner = excluded.owner OR c.expires_at <= clock_timestamp() RETURNING user_id"
)


class ClaimRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def claim(self, owner: str, seconds: float, *, users: int = 200, window: int = 2000) -> list[str]:
        """Take (or keep) the users with pending messages that no other live instance holds."""
        rows = await self.tx.fetchall(_CLAIM, (window, owner, users, owner, seconds))
        return [r[0] for r in rows]

    async def pending_of(self, users: list[str]) -> list[InboxItem]:
        rows = await self.tx.fetchall(
            "SELECT * FROM inbox WHERE status = 'pending' AND user_id = ANY(?::text[]) ORDER BY id", (users,))
        return [item_from_row(r) for r in rows]

    async def renew(self, owner: str, seconds: float) -> None:
        await self.tx.execute(
            "UPDATE inbox_claims SET expires_at = clock_timestamp() + make_interval(secs => ?) WHERE owner = ?",
            (seconds, owner))

    async def release(self, owner: str, users: list[str]) -> None:
        await self.tx.execute("DELETE FROM inbox_claims WHERE owner = ? AND user_id = ANY(?::text[])", (owner, users))

    async def release_all(self, owner: str) -> None:
        await self.tx.execute("DELETE FROM inbox_claims WHERE owner = ?", (owner,))

    async def holders(self) -> dict[str, str]:
        rows = await self.tx.fetchall("SELECT user_id, owner FROM inbox_claims WHERE expires_at > clock_timestamp()")
        return {r[0]: r[1] for r in rows}


class LeaseRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def take(self, name: str, owner: str, seconds: float) -> bool:
        """Take or renew the lease; False while another live instance holds it."""
        row = await self.tx.fetchone(
            "INSERT INTO leases AS l (name, owner, expires_at) VALUES (?, ?, clock_timestamp() + make_interval(secs => ?))"
            " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at"
            " WHERE l.owner = excluded.owner OR l.expires_at <= clock_timestamp() RETURNING owner",
            (name, owner, seconds))
        return row is not None

    async def drop(self, name: str, owner: str) -> None:
        await self.tx.execute("DELETE FROM leases WHERE name = ? AND owner = ?", (name, owner))

    async def holders(self) -> dict[str, str]:
        rows = await self.tx.fetchall("SELECT name, owner FROM leases WHERE expires_at > clock_timestamp()")
        return {r[0]: r[1] for r in rows}


class TokenRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def valid(self, key: str, margin: float) -> tuple[str, float] | None:
        """The stored token and its seconds left, when more than `margin` are left."""
        row = await self.tx.fetchone(
            "SELECT token, EXTRACT(EPOCH FROM expires_at - clock_timestamp()) FROM wecom_tokens WHERE key = ?", (key,))
        if row is None or float(row[1]) <= margin:
            return None
        return str(row[0]), float(row[1])

    async def put(self, key: str, token: str, seconds: float) -> None:
        await self.tx.execute(
            "INSERT INTO wecom_tokens (key, token, expires_at) VALUES (?, ?, clock_timestamp() + make_interval(secs => ?))"
            " ON CONFLICT (key) DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at",
            (key, token, seconds))

    async def drop(self, key: str, token: str) -> None:
        await self.tx.execute("DELETE FROM wecom_tokens WHERE key = ? AND token = ?", (key, token))
