"""What the daily prune may delete, table by table: finished rows past their retention, in batches.

Each rule names the table, what makes a row finished (never a pending or failed one, which people
still need) and the column that dates it. Batches keep each transaction short, so the writer lock
is never held long enough to delay acknowledgements. The audit log is not here: it is archived
and cut by `bot.runtime.retention`, which records the cut in the chain itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.codec import to_db_time
from storage.db import Tx


@dataclass(frozen=True, slots=True)
class Rule:
    table: str
    finished: str
    dated_by: str
    numbered: bool = True  # its ids are referred to: the newest row stays, so ids never restart
    key: str = "id"


INBOX = Rule("inbox", "status = 'done'", "received_at")  # WeCom stopped re-delivering long before
OUTBOUND = Rule("outbound", "status = 'sent'", "sent_at")
WEBHOOKS = Rule("webhook_events", "status = 'delivered'", "delivered_at")
IDEMPOTENCY = Rule("idempotency_keys", "1 = 1", "created_at", numbered=False, key="scope, key")


class RetentionRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def prune(self, rule: Rule, before: datetime, limit: int) -> int:
        """Delete up to `limit` finished rows dated before `before`; returns how many went. The newest
        row of a numbered table stays: SQLite numbers a new row after the largest id left (PostgreSQL's
        identity never goes back anyway), and ids must
        never restart (cursors like the events list's `next_after` and `失败消息 7` rely on them)."""
        newest = f" AND id < (SELECT MAX(id) FROM {rule.table})" if rule.numbered else ""
        cur = await self.tx.execute(
            f"DELETE FROM {rule.table} WHERE ({rule.key}) IN (SELECT {rule.key} FROM {rule.table}"
            f" WHERE {rule.finished} AND {rule.dated_by} < ?{newest} LIMIT ?)",
            (to_db_time(before), limit),
        )
        return cur.rowcount
