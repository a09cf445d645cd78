"""Process figures straight from the data: counts and amounts, approval times, bottlenecks, delivery,
OCR, dialogs and feedback for a time window and (optionally) a set of departments.

Every figure is read from the tables the work itself writes (expenses, approval tasks, outbound,
invoice reads, dialog runs, feedback, ratings), never from counters kept since the last restart,
so it survives restarts and agrees with what happened. Durations are wall-clock time.

Definitions (the same in chat, the page, the digest and the API):
- filed = expenses submitted in the window; approved / rejected / withdrawn = expenses whose outcome
  was decided in the window; paid = paid in the window; amounts are their sums;
- a step's time runs from the step's first card to the decision that closed it (the rejection, or
  the approval that completed the step); steps closed in the window count;
- end to end runs from submission to the final decision, for expenses that needed a decision;
- an approver's wait runs from their card to their own decision; pending items are those open now;
- delivery: outbound messages created in the window by outcome (whole company only);
- OCR: invoice reads in the window; a filed expense whose amount, date and number were kept as read
  is a success without corrections.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from storage.codec import from_db_time, from_fen, loads, to_db_time
from storage.db import Row, Tx

DECIDED = ("approved", "rejected")


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime
    departments: frozenset[int] | None = None  # None: the whole company


@dataclass(frozen=True, slots=True)
class Durations:
    count: int
    average: timedelta | None
    median: timedelta | None
    p90: timedelta | None

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Durations:
        """Average, median and 90th percentile (nearest rank) of durations in seconds."""
        if not seconds:
            return cls(0, None, None, None)
        ordered = sorted(seconds)
        p90 = ordered[math.ceil(0.9 * len(ordered)) - 1]
        return cls(len(ordered), _td(statistics.fmean(ordered)), _td(statistics.median(ordered)), _td(p90))


def _td(seconds: float) -> timedelta:
    return timedelta(seconds=round(seconds))


@dataclass(frozen=True, slots=True)
class Counted:
    count: int = 0
    amount: Decimal = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class StepTime:
    name: str
    durations: Durations


@dataclass(frozen=True, slots=True)
class ApproverLoad:
    user_id: str
    decided: Durations  # their own decisions in the window: card → decision
    pending: int  # open now
    oldest_since: datetime | None


@dataclass(frozen=True, slots=True)
class WaitingItem:
    number: str
    approver: str
    step_name: str
    amount: Decimal
    since: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    total: int = 0
    sent: int = 0
    retried: int = 0
    parked: int = 0
    dropped: int = 0
    pending: int = 0

    @property
    def rate(self) -> Decimal | None:
        """Share of finished messages that reached their recipients, in percent."""
        finished = self.total - self.pending
        if not finished:
            return None
        return (Decimal(self.sent - self.dropped) * 100 / finished).quantize(Decimal("0.1"))


@dataclass(frozen=True, slots=True)
class Ocr:
    reads: int = 0
    unreadable: int = 0
    filed: int = 0
    filed_as_read: int = 0
    corrected: dict[str, int] = field(default_factory=dict)

    @property
    def success_rate(self) -> Decimal | None:
        """Reads that gave an invoice, in percent."""
        return _percent(self.reads - self.unreadable, self.reads)


@dataclass(frozen=True, slots=True)
class Dialogs:
    started: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    @property
    def completion_rate(self) -> Decimal | None:
        """Completed among the conversations that ended, in percent."""
        return _percent(self.outcomes.get("completed", 0), sum(self.outcomes.values()))


@dataclass(frozen=True, slots=True)
class Feedback:
    notes: int = 0
    ratings: int = 0
    scores: dict[int, int] = field(default_factory=dict)

    @property
    def average(self) -> Decimal | None:
        if not self.ratings:
            return None
        return (Decimal(sum(s * n for s, n in self.scores.items())) / self.ratings).quantize(Decimal("0.01"))


@dataclass(frozen=True, slots=True)
class Figures:
    window: Window
    filed: Counted
    approved: Counted
    rejected: Counted
    withdrawn: Counted
    paid: Counted
    steps: Durations
    end_to_end: Durations
    by_step: list[StepTime]  # slowest first
    approvers: list[ApproverLoad]  # most pending first, then oldest
    waiting: list[WaitingItem]  # oldest first
    delivery: Delivery | None  # None for a department view (messages are not kept per department)
    ocr: Ocr
    dialogs: Dialogs
    feedback: Feedback


def _percent(part: int, whole: int) -> Decimal | None:
    return None if not whole else (Decimal(part) * 100 / whole).quantize(Decimal("0.1"))


def _in(column: str, values: Iterable[Any]) -> tuple[str, list[Any]]:
    items = list(values)
    return f"{column} IN ({','.join('?' * len(items))})" if items else "0 = 1", items


class StatsRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    async def figures(self, window: Window, now: datetime, *, waiting: int = 5) -> Figures:
        expenses = await self._expenses(window)
        steps, end_to_end, by_step, approvers, items = await self._approvals(window, now)
        return Figures(window, *expenses, steps, end_to_end, by_step, approvers, items[:waiting],
                       None if window.departments is not None else await self._delivery(window),
                       await self._ocr(window), await self._dialogs(window), await self._feedback(window))

    # filters -----------------------------------------------------------------------------------
    def _expense_scope(self, window: Window, alias: str = "") -> tuple[str, list[Any]]:
        if window.departments is None:
            return "1 = 1", []
        return _in(f"{alias}department_id", sorted(window.departments))

    def _user_scope(self, window: Window, column: str) -> tuple[str, list[Any]]:
        if window.departments is None:
            return "1 = 1", []
        inner, params = _in("department_id", sorted(window.departments))
        return f"{column} IN (SELECT user_id FROM user_departments WHERE {inner})", params

    @staticmethod
    def _between(window: Window) -> list[str]:
        return [to_db_time(window.start), to_db_time(window.end)]

    # expenses ----------------------------------------------------------------------------------
    async def _expenses(self, window: Window) -> tuple[Counted, Counted, Counted, Counted, Counted]:
        scope, params = self._expense_scope(window)

        async def count(column: str, statuses: str = "") -> Counted:
            row = await self.tx.fetchone(
                f"SELECT COUNT(*), SUM(amount_fen) FROM expenses WHERE {column} >= ? AND {column} < ?{statuses}"
                f" AND {scope}", (*self._between(window), *params))
            assert row is not None
            return Counted(int(row[0]), from_fen(int(row[1] or 0)) or Decimal("0.00"))

        return (await count("submitted_at"), await count("decided_at", " AND status IN ('approved', 'paid')"),
                await count("decided_at", " AND status = 'rejected'"),
                await count("decided_at", " AND status = 'withdrawn'"), await count("paid_at"))

    # approvals ---------------------------------------------------------------------------------
    async def _approvals(
        self, window: Window, now: datetime
    ) -> tuple[Durations, Durations, list[StepTime], list[ApproverLoad], list[WaitingItem]]:
        scope, params = self._expense_scope(window, "e.")
        rows = await self.tx.fetchall(  # every task of an expense with a decision in the window, and what is open
            "SELECT t.expense_id, t.step, t.approver, t.status, t.created_at, t.decided_at, e.number, e.status AS"
            " e_status, e.current_step, e.route, e.amount_fen FROM approval_tasks t JOIN expenses e ON"
            " e.id = t.expense_id WHERE (t.expense_id IN (SELECT expense_id FROM approval_tasks WHERE decided_at >= ?"
            f" AND decided_at < ?) OR t.status = 'pending') AND {scope} ORDER BY t.id",
            (*self._between(window), *params),
        )
        steps_of: dict[int, list[str]] = {}
        start, end = window.start, window.end
        groups: dict[tuple[int, int], list[Row]] = defaultdict(list)
        waits: dict[str, list[float]] = defaultdict(list)
        pending: dict[str, list[datetime]] = defaultdict(list)
        items: list[WaitingItem] = []
        for r in rows:
            groups[(r["expense_id"], r["step"])].append(r)
            created, decided = from_db_time(r["created_at"]), from_db_time(r["decided_at"])
            assert created is not None
            if r["status"] in DECIDED and decided is not None and start <= decided < end:
                waits[r["approver"]].append((decided - created).total_seconds())
            if r["status"] == "pending" and r["e_status"] == "submitted" and r["step"] == r["current_step"]:
                pending[r["approver"]].append(created)
                items.append(WaitingItem(r["number"], r["approver"], _step_name(r, steps_of),
                                         from_fen(r["amount_fen"]) or Decimal(0), created))
        step_seconds: list[float] = []
        named: dict[str, list[float]] = defaultdict(list)
        for group in groups.values():
            closed = _step_closed(group)
            if closed is None or not start <= closed < end:
                continue
            opened = min(from_db_time(r["created_at"]) for r in group)  # type: ignore[type-var]
            seconds = (closed - opened).total_seconds()
            step_seconds.append(seconds)
            named[_step_name(group[0], steps_of)].append(seconds)
        by_step = sorted((StepTime(n, Durations.of(s)) for n, s in named.items()),
                         key=lambda st: -(st.durations.average or timedelta()).total_seconds())
        loads_ = [ApproverLoad(u, Durations.of(waits.get(u, [])), len(pending.get(u, [])),
                               min(pending[u]) if pending.get(u) else None) for u in sorted({*waits, *pending})]
        loads_.sort(key=lambda a: (-a.pending, a.oldest_since or now, a.user_id))
        items.sort(key=lambda w: (w.since, w.number))
        return Durations.of(step_seconds), await self._end_to_end(window), by_step, loads_, items

    async def _end_to_end(self, window: Window) -> Durations:
        scope, params = self._expense_scope(window)
        rows = await self.tx.fetchall(
            "SELECT submitted_at, decided_at FROM expenses WHERE decided_at >= ? AND decided_at < ?"
            " AND status IN ('approved', 'rejected', 'paid') AND submitted_at IS NOT NULL"
            f" AND EXISTS (SELECT 1 FROM approval_tasks t WHERE t.expense_id = expenses.id) AND {scope}",
            (*self._between(window), *params),
        )
        return Durations.of([(from_db_time(r[1]) - from_db_time(r[0])).total_seconds()  # type: ignore[operator]
                             for r in rows])

    # delivery, OCR, dialogs, feedback -------------------------------------------------------------
    async def _delivery(self, window: Window) -> Delivery:
        row = await self.tx.fetchone(
            "SELECT COUNT(*), SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN status = 'sent' AND attempts > 1 THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN status IN ('failed', 'held') THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN status = 'sent' AND result LIKE '%\"invaliduser\":\"_%' THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END)"
            " FROM outbound WHERE created_at >= ? AND created_at < ?",
            self._between(window),
        )
        assert row is not None
        return Delivery(*(int(v or 0) for v in row))

    async def _ocr(self, window: Window) -> Ocr:
        scope, params = self._user_scope(window, "user_id")
        rows = await self.tx.fetchall(
            f"SELECT outcome, number, corrected FROM invoice_reads WHERE at >= ? AND at < ? AND {scope}",
            (*self._between(window), *params),
        )
        corrected: Counter[str] = Counter()
        filed = as_read = 0
        for r in rows:
            if r["number"] is None:
                continue
            filed += 1
            changed = loads(r["corrected"]) or []
            corrected.update(changed)
            as_read += not changed
        unreadable = sum(1 for r in rows if r["outcome"] == "unreadable")
        return Ocr(len(rows), unreadable, filed, as_read, dict(sorted(corrected.items())))

    async def _dialogs(self, window: Window) -> Dialogs:
        scope, params = self._user_scope(window, "user_id")
        rows = await self.tx.fetchall(
            f"SELECT outcome, COUNT(*) FROM dialog_runs WHERE started_at >= ? AND started_at < ? AND {scope}"
            " GROUP BY outcome",
            (*self._between(window), *params),
        )
        started = sum(int(r[1]) for r in rows)
        return Dialogs(started, {str(r[0]): int(r[1]) for r in rows if r[0] is not None})

    async def _feedback(self, window: Window) -> Feedback:
        scope, params = self._user_scope(window, "user_id")
        notes = await self.tx.fetchone(
            f"SELECT COUNT(*) FROM feedback WHERE created_at >= ? AND created_at < ? AND {scope}",
            (*self._between(window), *params),
        )
        rows = await self.tx.fetchall(
            f"SELECT score, COUNT(*) FROM ratings WHERE rated_at >= ? AND rated_at < ? AND {scope} GROUP BY score",
            (*self._between(window), *params),
        )
        scores = {int(r[0]): int(r[1]) for r in rows}
        return Feedback(int(notes[0]) if notes else 0, sum(scores.values()), scores)


def _step_name(row: Row, known: dict[int, list[str]]) -> str:
    """The step's name from the expense's route (each route parsed once per query)."""
    if row["expense_id"] not in known:
        known[row["expense_id"]] = [str(s.get("name", "")) for s in loads(row["route"]) or []]
    steps = known[row["expense_id"]]
    step = row["step"]
    return steps[step] if 0 <= step < len(steps) and steps[step] else f"#{step + 1}"


def _step_closed(group: list[Row]) -> datetime | None:
    """When the decision that closed this step was made; None while it is open or was never decided."""
    rejected = [from_db_time(r["decided_at"]) for r in group if r["status"] == "rejected"]
    if rejected:
        return min(rejected)  # type: ignore[type-var]
    first = group[0]
    moved_on = first["current_step"] > first["step"] or first["e_status"] in ("approved", "paid")
    approved = [from_db_time(r["decided_at"]) for r in group if r["status"] == "approved"]
    return max(approved) if approved and moved_on else None  # type: ignore[type-var]
