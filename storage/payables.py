"""Payables the finance platform tracks (an amount due on a date, with an owner to remind)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from storage.codec import from_db_time, from_fen, to_db_time, to_fen
from storage.db import Row, Tx

PAYABLE_STATUSES = ("open", "acknowledged", "paid")


@dataclass(frozen=True, slots=True)
class Payable:
    id: str
    title: str
    amount: Decimal | None
    due_date: date
    owner: str
    status: str
    note: str
    reminders: int
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    paid_at: datetime | None


@dataclass(frozen=True, slots=True)
class PayableInput:
    title: str
    amount: Decimal | None
    due_date: date
    owner: str
    status: str
    note: str


def _payable(row: Row) -> Payable:
    return Payable(
        id=row["id"],
        title=row["title"],
        amount=from_fen(row["amount_fen"]),
        due_date=date.fromisoformat(row["due_date"]),
        owner=row["owner"],
        status=row["status"],
        note=row["note"],
        reminders=row["reminders"],
        created_at=from_db_time(row["created_at"]),  # type: ignore[arg-type]
        updated_at=from_db_time(row["updated_at"]),  # type: ignore[arg-type]
        acknowledged_at=from_db_time(row["acknowledged_at"]),
        paid_at=from_db_time(row["paid_at"]),
    )


class PayableRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def upsert(self, payable_id: str, data: PayableInput, now: datetime) -> tuple[Payable, bool]:
        """Insert or update; a change of due date or owner re-opens an acknowledged payable."""
        before = await self.get(payable_id)
        status = data.status
        if before is not None and status == "open" and before.status == "acknowledged" and (
            before.due_date == data.due_date and before.owner == data.owner
        ):
            status = "acknowledged"
        paid_at = to_db_time(now) if status == "paid" else None
        await self.tx.execute(
            "INSERT INTO payables (id, title, amount_fen, due_date, owner, status, note, created_at, updated_at,"
            " paid_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET title = excluded.title,"
            " amount_fen = excluded.amount_fen, due_date = excluded.due_date, owner = excluded.owner,"
            " status = excluded.status, note = excluded.note, updated_at = excluded.updated_at,"
            " paid_at = COALESCE(payables.paid_at, excluded.paid_at)",
            (
                payable_id, data.title, None if data.amount is None else to_fen(data.amount),
                data.due_date.isoformat(), data.owner, status, data.note, to_db_time(now), to_db_time(now), paid_at,
            ),
        )
        payable = await self.get(payable_id)
        assert payable is not None
        return payable, before is None

    async def get(self, payable_id: str) -> Payable | None:
        row = await self.tx.fetchone("SELECT * FROM payables WHERE id = ?", (payable_id,))
        return None if row is None else _payable(row)

    async def acknowledge(self, payable_id: str, now: datetime) -> bool:
        cur = await self.tx.execute(
            "UPDATE payables SET status = 'acknowledged', acknowledged_at = ?, updated_at = ?"
            " WHERE id = ? AND status = 'open'",
            (to_db_time(now), to_db_time(now), payable_id),
        )
        return cur.rowcount == 1

    async def mark_paid(self, payable_id: str, now: datetime) -> bool:
        """Open or acknowledged -> paid; False when it was paid already (or does not exist)."""
        cur = await self.tx.execute(
            "UPDATE payables SET status = 'paid', paid_at = ?, updated_at = ? WHERE id = ? AND status <> 'paid'",
            (to_db_time(now), to_db_time(now), payable_id),
        )
        return cur.rowcount == 1

    async def count_reminder(self, payable_id: str) -> None:
        await self.tx.execute("UPDATE payables SET reminders = reminders + 1 WHERE id = ?", (payable_id,))
