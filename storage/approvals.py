"""Approval tasks: who is asked to decide which step of which expense, and the card they hold.

The route with its decisions is stored on the expense (history); this table is the working index:
what waits for whom (待办), which card a click belongs to, and whether a card can still be updated
(WeCom lets each response_code update a card once: one from the send, one per click).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.codec import from_db_time, to_db_time
from storage.db import Row, Tx

OPEN = "pending"


@dataclass(frozen=True, slots=True)
class ApprovalTask:
    id: int
    expense_id: int
    number: str
    step: int
    approver: str
    status: str
    task_id: str
    card_live: bool
    created_at: datetime
    decided_at: datetime | None
    comment: str

    @property
    def open(self) -> bool:
        return self.status == OPEN


def _task(row: Row) -> ApprovalTask:
    return ApprovalTask(
        id=row["id"],
        expense_id=row["expense_id"],
        number=row["number"],
        step=row["step"],
        approver=row["approver"],
        status=row["status"],
        task_id=row["task_id"],
        card_live=bool(row["card_live"]),
        created_at=from_db_time(row["created_at"]),  # type: ignore[arg-type]
        decided_at=from_db_time(row["decided_at"]),
        comment=row["comment"],
    )


class ApprovalRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def open_task(
        self, *, expense_id: int, number: str, step: int, approver: str, task_id: str, now: datetime
    ) -> ApprovalTask | None:
        """Ask `approver` for step `step`; None when they already have an open task there."""
        row = await self.tx.fetchone(
            "INSERT INTO approval_tasks (expense_id, number, step, approver, task_id, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
            (expense_id, number, step, approver, task_id, to_db_time(now)),
        )
        if row is None:
            return None
        return ApprovalTask(id=row[0], expense_id=expense_id, number=number, step=step, approver=approver,
                            status=OPEN, task_id=task_id, card_live=True, created_at=from_db_time(to_db_time(now)),
                            decided_at=None, comment="")

    async def by_task_id(self, task_id: str) -> ApprovalTask | None:
        row = await self.tx.fetchone("SELECT * FROM approval_tasks WHERE task_id = ?", (task_id,))
        return None if row is None else _task(row)

    async def by_id(self, row_id: int) -> ApprovalTask | None:
        row = await self.tx.fetchone("SELECT * FROM approval_tasks WHERE id = ?", (row_id,))
        return None if row is None else _task(row)

    async def open_for_expense(self, expense_id: int) -> list[ApprovalTask]:
        rows = await self.tx.fetchall(
            "SELECT * FROM approval_tasks WHERE expense_id = ? AND status = ? ORDER BY step, id", (expense_id, OPEN)
        )
        return [_task(r) for r in rows]

    async def open_for_approver(self, approver: str, limit: int = 50) -> list[ApprovalTask]:
        """What waits for this person, oldest first."""
        rows = await self.tx.fetchall(
            "SELECT * FROM approval_tasks WHERE approver = ? AND status = ? ORDER BY created_at, id LIMIT ?",
            (approver, OPEN, limit),
        )
        return [_task(r) for r in rows]

    async def close(self, row_id: int, status: str, now: datetime, comment: str = "") -> bool:
        """Close an open task; False when it was already closed (a replay or a race lost)."""
        cur = await self.tx.execute(
            "UPDATE approval_tasks SET status = ?, decided_at = ?, comment = ? WHERE id = ? AND status = ?",
            (status, to_db_time(now), comment, row_id, OPEN),
        )
        return cur.rowcount == 1

    async def set_card_live(self, row_id: int, live: bool) -> None:
        await self.tx.execute("UPDATE approval_tasks SET card_live = ? WHERE id = ?", (int(live), row_id))

    async def approvers_of(self, expense_id: int) -> set[str]:
        """Everyone ever asked about this expense (for who may see its timeline)."""
        rows = await self.tx.fetchall("SELECT DISTINCT approver FROM approval_tasks WHERE expense_id = ?",
                                      (expense_id,))
        return {r[0] for r in rows}
