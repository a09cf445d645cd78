"""GET /api/v1/expenses pages by key, reads a page in three statements whatever its size, off the loop."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from bot.finance.openapi import encode_cursor
from storage.db import Tx
from storage.finance_events import ExpenseFilter, search_expenses
from storage.reads import ThreadReads
from storage.sqlite import SqliteDatabase, SqliteTx
from tests.bot.finance.finance_support import TOKEN, api, file_expense
from tests.loop_ticks import LoopTicks
from tests.world import World


async def test_pages_follow_the_cursor_and_keep_offset_for_old_clients(bare_world: World) -> None:
    world = bare_world
    await world.start_bot(finance_api_token=TOKEN)
    numbers = [await file_expense(world, user, amount, "交通")
               for user, amount in (("liuyang", "10"), ("chenjing", "20"), ("liuyang", "30"), ("zhoumin", "40"),
                                    ("liuyang", "50"))]
    seen, after, pages = [], None, 0
    while True:
        status, page = await api(world, "GET", "/api/v1/expenses?limit=2" + (f"&after={after}" if after else ""))
        assert status == 200 and page["total"] == 5
        seen += [e["number"] for e in page["items"]]
        pages += 1
        after = page["next_after"]
        if after is None:
            break
    assert seen == numbers[::-1] and pages == 3  # newest first, each once
    status, page = await api(world, "GET", "/api/v1/expenses?submitter=liuyang&limit=1")
    status, rest = await api(world, "GET", f"/api/v1/expenses?submitter=liuyang&limit=5&after={page['next_after']}")
    assert [e["number"] for e in page["items"] + rest["items"]] == [numbers[4], numbers[2], numbers[0]]
    assert rest["total"] == 3 and rest["next_after"] is None
    assert all(e["timeline"] and e["timeline"][0]["actor"] == "liuyang" for e in rest["items"])
    status, old = await api(world, "GET", "/api/v1/expenses?limit=2&offset=2")
    assert [e["number"] for e in old["items"]] == [numbers[2], numbers[1]]
    for query, field in ((f"after={page['next_after']}&offset=1", "query"), ("after=bm90LWEtY3Vyc29y", "query.after"),
                         (f"after={encode_cursor(2**63)}", "query.after"), ("after=%0A", "query.after")):
        status, answer = await api(world, "GET", f"/api/v1/expenses?{query}")
        assert status == 422 and answer["detail"][0]["field"] == field, (query, answer)


async def test_a_page_is_three_statements_however_long(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "bot.db")
    await db.open()
    async with db.transaction() as tx:
        for i in range(1, 41):
            await tx.execute(
                "INSERT INTO expenses (number, status, amount_fen, category, expense_date, period_month, submitter,"
                " department_id, created_at, updated_at) VALUES (?, 'submitted', 100, '交通', '2026-11-20', '2026-11',"
                " ?, 3, '2026-11-20T02:00:00.000000Z', '2026-11-20T02:00:00.000000Z')", (f"BX20261120-{i:04d}", f"u{i % 3}"))
            for action in ("submitted", "route"):
                await tx.execute("INSERT INTO expense_events (expense_id, at, actor, action, comment, data) VALUES"
                                 " (?, '2026-11-20T02:00:00.000000Z', 'u', ?, '', '{}')", (i, action))
    await db.close()
    conn = sqlite3.connect(tmp_path / "bot.db")
    conn.row_factory = sqlite3.Row
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    for limit in (1, 10, 40):
        statements.clear()
        page = await search_expenses(SqliteTx(conn), ExpenseFilter(department_id=3, submitter="u1"), limit=limit)
        assert len(page.expenses) == min(limit, 14) and page.total == 14
        assert all(len(page.timelines[e.id]) == 2 for e in page.expenses)
        assert len(statements) == 3, statements
    plan = " ".join(str(r[3]) for r in conn.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM expenses WHERE department_id = ? AND id < ? ORDER BY id DESC LIMIT 50", (3, 9)))
    assert "expenses_by_department" in plan and "TEMP B-TREE" not in plan  # an index range, no sort
    conn.close()


async def test_thread_reads_leave_the_event_loop_free(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "bot.db")
    await db.open()
    reads = ThreadReads()
    reads.open(db)
    ticks = LoopTicks()

    async def slow(tx: Tx) -> tuple[str, int]:
        """A long read (SQLite counting to three million), and the loop's ticks while it ran."""
        before = ticks.count
        await tx.fetchone("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 3000000)"
                          " SELECT COUNT(*) FROM n")
        return threading.current_thread().name, ticks.count - before

    try:
        async with ticks:
            where, ticked = await reads.run(slow)
    finally:
        reads.close()
        await db.close()
    assert where != threading.main_thread().name and ticked >= 5  # the loop went on meanwhile
