"""One instance against two on PostgreSQL, and two with one killed mid-way.

    python bench/scale_out.py [--expenses 150] [--concurrency 16] [--seconds 6]

A throwaway PostgreSQL server (fsync'd commits) and `run_bot.py` processes (role `all`) on loopback;
the WeCom simulator runs in this process and spreads its callbacks over the instances in turn, as a
load balancer would (and to the next one when an instance does not answer). Each setup starts on a
fresh database with the approval bench's org (`bench/approval_flow.py`: one lane per expense, two
approval steps) and reports:
  - approval decisions/s: `--concurrency` expenses in approval at any moment, each approver taps
    同意 as soon as the card arrives;
  - acks/s: a closed loop of distinct encrypted callbacks (LOCATION events), 32 in flight, spread
    over the instances.
The third run has two instances and SIGKILLs one when half of the expenses are decided; every
expense must still end approved by exactly its two approvers, with one card per step and one final
notice (zero lost, zero doubled). The other setups are checked the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.approval_flow import RULES, Watch, build_org, card_to, file, lane, pct  # noqa: E402
from bench.callback_throughput import Payloads, closed_loop, spawn  # noqa: E402
from bot.runtime.clock import FakeClock  # noqa: E402
from simulator import WeComSimulator  # noqa: E402
from simulator.core import CallbackResult  # noqa: E402
from tests.postgres import Server, throwaway  # noqa: E402
from tests.world import free_port  # noqa: E402


def spread(sim: WeComSimulator, urls: list[str]) -> None:
    """The simulator's callbacks go to the instances in turn; when one does not answer, the next one
    gets the callback (a killed instance refuses connections at once), as a load balancer does."""
    original = sim.deliver
    turn = itertools.count()

    async def deliver(xml: str, *, url: str | None = None, **options: Any) -> CallbackResult:
        if url is not None:
            return await original(xml, url=url, **options)
        first = next(turn)
        result: CallbackResult | None = None
        for i in range(len(urls)):
            result = await original(xml, url=urls[(first + i) % len(urls)], **{**options, "retries": 0})
            if result.status == 200:
                break
        assert result is not None
        return result

    sim.deliver = deliver  # type: ignore[method-assign]


class Fleet:
    """`run_bot.py` instances on one PostgreSQL database."""

    def __init__(self, sim: WeComSimulator, clock: FakeClock, db: str, rules: Path, folder: Path) -> None:
        self.sim = sim
        self.clock = clock  # the simulator's, read by the approval bench's steps
        self.db = db
        self.rules = rules
        self.folder = folder
        self.procs: list[asyncio.subprocess.Process] = []
        self.urls: list[str] = []

    async def start(self, count: int) -> None:
        for _ in range(count):
            port = free_port()
            env = {**os.environ, "WECOM_CORP_ID": self.sim.corp_id, "WECOM_AGENT_ID": str(self.sim.agent_id),
                   "WECOM_SECRET": self.sim.secret, "WECOM_TOKEN": self.sim.token,
                   "WECOM_AES_KEY": self.sim.aes_key, "WECOM_API_BASE": self.sim.base_url, "BOT_PORT": str(port),
                   "BOT_DB": self.db, "BOT_RULES": str(self.rules), "BOT_QUIET_HOURS": "",
                   "BOT_LEASE_SECONDS": "3", "BOT_DATA_DIR": str(self.folder), "BOT_ONBOARDING": "false"}
            self.procs.append(await spawn(["run_bot.py", "--log-level", "WARNING"], env))
            self.urls.append(f"http://127.0.0.1:{port}")
        spread(self.sim, [f"{url}/wecom/callback" for url in self.urls])
        while self.value("SELECT COUNT(*) FROM users") < len(self.sim.org.users):  # the start-up org sync
            await asyncio.sleep(0.2)
        await self.idle()

    def value(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        try:
            with psycopg.connect(self.db, autocommit=True) as conn:
                row = conn.execute(sql, params).fetchone()
        except psycopg.errors.UndefinedTable:  # not migrated yet
            return 0
        return int(row[0]) if row else 0

    async def idle(self, limit: float = 120.0) -> None:
        """Until no inbox item or outbound row is pending anywhere."""
        deadline = time.perf_counter() + limit
        while time.perf_counter() < deadline:
            pending = self.value("SELECT (SELECT COUNT(*) FROM inbox WHERE status = 'pending')"
                                 " + (SELECT COUNT(*) FROM outbound WHERE status = 'pending')")
            if not pending:
                return
            await asyncio.sleep(0.1)
        raise RuntimeError("the fleet did not finish its work in time")

    def kill(self, index: int) -> None:
        self.procs[index].send_signal(signal.SIGKILL)
        self.urls.pop(index)

    async def stop(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.terminate()
            await proc.wait()


def check(db: str, sim: WeComSimulator, people: list[tuple[str, str, str]], numbers: list[str]) -> list[str]:
    """Every expense approved by exactly its two approvers, one card each, one final notice."""
    problems = []
    with psycopg.connect(db, autocommit=True) as conn:
        for (staff, lead, boss), number in zip(people, numbers, strict=True):
            status, route = conn.execute("SELECT status, route FROM expenses WHERE number = %s", (number,)).fetchone()
            deciders = [d["user"] for s in json.loads(route) for d in s["decisions"]]
            tasks = conn.execute("SELECT approver, status FROM approval_tasks WHERE number = %s ORDER BY id",
                                 (number,)).fetchall()
            cards = [m for m in sim.messages if m.msgtype == "template_card" and number in str(m.payload)]
            finals = sim.find_messages(to=staff, contains=f"{number}")
            finals = [m for m in finals if "审批全部通过" in m.text()]
            if status != "approved" or deciders != [lead, boss] or tasks != [(lead, "approved"), (boss, "approved")]:
                problems.append(f"{number}: status {status}, decisions {deciders}, tasks {tasks}")
            if sorted(c.touser[0] for c in cards) != sorted([lead, boss]) or len(finals) != 1:
                problems.append(f"{number}: cards to {[c.touser for c in cards]}, {len(finals)} final notices")
    return problems


async def approvals(fleet: Fleet, sim: WeComSimulator, people: list[tuple[str, str, str]], concurrency: int,
                    kill_after: int | None) -> tuple[float, list[float], list[str]]:
    """File one expense per lane through chat, then decide both steps; returns decisions/s, the tap ->
    next card latencies (ms) and the problems found afterwards."""
    watch = Watch(sim)
    numbers = list(await asyncio.gather(*(file(fleet, watch, staff) for staff, _, _ in people)))  # type: ignore[arg-type]
    firsts = [watch.expect(lead, card_to(lead, n)) for (_, lead, _), n in zip(people, numbers, strict=True)]
    await asyncio.gather(*firsts)
    await fleet.idle()
    slots = asyncio.Semaphore(concurrency)
    finished = 0

    async def one(person: tuple[str, str, str], number: str, first: asyncio.Future[Any]) -> tuple[float, float]:
        nonlocal finished
        staff, lead, boss = person
        result = await lane(fleet, watch, staff, lead, boss, number, first, slots)  # type: ignore[arg-type]
        finished += 1
        if kill_after is not None and finished == kill_after:
            print(f"        SIGKILL to one instance after {finished} of {len(people)} expenses")
            fleet.kill(len(fleet.procs) - 1)
        return result

    started = time.perf_counter()
    results = await asyncio.gather(*(one(p, n, f) for p, n, f in zip(people, numbers, firsts, strict=True)))
    elapsed = time.perf_counter() - started
    await fleet.idle()
    await asyncio.sleep(1.0)  # anything sent late (a doubled card) would show now
    return 2 * len(results) / elapsed, [r[0] * 1000 for r in results], check(fleet.db, sim, people, numbers)


async def acks(fleet: Fleet, sim: WeComSimulator, seconds: float) -> tuple[float, list[float], int]:
    payloads = Payloads(sim)
    urls = [f"{url}/wecom/callback" for url in fleet.urls]
    per = 32 // len(urls)
    await asyncio.gather(*(closed_loop(url, payloads.make(300, kind="location"), 1, per) for url in urls))  # warm-up
    await fleet.idle()
    runs = await asyncio.gather(*(closed_loop(url, payloads.make(int(seconds * 8000), kind="location"), seconds, per)
                                  for url in urls))
    rate = sum(r[0] for r in runs)
    latencies = [x for r in runs for x in r[1]]
    await fleet.idle()
    return rate, latencies, sum(r[2] for r in runs)


async def setup(server: Server, name: str, instances: int, args: argparse.Namespace, *, kill: bool) -> bool:
    server.admin(f"CREATE DATABASE {name}")
    db = server.with_database(name)
    folder = Path(tempfile.mkdtemp(prefix=f"scale-{name}-"))
    clock = FakeClock()
    sim = WeComSimulator(clock=clock.timestamp)
    sim.per_user_minute_limit = None
    people = build_org(sim, args.expenses)
    await sim.start()
    rules = folder / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    fleet = Fleet(sim, clock, db, rules, folder)
    try:
        await fleet.start(instances)
        rate, step1, problems = await approvals(fleet, sim, people, args.concurrency,
                                                args.expenses // 2 if kill else None)
        print(f"{name}: {instances} instance(s){', one killed mid-way' if kill else ''}")
        print(f"        approvals: {rate:.0f} decisions/s, tap -> next card p50 {pct(step1, 50):.0f} ms,"
              f" p99 {pct(step1, 99):.0f} ms")
        print("        lost or doubled: none" if not problems else "        PROBLEMS:\n          "
              + "\n          ".join(problems[:20]))
        if not kill:
            ack_rate, latencies, errors = await acks(fleet, sim, args.seconds)
            print(f"        acks: {ack_rate:.0f} req/s, p50 {pct(latencies, 50) * 1000:.1f} ms,"
                  f" p99 {pct(latencies, 99) * 1000:.1f} ms, errors {errors}")
        return not problems
    finally:
        await fleet.stop()
        await sim.stop()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--expenses", type=int, default=150)
    parser.add_argument("--concurrency", type=int, default=16, help="expenses in approval at the same time")
    parser.add_argument("--seconds", type=float, default=6.0, help="length of the acks run")
    args = parser.parse_args()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{os.cpu_count()} cores, load average before: {load}")
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(throwaway(durable=True))
        ok = await setup(server, "one", 1, args, kill=False)
        ok &= await setup(server, "two", 2, args, kill=False)
        ok &= await setup(server, "killed", 2, args, kill=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
