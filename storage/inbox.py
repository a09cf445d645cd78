"""The durable inbox: every accepted callback is a row before WeCom gets its answer."""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import orjson

from storage.codec import from_db_time, loads, to_db_time
from storage.db import Database, Row, Tx


@dataclass(frozen=True, slots=True)
class InboxItem:
    dedupe_key: str
    source: str
    user_id: str
    msg_type: str
    event: str | None
    payload: dict[str, Any]
    received_at: datetime
    id: int = 0
    attempts: int = 0
    error: str | None = None


def internal_item(name: str, key: str, now: datetime, *, user_id: str = "sys", **payload: Any) -> InboxItem:
    """Work the bot queues for itself (handled by `@router.internal(name)`); `key` makes it happen once."""
    return InboxItem(
        dedupe_key=f"internal:{name}:{key}",
        source="internal",
        user_id=user_id,
        msg_type="internal",
        event=None,
        payload={"name": name, **payload},
        received_at=now,
    )


_INSERT = (
    "INSERT INTO inbox (dedupe_key, source, user_id, msg_type, event, payload, received_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id"
)


# SQLite: one row of values per item, inserted in order (ids follow arrival)
@functools.lru_cache(maxsize=16)
def _insert_rows(count: int) -> str:
    return ("INSERT INTO inbox (dedupe_key, source, user_id, msg_type, event, payload, received_at) VALUES "
            + ",".join(["(?, ?, ?, ?, ?, ?, ?)"] * count) + " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key")


# PostgreSQL: the batch as arrays
_INSERT_MANY = (
    "INSERT INTO inbox (dedupe_key, source, user_id, msg_type, event, payload, received_at)"
    " SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])"
    " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id, dedupe_key"
)
# ... and the same statement telling the other instances (NOTIFY goes out when it commits): no second
# round trip. `wake` calls pg_notify for the first stored row only: once when the batch stored
# anything, never when all were repeats; joining it makes it run whenever a row was stored.
_INSERT_MANY_WAKING = (
    f"WITH stored AS ({_INSERT_MANY}),"
    " wake AS MATERIALIZED (SELECT pg_notify(?, ?) FROM (SELECT FROM stored LIMIT 1) AS one)"
    " SELECT stored.id, stored.dedupe_key FROM stored, wake"
)


def _params(item: InboxItem) -> tuple[Any, ...]:
    # on every ack: compact and unsorted, as json.dumps(ensure_ascii=False) wrote it, by a C encoder
    payload = orjson.dumps(item.payload, option=orjson.OPT_NON_STR_KEYS).decode()
    return (item.dedupe_key, item.source, item.user_id, item.msg_type, item.event, payload,
            to_db_time(item.received_at))


def item_from_row(row: Row) -> InboxItem:
    return InboxItem(
        id=row["id"],
        dedupe_key=row["dedupe_key"],
        source=row["source"],
        user_id=row["user_id"],
        msg_type=row["msg_type"],
        event=row["event"],
        payload=loads(row["payload"]),
        received_at=from_db_time(row["received_at"]),  # type: ignore[arg-type]
        attempts=row["attempts"],
        error=row["error"],
    )


async def add_batch(db: Database, items: list[InboxItem], *, wake: tuple[str, str] | None = None
                    ) -> list[InboxItem | None]:
    """`InboxRepo.add_many` as one group-committed write (before queued handler transactions). On
    PostgreSQL the batch is one statement, atomic by itself, so it needs no BEGIN/COMMIT round trips;
    SQLite inserts it in pieces inside its transaction."""
    return await db.write_batch(lambda tx: tx.repo(InboxRepo).add_many(items, wake=wake),
                                one_statement=db.backend == "postgres")


class InboxRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def add(self, item: InboxItem) -> InboxItem | None:
        """Insert unless the same message was accepted before; returns the stored row or None."""
        row = await self.tx.fetchone(_INSERT, _params(item))
        if row is None:
            return None
        return replace(item, id=row[0])

    async def add_many(self, items: list[InboxItem], *, wake: tuple[str, str] | None = None
                       ) -> list[InboxItem | None]:
        """Insert a batch (see Database.write_batch) in one statement; None marks a duplicate, also
        of an earlier item in the same batch (ON CONFLICT DO NOTHING skips a repeat inside it).
        `wake` = (channel, payload): on PostgreSQL, the statement itself notifies the instances
        listening there when it stored anything (on SQLite, other processes watch the file's version)."""
        if self.tx.backend == "postgres":
            columns = [list(c) for c in zip(*(_params(item) for item in items), strict=True)]
            if wake is None:
                rows = await self.tx.fetchall(_INSERT_MANY, columns)
            else:
                rows = await self.tx.fetchall(_INSERT_MANY_WAKING, [*columns, *wake])
        else:  # in power-of-two chunks: a few statement shapes, not one per batch size, in the statement cache
            rows, start = [], 0
            while start < len(items):
                chunk = items[start:start + (1 << (len(items) - start).bit_length() - 1)]
                rows += await self.tx.fetchall(_insert_rows(len(chunk)), [v for item in chunk for v in _params(item)])
                start += len(chunk)
        ids = {r[1]: r[0] for r in rows}
        stored: list[InboxItem | None] = []
        for item in items:
            new_id = ids.pop(item.dedupe_key, None)  # popped: a later copy in the batch is a duplicate
            stored.append(None if new_id is None else replace(item, id=new_id))
        return stored

    async def pending(self, limit: int = 1000, after_id: int = 0) -> list[InboxItem]:
        rows = await self.tx.fetchall(
            "SELECT * FROM inbox WHERE status = 'pending' AND id > ? ORDER BY id LIMIT ?", (after_id, limit)
        )
        return [item_from_row(r) for r in rows]

    async def pending_ids(self, *, after_id: int, limit: int) -> list[int]:
        """Ids of pending items after `after_id`, from the index alone."""
        rows = await self.tx.fetchall(
            "SELECT id FROM inbox WHERE status = 'pending' AND id > ? ORDER BY id LIMIT ?", (after_id, limit))
        return [r[0] for r in rows]

    async def by_ids(self, ids: list[int]) -> list[InboxItem]:
        marks = ",".join("?" * len(ids))
        rows = await self.tx.fetchall(f"SELECT * FROM inbox WHERE id IN ({marks}) ORDER BY id", ids)
        return [item_from_row(r) for r in rows]

    async def mark_done(self, item_id: int, when: datetime) -> bool:
        """Mark a pending item done; False when it was not pending (another instance finished it
        first), in which case the caller must roll its transaction back."""
        cur = await self.tx.execute(
            "UPDATE inbox SET status = 'done', processed_at = ?, attempts = attempts + 1"
            " WHERE id = ? AND status = 'pending'",
            (to_db_time(when), item_id),
        )
        return cur.rowcount == 1

    async def mark_failed(self, item_id: int, when: datetime, error: str) -> bool:
        """Record a failure of a pending item; False when another instance finished it meanwhile."""
        cur = await self.tx.execute(
            "UPDATE inbox SET status = 'failed', processed_at = ?, attempts = attempts + 1, error = ?"
            " WHERE id = ? AND status = 'pending'",
            (to_db_time(when), error[:2000], item_id),
        )
        return cur.rowcount == 1

    async def failed(self, limit: int = 20) -> list[InboxItem]:
        """Items whose handling failed, newest first, with `error` kept on the row."""
        rows = await self.tx.fetchall("SELECT * FROM inbox WHERE status = 'failed' ORDER BY id DESC LIMIT ?", (limit,))
        return [item_from_row(r) for r in rows]

    async def requeue(self, item_id: int) -> InboxItem | None:
        """Put a failed item back to pending so it is handled again; None unless it had failed."""
        row = await self.tx.fetchone(
            "UPDATE inbox SET status = 'pending', processed_at = NULL WHERE id = ? AND status = 'failed' RETURNING *",
            (item_id,),
        )
        return None if row is None else item_from_row(row)

    async def counts(self) -> dict[str, int]:
        rows = await self.tx.fetchall("SELECT status, COUNT(*) FROM inbox GROUP BY status")
        return {r[0]: r[1] for r in rows}

