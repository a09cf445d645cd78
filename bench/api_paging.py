"""The finance platform pages through 1,000,000 expenses while WeCom callbacks keep arriving.

    python bench/api_paging.py [--expenses 1000000] [--limit 200] [--rate 50] [--seconds 10] [--dir /tmp]

Seeds a SQLite file with the expenses (each with a two-step route and a two-event timeline), then
runs the bot as its own process (`run_bot.py`, as in production, FINANCE_API_TOKEN set), the WeCom
simulator in a second and the finance platform's pager in a third, so this process only sends
callbacks and times their acks:
  1. callbacks alone: distinct encrypted callbacks (text messages that get a reply, LOCATION events
     that need none) from 1,000 members at `--rate`/s for `--seconds`: a busy company's chat, which
     the bot also keeps processing and answering throughout;
  2. the same while the pager walks every expense with the `after` cursor (`--limit` a page):
     ack p50/p99/max, pages/s and expenses/s, and a check that each expense came exactly once;
  3. one page deep in the list (offset 90 %) the deprecated way, then by cursor.
Target: ack p99 < 50 ms while paging.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.callback_throughput import USERS, Payloads, pct, spawn, timed_post  # noqa: E402
from bot.finance.openapi import encode_cursor  # noqa: E402
from simulator import WeComSimulator  # noqa: E402
from storage.sqlite import SqliteDatabase  # noqa: E402
from tests.world import free_port  # noqa: E402

TOKEN = "bench-finance-token"
STATUSES = ("submitted", "approved", "paid", "rejected", "withdrawn")
STAMP = "2026-11-20T02:00:00.000000Z"


async def seed(path: Path, n: int) -> None:
    db = SqliteDatabase(path)
    await db.open()  # the schema, by the bot's own migrations
    await db.close()
    rng = random.Random(7)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    route = json.dumps([{"name": "部门负责人", "approvers": ["lead"], "mode": "any", "status": "approved"},
                        {"name": "财务审核", "approvers": ["fin"], "mode": "any", "status": "pending"}])
    start = date(2025, 1, 1)
    batch = 50_000
    for offset in range(0, n, batch):
        expenses, events = [], []
        for i in range(offset + 1, min(n, offset + batch) + 1):
            day = start + timedelta(days=rng.randrange(690))
            expenses.append((i, f"BX{day:%Y%m%d}-{i:07d}", rng.choice(STATUSES), rng.randint(1_000, 500_000), "交通",
                             day.isoformat(), day.strftime("%Y-%m"), f"打车 {i}", f"u{i % 5000}", 2 + i % 200, route,
                             STAMP, STAMP))
            events += [(i, STAMP, f"u{i % 5000}", "submitted", ""), (i, STAMP, "lead", "approve", "同意")]
        with conn:
            conn.executemany(
                "INSERT INTO expenses (id, number, status, amount_fen, category, expense_date, period_month, description,"
                " submitter, department_id, route, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", expenses)
            conn.executemany("INSERT INTO expense_events (expense_id, at, actor, action, comment) VALUES (?,?,?,?,?)",
                             events)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


async def pager(base: str, limit: int, query: str) -> None:
    """The finance platform, in a process of its own: walk every page, print what it saw as JSON."""
    seen: set[str] = set()
    items = pages = 0
    after = None
    started = time.perf_counter()
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        while True:
            url = f"{base}/api/v1/expenses?limit={limit}{query}" + (f"&after={after}" if after else "")
            async with http.get(url) as resp:
                page = await resp.json()
            pages += 1
            items += len(page["items"])
            seen.update(e["number"] for e in page["items"])
            after = page["next_after"]
            if after is None:
                break
    print(json.dumps({"pages": pages, "items": items, "distinct": len(seen), "total": page["total"],
                      "seconds": time.perf_counter() - started}), flush=True)


async def steady(url: str, payloads: Payloads, rate: float, until: asyncio.Future[object] | float) -> list[float]:
    """Callbacks at `rate`/s until the future is done (or for that many seconds); ack latencies.

    Distinct callbacks from every member in turn (WeCom lets one member get 30 messages a minute), encrypted
    a batch ahead in a thread so that making them never delays reading an ack."""
    latencies: list[float] = []
    tasks: list[asyncio.Task[int]] = []
    ahead = asyncio.ensure_future(asyncio.to_thread(payloads.make, len(USERS), "mixed"))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        batch = list(reversed(await ahead))
        ahead = asyncio.ensure_future(asyncio.to_thread(payloads.make, len(USERS), "mixed"))
        start = time.perf_counter()
        i = 0
        while not (until.done() if isinstance(until, asyncio.Future) else time.perf_counter() - start >= until):
            if not batch:
                batch = list(reversed(await ahead))
                ahead = asyncio.ensure_future(asyncio.to_thread(payloads.make, len(USERS), "mixed"))
            params, body = batch.pop()
            tasks.append(asyncio.create_task(timed_post(http, url, params, body, latencies)))
            i += 1
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
        await ahead
        errors = sum(await asyncio.gather(*tasks))
    if errors:
        raise RuntimeError(f"{errors} callbacks were not acknowledged with 200")
    return latencies


def acks(latencies: list[float]) -> str:
    return (f"n={len(latencies)} p50={pct(latencies, 0.50):.2f} ms p99={pct(latencies, 0.99):.2f} ms"
            f" max={max(latencies) * 1000:.1f} ms")


async def one_page(http: aiohttp.ClientSession, url: str) -> tuple[float, dict[str, object]]:
    t0 = time.perf_counter()
    async with http.get(url) as resp:
        page = await resp.json()
    return (time.perf_counter() - t0) * 1000, page


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--expenses", type=int, default=1_000_000)
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--dir", default=None)
    parser.add_argument("--pager", nargs=3, metavar=("BASE", "LIMIT", "QUERY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pager:
        await pager(args.pager[0], int(args.pager[1]), args.pager[2])
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="api-paging-", dir=args.dir))
    started = time.perf_counter()
    await seed(tmp / "bot.db", args.expenses)
    print(f"seeded {args.expenses:,} expenses (and {2 * args.expenses:,} timeline events) in"
          f" {time.perf_counter() - started:.0f} s")
    sim = WeComSimulator()  # keys and ids only: the serving simulator runs in its own process
    payloads = Payloads(sim)
    bot_port, sim_port = free_port(), free_port()
    sim_proc = await spawn(["bench/sim_server.py", str(sim_port), str(len(USERS))], dict(os.environ))
    env = {**os.environ, "WECOM_CORP_ID": sim.corp_id, "WECOM_AGENT_ID": str(sim.agent_id),
           "WECOM_SECRET": sim.secret, "WECOM_TOKEN": sim.token, "WECOM_AES_KEY": sim.aes_key,
           "WECOM_API_BASE": f"http://127.0.0.1:{sim_port}", "BOT_PORT": str(bot_port), "BOT_DB": str(tmp / "bot.db"),
           "BOT_QUIET_HOURS": "", "FINANCE_API_TOKEN": TOKEN}
    bot = await spawn(["run_bot.py", "--log-level", "WARNING"], env)
    base = f"http://127.0.0.1:{bot_port}"
    callback = f"{base}/wecom/callback"
    try:
        await steady(callback, payloads, args.rate, 2.0)  # warm-up
        print(f"1. callbacks alone at {args.rate:.0f}/s: {acks(await steady(callback, payloads, args.rate, args.seconds))}")

        proc = await asyncio.create_subprocess_exec(
            sys.executable, "bench/api_paging.py", "--pager", base, str(args.limit), "", cwd=ROOT,
            stdout=asyncio.subprocess.PIPE)
        done = asyncio.ensure_future(proc.communicate())
        latencies = await steady(callback, payloads, args.rate, done)
        result = json.loads((await done)[0])
        ok = result["items"] == result["distinct"] == result["total"] == args.expenses
        print(f"2. while paging every expense ({args.limit} a page, cursor):")
        print(f"   callback acks: {acks(latencies)}")
        print(f"   {result['pages']:,} pages in {result['seconds']:.1f} s: {result['pages'] / result['seconds']:.1f}"
              f" pages/s, {result['items'] / result['seconds']:,.0f} expenses/s;"
              f" each expense exactly once: {'yes' if ok else 'NO ' + str(result)}")

        deep = int(args.expenses * 0.9)
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            by_offset, page = await one_page(http, f"{base}/api/v1/expenses?limit={args.limit}&offset={deep}")
            first = page["items"][0]["number"]  # type: ignore[index]
            cursor_id = int(str(first).rsplit("-", 1)[1]) + 1  # the row just after, as a cursor names it
            by_cursor, again = await one_page(http, f"{base}/api/v1/expenses?limit={args.limit}"
                                                    f"&after={encode_cursor(cursor_id)}")
        same = again["items"] == page["items"]
        print(f"3. a page at offset {deep:,}: {by_offset:.0f} ms; the same page by cursor: {by_cursor:.0f} ms"
              f" (same items: {'yes' if same else 'NO'})")
        met = ok and same and pct(latencies, 0.99) < 50
        print("target (ack p99 < 50 ms while paging): " + ("met" if met else "NOT met"))
        return 0 if ok and same else 1
    finally:
        for proc_ in (bot, sim_proc):
            proc_.terminate()
            await proc_.wait()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
