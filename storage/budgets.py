"""Budgets, their usage read from the `expense_usage` aggregate, and which thresholds were announced.

A budget covers a contiguous range of months (`month_from`..`month_to`, YYYY-MM text, so text order
is month order) and its department plus every department below it. Usage is summed from the
aggregate table the expense triggers keep exact, never from the expense rows themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from storage.codec import dumps, from_db_time, from_fen, loads, to_db_time, to_fen
from storage.db import Row, Tx

# Every department with every department below it (itself included), as (root, id) pairs.
_TREE = (
    "WITH RECURSIVE tree(root, id) AS (SELECT id, id FROM departments"
    " UNION SELECT department_id, department_id FROM budgets"
    " UNION SELECT t.root, d.id FROM departments d JOIN tree t ON d.parent_id = t.id)"
)


@dataclass(frozen=True, slots=True)
class BudgetInput:
    """What a caller sets on a budget; the id is the finance platform's own key."""

    department_id: int
    period: str
    month_from: str
    month_to: str
    category: str | None
    amount: Decimal
    owner: str
    alert_chat_id: str | None
    robot_key: str | None
    thresholds: tuple[int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Budget(BudgetInput):
    id: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Usage:
    used: Decimal
    pending: Decimal


def _budget(row: Row) -> Budget:
    return Budget(
        id=row["id"],
        department_id=row["department_id"],
        period=row["period"],
        month_from=row["month_from"],
        month_to=row["month_to"],
        category=row["category"],
        amount=from_fen(row["amount_fen"]),  # type: ignore[arg-type]
        owner=row["owner"],
        alert_chat_id=row["alert_chat_id"],
        robot_key=row["robot_key"],
        thresholds=tuple(loads(row["thresholds"])),
        created_at=from_db_time(row["created_at"]),  # type: ignore[arg-type]
        updated_at=from_db_time(row["updated_at"]),  # type: ignore[arg-type]
    )


def _usage(used_fen: int | None, pending_fen: int | None) -> Usage:
    return Usage(from_fen(used_fen or 0), from_fen(pending_fen or 0))  # type: ignore[arg-type]


_SUMS = "SUM(u.used_fen) AS used_fen, SUM(u.pending_fen) AS pending_fen"


class BudgetRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def upsert(self, budget_id: str, data: BudgetInput, now: datetime) -> tuple[Budget, bool]:
        """Insert or replace the budget's fields; returns it and whether it was created."""
        existed = await self.get(budget_id) is not None
        await self.tx.execute(
            "INSERT INTO budgets (id, department_id, period, month_from, month_to, category, amount_fen, owner,"
            " alert_chat_id, robot_key, thresholds, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET department_id = excluded.department_id, period = excluded.period,"
            " month_from = excluded.month_from, month_to = excluded.month_to, category = excluded.category,"
            " amount_fen = excluded.amount_fen, owner = excluded.owner, alert_chat_id = excluded.alert_chat_id,"
            " robot_key = excluded.robot_key, thresholds = excluded.thresholds, updated_at = excluded.updated_at",
            (
                budget_id, data.department_id, data.period, data.month_from, data.month_to, data.category,
                to_fen(data.amount), data.owner, data.alert_chat_id, data.robot_key,
                dumps(sorted(set(data.thresholds))), to_db_time(now), to_db_time(now),
            ),
        )
        budget = await self.get(budget_id)
        assert budget is not None
        return budget, not existed

    async def get(self, budget_id: str) -> Budget | None:
        row = await self.tx.fetchone("SELECT * FROM budgets WHERE id = ?", (budget_id,))
        return None if row is None else _budget(row)

    async def search(
        self, *, department_id: int | None = None, period: str | None = None, limit: int = 100, offset: int = 0
    ) -> tuple[list[Budget], int]:
        where = "WHERE department_id = COALESCE(?, department_id) AND period = COALESCE(?, period)"
        params = (department_id, period)
        rows = await self.tx.fetchall(
            f"SELECT * FROM budgets {where} ORDER BY department_id, month_from, id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        total = await self.tx.fetchone(f"SELECT COUNT(*) FROM budgets {where}", params)
        return [_budget(r) for r in rows], int(total[0]) if total else 0

    async def for_department(self, department_id: int, month_from: str, month_to: str) -> list[Budget]:
        """The department's own budgets whose months overlap the given range."""
        rows = await self.tx.fetchall(
            "SELECT * FROM budgets WHERE department_id = ? AND month_from <= ? AND month_to >= ?"
            " ORDER BY month_from, month_to, category IS NOT NULL, category, id",
            (department_id, month_to, month_from),
        )
        return [_budget(r) for r in rows]

    async def covering(self, department_ids: Iterable[int], month: str, category: str) -> list[Budget]:
        """Budgets an expense of that department (or one below it), month and category counts in."""
        ids = list(dict.fromkeys(department_ids))
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = await self.tx.fetchall(
            f"SELECT * FROM budgets WHERE department_id IN ({marks}) AND month_from <= ? AND month_to >= ?"
            " AND (category IS NULL OR category = ?) ORDER BY id",
            (*ids, month, month, category),
        )
        return [_budget(r) for r in rows]

    async def usage(self, department_id: int, month_from: str, month_to: str, category: str | None) -> Usage:
        """Usage of a department and those below it over a month range (one category, or all)."""
        row = await self.tx.fetchone(
            "WITH RECURSIVE tree(id) AS (SELECT CAST(? AS BIGINT) UNION SELECT d.id FROM departments d JOIN tree t"
            f" ON d.parent_id = t.id) SELECT {_SUMS} FROM tree t JOIN expense_usage u ON u.department_id = t.id"
            " WHERE u.period_month BETWEEN ? AND ? AND u.category = COALESCE(?, u.category)",
            (department_id, month_from, month_to, category),
        )
        return _usage(row[0], row[1]) if row else _usage(0, 0)

    async def daily(self, department_id: int, month_from: str, month_to: str,
                    category: str | None) -> list[tuple[date, Usage]]:
        """Usage per expense date (the department and those below it): the burn over a period."""
        rows = await self.tx.fetchall(
            "WITH RECURSIVE tree(id) AS (SELECT CAST(? AS BIGINT) UNION SELECT d.id FROM departments d JOIN tree t"
            " ON d.parent_id = t.id) SELECT e.expense_date,"
            " SUM(CASE WHEN e.status IN ('approved', 'paid') THEN e.amount_fen ELSE 0 END),"
            " SUM(CASE WHEN e.status = 'submitted' THEN e.amount_fen ELSE 0 END)"
            " FROM expenses e JOIN tree t ON e.department_id = t.id"
            " WHERE e.period_month BETWEEN ? AND ? AND (CAST(? AS TEXT) IS NULL OR e.category = ?)"
            " AND e.status IN ('submitted', 'approved', 'paid') GROUP BY e.expense_date ORDER BY e.expense_date",
            (department_id, month_from, month_to, category, category),
        )
        return [(date.fromisoformat(r[0]), _usage(r[1], r[2])) for r in rows]

    async def usage_all(self) -> dict[str, tuple[Budget, Usage]]:
        """Every budget with its usage in one statement (the full threshold scan)."""
        rows = await self.tx.fetchall(
            f"{_TREE} SELECT b.*, s.used_fen, s.pending_fen FROM budgets b LEFT JOIN ("
            f"SELECT x.id AS budget_id, {_SUMS} FROM budgets x JOIN tree t ON t.root = x.department_id"
            " JOIN expense_usage u ON u.department_id = t.id AND u.period_month BETWEEN x.month_from AND x.month_to"
            " AND (x.category IS NULL OR u.category = x.category) GROUP BY x.id) s ON s.budget_id = b.id"
        )
        return {r["id"]: (_budget(r), _usage(r["used_fen"], r["pending_fen"])) for r in rows}

    # threshold alert state -----------------------------------------------------------------------
    async def fired(self, budget_id: str) -> set[int]:
        rows = await self.tx.fetchall("SELECT threshold FROM budget_alerts WHERE budget_id = ?", (budget_id,))
        return {int(r[0]) for r in rows}

    async def mark_fired(self, budget_id: str, thresholds: Iterable[int], percent: Decimal, now: datetime) -> None:
        await self.tx.executemany(
            "INSERT INTO budget_alerts (budget_id, threshold, fired_at, percent) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (budget_id, threshold) DO NOTHING",
            [(budget_id, t, to_db_time(now), str(percent)) for t in thresholds],
        )

    async def rearm(self, budget_id: str, thresholds: Iterable[int]) -> None:
        await self.tx.executemany(
            "DELETE FROM budget_alerts WHERE budget_id = ? AND threshold = ?", [(budget_id, t) for t in thresholds]
        )
