"""Process figures at scale: one `统计` answer (every figure for a month) over a year of data.

    python bench/stats_figures.py [--expenses 200000] [--db /tmp/stats_bench.db]

Seeds 200 departments, the expenses of a year (submitted, decided and paid times spread over it; those
of the month's last five days mostly still open),
two approval tasks each, three outbound messages each, and the invoice reads, dialog runs and
ratings that go with them; then times `StatsRepo.figures` for one month for the whole company and
for one top department (with its sub-departments), and checks the month's counts against a direct
count. Target: a chat answer well under a second (the user waits for it).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.budget_scan import departments
from storage.codec import to_db_time
from storage.db import Database
from storage.org import OrgRepo
from storage.reads import ThreadReads
from storage.sqlite import SqliteDatabase
from storage.stats import StatsRepo, Window

START = datetime(2025, 12, 1, tzinfo=UTC)
MONTH = (datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
ROUTE = '[{"name":"部门负责人"},{"name":"财务审核"}]'


async def seed(db: Database, n: int, rng: random.Random) -> list[int]:
    depts = departments()
    leaves = [d for d, _, parent in depts if parent not in (0, 1)]
    stamp = to_db_time(START)
    async with db.transaction() as tx:
        await tx.executemany("INSERT INTO departments (id, name, parent_id, leaders, synced_at) VALUES (?, ?, ?, '[]', ?)",
                             [(d, name, parent, stamp) for d, name, parent in depts])
        await tx.executemany("INSERT INTO user_departments (user_id, department_id) VALUES (?, ?)",
                             [(f"u{i}", leaves[i % len(leaves)]) for i in range(5000)])
    for offset in range(0, n, 50_000):
        expenses, tasks, outbound, reads, runs = [], [], [], [], []
        for i in range(offset, min(n, offset + 50_000)):
            submitted = START + timedelta(minutes=rng.randrange(365 * 24 * 60))
            first = submitted + timedelta(minutes=rng.randrange(1, 3000))
            second = first + timedelta(minutes=rng.randrange(1, 3000))
            recent = MONTH[1] - timedelta(days=5) <= submitted < MONTH[1]  # what is still open at month's end
            status = rng.choices(("submitted", "approved", "paid", "rejected", "withdrawn"),
                                 (60 if recent else 0, 30, 45, 10, 5))[0]
            decided = None if status == "submitted" else to_db_time(second)
            paid = to_db_time(second + timedelta(days=2)) if status == "paid" else None
            user = f"u{i % 5000}"
            expenses.append((i + 1, f"BX{i:08d}-0001", status, rng.randint(1_000, 500_000), "交通", "2026-01-01",
                             "2026-01", user, leaves[i % 5000 % len(leaves)], ROUTE, 1 if status == "submitted" else 2,
                             to_db_time(submitted), to_db_time(submitted), decided, paid))
            tasks.append((i + 1, f"BX{i:08d}-0001", 0, "lead", "approved", f"t{i}a", to_db_time(submitted),
                          to_db_time(first)))
            tasks.append((i + 1, f"BX{i:08d}-0001", 1, "fin", "pending" if status == "submitted" else "approved",
                          f"t{i}b", to_db_time(first), decided))
            for k in range(3):
                outbound.append(("message", f"user:{user}", "{}", "sent", 1, to_db_time(submitted),
                                 to_db_time(submitted), f"o{i}-{k}"))
            reads.append((user, to_db_time(submitted), "read", f"BX{i:08d}-0001", '["total"]' if i % 7 == 0 else "[]"))
            runs.append((user, "expense", to_db_time(submitted), to_db_time(submitted), "completed"))
        async with db.transaction() as tx:
            await tx.executemany(
                "INSERT INTO expenses (id, number, status, amount_fen, category, expense_date, period_month, submitter,"
                " department_id, route, current_step, created_at, submitted_at, decided_at, paid_at, updated_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'')", expenses)
            await tx.executemany(
                "INSERT INTO approval_tasks (expense_id, number, step, approver, status, task_id, created_at,"
                " decided_at) VALUES (?,?,?,?,?,?,?,?)", tasks)
            await tx.executemany(
                "INSERT INTO outbound (channel, order_key, body, status, attempts, not_before, created_at, result)"
                " VALUES (?,?,?,?,?,?,?,?)", outbound)
            await tx.executemany("INSERT INTO invoice_reads (user_id, at, outcome, number, corrected)"
                                 " VALUES (?,?,?,?,?)", reads)
            await tx.executemany("INSERT INTO dialog_runs (user_id, spec, started_at, ended_at, outcome)"
                                 " VALUES (?,?,?,?,?)", runs)
    return [d for d, _, parent in depts if parent == 1]


async def timed(db: Database, window: Window, runs: int = 5) -> tuple[list[float], object]:
    times, figures = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        async with db.read() as tx:
            figures = await tx.repo(StatsRepo).figures(window, MONTH[1])
        times.append(time.perf_counter() - t0)
    return times, figures


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--expenses", type=int, default=200_000)
    parser.add_argument("--db", type=Path, default=None)
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory()
    path = args.db or Path(folder.name) / "stats_bench.db"
    path.unlink(missing_ok=True)
    db = SqliteDatabase(path, synchronous="OFF")
    await db.open()
    t0 = time.perf_counter()
    tops = await seed(db, args.expenses, random.Random(7))
    print(f"seeded {args.expenses:,} expenses (+ tasks, outbound, reads, dialogs) in {time.perf_counter() - t0:.1f} s")
    times, figures = await timed(db, Window(*MONTH))
    async with db.read() as tx:
        row = await tx.fetchone("SELECT COUNT(*) FROM expenses WHERE submitted_at >= ? AND submitted_at < ?",
                                (to_db_time(MONTH[0]), to_db_time(MONTH[1])))
    assert row is not None and figures is not None and figures.filed.count == row[0], (figures, row)  # type: ignore[attr-defined]
    print(f"whole company, one month ({row[0]:,} filed): median {statistics.median(times) * 1000:.0f} ms,"
          f" max {max(times) * 1000:.0f} ms")
    async with db.read() as tx:
        scope = frozenset(await tx.repo(OrgRepo).descendants(tops[0]))
    times, _ = await timed(db, Window(*MONTH, scope))
    print(f"one top department ({len(scope)} departments): median {statistics.median(times) * 1000:.0f} ms,"
          f" max {max(times) * 1000:.0f} ms")
    reads = ThreadReads()
    reads.open(db)
    inline = await longest_stall(lambda: timed(db, Window(*MONTH), runs=1))
    aside = await longest_stall(lambda: reads.run(lambda tx: tx.repo(StatsRepo).figures(Window(*MONTH), MONTH[1])))
    print(f"longest event-loop stall during one whole-company read: inline {inline * 1000:.0f} ms,"
          f" on a snapshot in a thread (as the bot reads them) {aside * 1000:.1f} ms")
    reads.close()
    await db.close()


async def longest_stall(work: Callable[[], Awaitable[object]]) -> float:
    """The longest a 1 ms ticker waited beyond its sleep while `work` ran: how long acks would wait."""
    worst = 0.0
    running = True

    async def tick() -> None:
        nonlocal worst
        while running:
            t0 = time.perf_counter()
            await asyncio.sleep(0.001)
            worst = max(worst, time.perf_counter() - t0 - 0.001)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.01)
    await work()
    running = False
    await ticker
    return worst


if __name__ == "__main__":
    asyncio.run(main())
