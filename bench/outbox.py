"""Webhook outbox throughput and safety: 10,000 events to a local receiver, clean and with 30% failures.

    python bench/outbox.py [--events 10000] [--expenses 1000] [--fail 0.3]

Fills the outbox (as expense events would, several per expense), runs the production sender
(`bot.webhooks.WebhookSender`) against a receiver on 127.0.0.1 that verifies every signature and
answers 500 to a random share of requests, and prints events/s plus the checks: every event
arrived, none twice (by id), and each expense's events arrived in outbox order.
Target: >= 500 events/s.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import random
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.finance.webhooks import WebhookSender
from storage.finance_events import WebhookRepo
from storage.sqlite import SqliteDatabase

SECRET = "bench-secret"
TYPES = ("expense.submitted", "expense.step_decided", "expense.approved", "expense.paid")


class Receiver:
    def __init__(self, fail: float, rng: random.Random) -> None:
        self.fail = fail
        self.rng = rng
        self.delivered: dict[str, list[str]] = defaultdict(list)
        self.seen: dict[str, int] = defaultdict(int)
        self.bad = 0
        self.failures = 0
        self.done = asyncio.Event()
        self.expected = 0
        self.arrivals: list[float] = []

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        ts = request.headers["X-Bot-Timestamp"]
        good = hmac.new(SECRET.encode(), ts.encode() + b"." + raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(good, request.headers["X-Bot-Signature"]):
            self.bad += 1
            return web.Response(status=401)
        if self.rng.random() < self.fail:
            self.failures += 1
            return web.Response(status=500)
        body = json.loads(raw)
        self.seen[body["id"]] += 1
        if self.seen[body["id"]] == 1:
            self.delivered[body["data"]["number"]].append(body["id"])
            self.arrivals.append(time.perf_counter())
        if len(self.seen) >= self.expected:
            self.done.set()
        return web.Response(status=204)


async def run(events: int, expenses: int, fail: float) -> None:
    folder = tempfile.TemporaryDirectory()
    db = SqliteDatabase(Path(folder.name) / "outbox.db")
    await db.open()
    rng = random.Random(11)
    now = datetime.now(UTC)
    order: dict[str, list[str]] = defaultdict(list)
    async with db.transaction() as tx:
        repo = tx.repo(WebhookRepo)
        for _ in range(events):
            number = f"BX20261128-{rng.randrange(expenses):04d}"
            event_id = str(uuid.uuid4())
            order[number].append(event_id)
            data = {"number": number, "status": "submitted", "amount": "100.00", "currency": "CNY",
                    "description": "x" * 200, "timeline": [{"time": now.isoformat(), "actor": "u", "action": "a",
                                                            "comment": ""}] * 3}
            await repo.add(event_id, TYPES[len(order[number]) % len(TYPES)], number, data, now)
    receiver = Receiver(fail, rng)
    receiver.expected = events
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    sender = WebhookSender(db, f"http://{host}:{port}/hook", SECRET, lambda: datetime.now(UTC))
    t0 = time.perf_counter()
    sender.start()
    await asyncio.wait_for(receiver.done.wait(), timeout=600)
    elapsed = time.perf_counter() - t0
    await asyncio.sleep(0.5)  # let the last outcomes commit
    await sender.stop()
    async with db.read() as tx:
        counts = await tx.repo(WebhookRepo).counts()
    await runner.cleanup()
    await db.close()
    folder.cleanup()

    lost = events - len(receiver.seen)
    duplicates = sum(n - 1 for n in receiver.seen.values())
    out_of_order = sum(1 for number, ids in order.items() if receiver.delivered[number] != ids)
    print(f"{events:,} events over {len(order):,} expenses, receiver failing {fail:.0%} "
          f"({receiver.failures:,} refused attempts): {elapsed:.2f} s, {events / elapsed:,.0f} events/s")
    p99 = receiver.arrivals[int(len(receiver.arrivals) * 0.99) - 1] - t0
    tail = "; the rest waited out repeated failures (backoff doubles from 0.1 s)" if fail else ""
    print(f"  99% delivered after {p99:.2f} s{tail}")
    print(f"  lost {lost}, delivered twice {duplicates}, expenses out of order {out_of_order}, "
          f"bad signatures {receiver.bad}, outbox {counts}")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--expenses", type=int, default=1_000)
    parser.add_argument("--fail", type=float, default=0.3)
    args = parser.parse_args()
    await run(args.events, args.expenses, 0.0)
    await run(args.events, args.expenses, args.fail)


if __name__ == "__main__":
    asyncio.run(main())
