"""Expenses, their BXyyyymmdd-nnnn numbers, invoice claims and timelines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from storage.codec import dumps, from_db_time, from_fen, loads, to_db_time, to_fen
from storage.db import Row, Tx

STATUSES = ("draft", "submitted", "approved", "rejected", "withdrawn", "paid")
OPEN_STATUSES = ("submitted",)


@dataclass(frozen=True, slots=True)
class Expense:
    id: int
    number: str
    status: str
    amount: Decimal
    currency: str
    category: str
    expense_date: date
    description: str
    submitter: str
    department_id: int
    invoice: dict[str, Any] | None
    invoice_key: str | None
    file_sha256: str | None
    invoice_lines: list[dict[str, Any]] | None  # every invoice when one expense files several
    route: list[dict[str, Any]]
    current_step: int
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None
    paid_at: datetime | None


@dataclass(frozen=True, slots=True)
class ExpenseEvent:
    id: int
    at: datetime
    actor: str
    action: str
    comment: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewExpense:
    amount: Decimal
    category: str
    expense_date: date
    description: str
    submitter: str
    department_id: int
    invoice: dict[str, Any] | None = None
    invoice_key: str | None = None
    file_sha256: str | None = None
    currency: str = "CNY"
    invoice_lines: tuple[dict[str, Any], ...] = ()  # several invoices as lines; `invoice` is the first
    line_keys: tuple[str, ...] = ()  # what each line claims (code + number or the 20-digit number)


def expense_from_row(row: Row) -> Expense:
    return Expense(
        id=row["id"],
        number=row["number"],
        status=row["status"],
        amount=from_fen(row["amount_fen"]),  # type: ignore[arg-type]
        currency=row["currency"],
        category=row["category"],
        expense_date=date.fromisoformat(row["expense_date"]),
        description=row["description"],
        submitter=row["submitter"],
        department_id=row["department_id"],
        invoice=loads(row["invoice"]),
        invoice_key=row["invoice_key"],
        file_sha256=row["file_sha256"],
        invoice_lines=loads(row["invoice_lines"]),
        route=loads(row["route"]) or [],
        current_step=row["current_step"],
        created_at=from_db_time(row["created_at"]),  # type: ignore[arg-type]
        updated_at=from_db_time(row["updated_at"]),  # type: ignore[arg-type]
        submitted_at=from_db_time(row["submitted_at"]),
        decided_at=from_db_time(row["decided_at"]),
        paid_at=from_db_time(row["paid_at"]),
    )


def event_from_row(row: Row) -> ExpenseEvent:
    return ExpenseEvent(row["id"], from_db_time(row["at"]), row["actor"], row["action"], row["comment"],  # type: ignore[arg-type]
                        loads(row["data"]))


class ExpenseRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def next_number(self, day: date) -> str:
        """BX + the submission day (business time zone) + a daily sequence."""
        key = day.strftime("%Y%m%d")
        row = await self.tx.fetchone(
            "INSERT INTO expense_numbers (day, last_seq) VALUES (?, 1) ON CONFLICT (day)"
            " DO UPDATE SET last_seq = expense_numbers.last_seq + 1 RETURNING last_seq",
            (key,),
        )
        assert row is not None
        return f"BX{key}-{int(row[0]):04d}"

    async def create(self, new: NewExpense, *, number: str, status: str, now: datetime) -> Expense:
        expense_id = await self.tx.insert(
            "INSERT INTO expenses (number, status, amount_fen, currency, category, expense_date, period_month,"
            " description, submitter, department_id, invoice, invoice_key, file_sha256, invoice_lines, created_at,"
            " updated_at, submitted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                number,
                status,
                to_fen(new.amount),
                new.currency,
                new.category,
                new.expense_date.isoformat(),
                new.expense_date.strftime("%Y-%m"),
                new.description,
                new.submitter,
                new.department_id,
                None if new.invoice is None else dumps(new.invoice),
                new.invoice_key,
                new.file_sha256,
                dumps(list(new.invoice_lines)) if new.invoice_lines else None,
                to_db_time(now),
                to_db_time(now),
                to_db_time(now) if status == "submitted" else None,
            ),
        )
        await self.tx.executemany(
            "INSERT INTO expense_invoice_claims (invoice_key, expense_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            [(key, expense_id) for key in new.line_keys],
        )
        created = await self.by_id(expense_id)
        assert created is not None
        return created

    async def by_id(self, expense_id: int) -> Expense | None:
        row = await self.tx.fetchone("SELECT * FROM expenses WHERE id = ?", (expense_id,))
        return None if row is None else expense_from_row(row)

    async def by_number(self, number: str) -> Expense | None:
        row = await self.tx.fetchone("SELECT * FROM expenses WHERE number = ?", (number.upper(),))
        return None if row is None else expense_from_row(row)

    async def claimed_by(self, *, invoice_key: str | None = None, file_sha256: str | None = None) -> str | None:
        """The number of a live expense that already claims this invoice (on any of its lines) or
        these file bytes."""
        live = "e.status NOT IN ('rejected', 'withdrawn')"
        queries = (
            (invoice_key, f"SELECT e.number FROM expenses e WHERE e.invoice_key = ? AND {live}"),
            (invoice_key, "SELECT e.number FROM expense_invoice_claims c JOIN expenses e ON e.id = c.expense_id"
                          f" WHERE c.invoice_key = ? AND {live}"),
            (file_sha256, f"SELECT e.number FROM expenses e WHERE e.file_sha256 = ? AND {live}"),
        )
        for value, sql in queries:
            if not value:
                continue
            row = await self.tx.fetchone(f"{sql} ORDER BY e.id LIMIT 1", (value,))
            if row is not None:
                return str(row[0])
        return None

    async def set_status(self, expense_id: int, status: str, now: datetime) -> None:
        assert status in STATUSES
        stamp = {"approved": "decided_at", "rejected": "decided_at", "withdrawn": "decided_at", "paid": "paid_at"}
        extra = f", {stamp[status]} = ?" if status in stamp else ""
        params: list[Any] = [status, to_db_time(now)]
        if extra:
            params.append(to_db_time(now))
        await self.tx.execute(f"UPDATE expenses SET status = ?, updated_at = ?{extra} WHERE id = ?", (*params, expense_id))

    async def set_route(self, expense_id: int, route: list[dict[str, Any]], current_step: int, now: datetime) -> None:
        await self.tx.execute(
            "UPDATE expenses SET route = ?, current_step = ?, updated_at = ? WHERE id = ?",
            (dumps(route), current_step, to_db_time(now), expense_id),
        )

    async def add_event(
        self, expense_id: int, *, at: datetime, actor: str, action: str, comment: str = "",
        data: dict[str, Any] | None = None,
    ) -> None:
        await self.tx.execute(
            "INSERT INTO expense_events (expense_id, at, actor, action, comment, data) VALUES (?, ?, ?, ?, ?, ?)",
            (expense_id, to_db_time(at), actor, action, comment, dumps(data or {})),
        )

    async def timeline(self, expense_id: int) -> list[ExpenseEvent]:
        rows = await self.tx.fetchall("SELECT * FROM expense_events WHERE expense_id = ? ORDER BY id", (expense_id,))
        return [event_from_row(r) for r in rows]

    async def by_submitter(self, user_id: str, limit: int = 10, status: str | None = None) -> list[Expense]:
        rows = await self.tx.fetchall(
            "SELECT * FROM expenses WHERE submitter = ? AND (CAST(? AS TEXT) IS NULL OR status = ?) ORDER BY id DESC LIMIT ?",
            (user_id, status, status, limit),
        )
        return [expense_from_row(r) for r in rows]

    async def in_department_tree(self, department_id: int, month_from: str, month_to: str,
                                 limit: int = 100) -> list[Expense]:
        """A department's expenses and those of the departments below it, over a month range, newest first."""
        rows = await self.tx.fetchall(
            "WITH RECURSIVE tree(id) AS (SELECT CAST(? AS BIGINT) UNION SELECT d.id FROM departments d JOIN tree t"
            " ON d.parent_id = t.id) SELECT e.* FROM expenses e JOIN tree t ON e.department_id = t.id"
            " WHERE e.period_month BETWEEN ? AND ? AND e.status <> 'draft' ORDER BY e.id DESC LIMIT ?",
            (department_id, month_from, month_to, limit),
        )
        return [expense_from_row(r) for r in rows]
