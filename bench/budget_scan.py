"""Budget usage at scale: 2,000 budgets over 1,000,000 expenses in SQLite.

    python bench/budget_scan.py [--expenses 1000000] [--budgets 2000] [--db /tmp/budget_bench.db]

Seeds an org of 200 departments (3 levels), the budgets (months, quarters, years; some per
category) and the expenses (the `expense_usage` aggregate is kept by the same triggers as in
production), then times a full threshold scan (every budget's used/pending in one aggregate query
plus the threshold decision) and one `预算` answer (the report a leader gets for a department).
Targets: full scan < 1 s, one query < 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chat.context import Context, Services
from chat.events import EventBus
from chat.message import Inbound
from config import load_settings
from handlers.budget import budget_report, crossings
from handlers.budget_view import budget_status, parse_period
from handlers.rules import Rules
from storage.budgets import BudgetRepo
from storage.db import Database
from storage.sqlite import SqliteDatabase

CATEGORIES = ("交通", "差旅", "餐饮", "办公", "招待", "通讯", "其他")
STATUSES = ("submitted", "approved", "paid", "rejected", "withdrawn", "draft")
WEIGHTS = (15, 30, 40, 8, 5, 2)
NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


class _Clock:
    def now(self) -> datetime:
        return NOW


def departments() -> list[tuple[int, str, int]]:
    rows = [(1, "公司", 0)]
    for d in range(2, 22):
        rows.append((d, f"部门{d}", 1))
    next_id = 22
    for parent in range(2, 22):
        for _ in range(9):
            rows.append((next_id, f"小组{next_id}", parent))
            next_id += 1
    return rows


async def seed(db: Database, n_expenses: int, n_budgets: int, rng: random.Random) -> list[int]:
    depts = departments()
    stamp = NOW.strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    leaf_ids = [d for d, _, parent in depts if parent not in (0, 1)]
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO departments (id, name, parent_id, leaders, synced_at) VALUES (?, ?, ?, '[]', ?)",
            [(d, name, parent, stamp) for d, name, parent in depts],
        )
        periods = [f"2026-{m:02d}" for m in range(1, 13)] + [f"2026-Q{q}" for q in range(1, 5)] + ["2026"]
        budgets = []
        for i in range(n_budgets):
            dept = rng.choice([d for d, _, _ in depts])
            period = parse_period(rng.choice(periods))
            assert period is not None
            category = rng.choice((None, None, *CATEGORIES))
            budgets.append((f"b{i}", dept, period.key, period.month_from, period.month_to, category,
                            rng.randint(50_000, 5_000_000) * 100, "owner", None, None, "[80,100]", stamp, stamp))
        await tx.executemany(
            "INSERT INTO budgets (id, department_id, period, month_from, month_to, category, amount_fen, owner,"
            " alert_chat_id, robot_key, thresholds, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            budgets,
        )
    start = date(2025, 1, 1)
    batch = 100_000
    for offset in range(0, n_expenses, batch):
        rows = []
        for i in range(offset, min(n_expenses, offset + batch)):
            day = start + timedelta(days=rng.randrange(700))
            rows.append((f"BX{day:%Y%m%d}-{i:07d}", rng.choices(STATUSES, WEIGHTS)[0], rng.randint(1_000, 500_000),
                         rng.choice(CATEGORIES), day.isoformat(), day.strftime("%Y-%m"), f"u{i % 5000}",
                         rng.choice(leaf_ids), stamp, stamp))
        async with db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO expenses (number, status, amount_fen, category, expense_date, period_month, submitter,"
                " department_id, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
    return [d for d, _, parent in depts if parent == 1]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--expenses", type=int, default=1_000_000)
    parser.add_argument("--budgets", type=int, default=2_000)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory()
    path = args.db or Path(folder.name) / "budget_bench.db"
    path.unlink(missing_ok=True)
    db = SqliteDatabase(path, synchronous="OFF")
    await db.open()
    rng = random.Random(7)
    t0 = time.perf_counter()
    top_departments = await seed(db, args.expenses, args.budgets, rng)
    print(f"seeded {args.expenses:,} expenses and {args.budgets:,} budgets in {time.perf_counter() - t0:.1f} s")
    async with db.read() as tx:
        row = await tx.fetchone("SELECT COUNT(*) FROM expense_usage")
        print(f"expense_usage aggregate rows: {row[0] if row else 0:,}")

    t0 = time.perf_counter()
    async with db.transaction() as tx:
        cur = await tx.execute("UPDATE expenses SET status = 'approved' WHERE status = 'submitted' AND id % 10 = 0")
        moved = cur.rowcount
    print(f"approved {moved:,} expenses in one statement (aggregate kept by triggers): "
          f"{(time.perf_counter() - t0) * 1e6 / max(moved, 1):.0f} µs per expense")
    scans = []
    for _ in range(5):
        t0 = time.perf_counter()
        async with db.read() as tx:
            usage = await tx.repo(BudgetRepo).usage_all()
        crossed = 0
        for budget, u in usage.values():
            status = budget_status(budget, u, include_pending=False)
            crossed += bool(crossings(status.percent, budget.thresholds, set())[0])
        scans.append(time.perf_counter() - t0)
    print(f"full threshold scan of {len(usage):,} budgets: median {statistics.median(scans) * 1000:.0f} ms"
          f" (best {min(scans) * 1000:.0f} ms); {crossed:,} over a threshold")

    async with db.read() as tx:
        repo = tx.repo(BudgetRepo)
        sample = rng.sample(sorted(usage), 50)
        mismatched = [bid for bid in sample if usage[bid][1] != await repo.usage(
            usage[bid][0].department_id, usage[bid][0].month_from, usage[bid][0].month_to, usage[bid][0].category)]
        row = await tx.fetchone(
            "SELECT SUM(CASE WHEN status IN ('approved', 'paid') THEN amount_fen ELSE 0 END),"
            " SUM(CASE WHEN status = 'submitted' THEN amount_fen ELSE 0 END) FROM expenses")
        agg = await tx.fetchone("SELECT SUM(used_fen), SUM(pending_fen) FROM expense_usage")
    print(f"checks: scan equals per-budget queries for 50 sampled budgets: {not mismatched};"
          f" aggregate equals a sum over all expenses: {tuple(row) == tuple(agg)}")  # type: ignore[arg-type]

    settings = load_settings(demo=True, bot_db=path, bot_quiet_hours="")
    services = Services(settings=settings, clock=_Clock(), rules=Rules(), gateway=None,  # type: ignore[arg-type]
                        events=EventBus())
    msg = Inbound(inbox_id=0, source="app", user_id="bench", msg_type="text", data={"Content": "预算"},
                  received_at=NOW)
    period = parse_period("2026-Q4")
    assert period is not None
    async with db.read() as tx:
        busiest = [r[0] for r in await tx.fetchall(
            "SELECT department_id FROM budgets WHERE month_from <= ? AND month_to >= ? AND department_id IN"
            f" ({','.join(map(str, top_departments))}) GROUP BY department_id ORDER BY COUNT(*) DESC LIMIT 10",
            (period.month_to, period.month_from))]
    times = []
    for dept in busiest * 5:
        t0 = time.perf_counter()
        async with db.read() as tx:
            report = await budget_report(Context(msg=msg, tx=tx, services=services), dept, period)
        times.append(time.perf_counter() - t0)
    times.sort()
    print(f"one 预算 answer (a top department with 9 teams below, {period.key}): median {statistics.median(times) * 1000:.1f} ms,"
          f" p95 {times[int(len(times) * 0.95)] * 1000:.1f} ms")
    print(report.splitlines()[0], f"({len(report.splitlines()) - 1} budget lines)")
    await db.close()
    folder.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
