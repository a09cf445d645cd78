"""Approval throughput: card clicks through the encrypted callback to the next approver's card.

    python bench/approval_flow.py [--expenses 400] [--concurrency 16] [--dir /tmp]

The bot runs as its own process (`run_bot.py`, as in production) over a real SQLite file; the WeCom
simulator runs in this process on loopback and drives it with encrypted callbacks. The org has one lane per expense (a team leader under a department leader, and an
employee), so WeCom's per-member message limits never throttle the run. Each employee files one
6000 expense through chat (`报销 … ` then `确认`); with finance review switched off by the rules
file, each expense has a two-step chain: team leader, then department leader.

Timed phase: `--concurrency` expenses are in approval at any moment: each one's first approver
taps 同意; as soon as the next approver's card reaches the simulator's message/send, that approver
taps 同意 too, and when the submitter hears the result the next expense starts. Reported: decisions/s over the
phase, p50/p99 from a tap to the next approver's card (step 1) and to the submitter's final
notice (step 2). Afterwards the database and the simulator are checked for lost or doubled
decisions. Targets: >= 200 decisions/s, p99 < 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.runtime.clock import FakeClock  # noqa: E402
from simulator import WeComSimulator  # noqa: E402
from simulator.models import SentMessage  # noqa: E402
from tests.world import free_port  # noqa: E402

RULES = "[approval]\nfinance_review = false\n"


class Watch:
    """Resolves futures as the simulator records messages (one look at each new message, per recipient)."""

    def __init__(self, sim: WeComSimulator) -> None:
        self.sim = sim
        self.seen = 0
        self.by_user: dict[str, list[SentMessage]] = defaultdict(list)
        self.waiters: dict[str, list[tuple[Callable[[SentMessage], bool], asyncio.Future[SentMessage]]]] = \
            defaultdict(list)
        original = sim.notify

        def notify() -> None:
            original()
            self.scan()

        sim.notify = notify  # type: ignore[method-assign]

    def scan(self) -> None:
        new = self.sim.messages[self.seen:]
        self.seen = len(self.sim.messages)
        for msg in new:
            for user in msg.touser:
                self.by_user[user].append(msg)
                waiting = self.waiters[user]
                for entry in list(waiting):
                    match, fut = entry
                    if not fut.done() and match(msg):
                        fut.set_result(msg)
                        waiting.remove(entry)

    def expect(self, user: str, match: Callable[[SentMessage], bool]) -> asyncio.Future[SentMessage]:
        fut: asyncio.Future[SentMessage] = asyncio.get_running_loop().create_future()
        for msg in self.by_user[user]:
            if match(msg):
                fut.set_result(msg)
                return fut
        self.waiters[user].append((match, fut))
        return fut


def card_to(user: str, number: str) -> Callable[[SentMessage], bool]:
    return lambda m: m.msgtype == "template_card" and user in m.touser and number in str(m.payload.get("task_id"))


def text_to(user: str, *parts: str) -> Callable[[SentMessage], bool]:
    return lambda m: user in m.touser and m.msgtype in ("text", "markdown") and all(p in m.text() for p in parts)


def build_org(sim: WeComSimulator, lanes: int) -> list[tuple[str, str, str]]:
    sim.add_department(1, "公司", 0)
    people = []
    for i in range(lanes):
        dept, team = 1000 + i, 5000 + i
        sim.add_department(dept, f"事业部{i}", 1)
        sim.add_department(team, f"小组{i}", dept)
        boss, lead, staff = f"boss{i:04d}", f"lead{i:04d}", f"staff{i:04d}"
        sim.add_user(boss, f"总监{i}", [dept], leader_in=[dept])
        sim.add_user(lead, f"组长{i}", [team], leader_in=[team], direct_leader=[boss])
        sim.add_user(staff, f"员工{i}", [team], direct_leader=[lead])
        people.append((staff, lead, boss))
    return people


@dataclass
class Bench:
    """The simulator here, the bot in a process of its own."""

    sim: WeComSimulator
    clock: FakeClock
    db_path: Path
    proc: asyncio.subprocess.Process | None = None
    url: str = ""

    async def start_bot(self, rules: Path) -> None:
        port = free_port()
        env = {**os.environ, "WECOM_CORP_ID": self.sim.corp_id, "WECOM_AGENT_ID": str(self.sim.agent_id),
               "WECOM_SECRET": self.sim.secret, "WECOM_TOKEN": self.sim.token, "WECOM_AES_KEY": self.sim.aes_key,
               "WECOM_API_BASE": self.sim.base_url, "BOT_PORT": str(port), "BOT_DB": str(self.db_path),
               "BOT_RULES": str(rules), "BOT_QUIET_HOURS": ""}
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "run_bot.py", "--log-level", "WARNING", cwd=ROOT, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout=30)
        assert b"listening" in line, line
        self.url = f"http://127.0.0.1:{port}"
        self.sim.bot_callback_url = f"{self.url}/wecom/callback"
        while self._users_synced() < len(self.sim.org.users):  # the start-up org sync runs in the background
            await asyncio.sleep(0.1)
        await self.idle()

    def _users_synced(self) -> int:
        conn = sqlite3.connect(self.db_path)
        try:
            return int(conn.execute("SELECT COUNT(*) FROM users").fetchone()[0])
        except sqlite3.OperationalError:  # tables not created yet
            return 0
        finally:
            conn.close()

    async def idle(self, limit: float = 60.0) -> None:
        """Until the bot has nothing queued, pending or unsent (its /healthz says so)."""
        deadline = time.perf_counter() + limit
        async with aiohttp.ClientSession() as http:
            while time.perf_counter() < deadline:
                async with http.get(f"{self.url}/healthz") as resp:
                    health = await resp.json()
                if not health["queue"] and not health["inbox"].get("pending") and not health["outbound"].get("pending"):
                    return
                await asyncio.sleep(0.05)

    async def stop_bot(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            await self.proc.wait()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def file(world: Bench, watch: Watch, staff: str) -> str:
    day = world.clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    summary = watch.expect(staff, text_to(staff, "请确认"))
    await world.sim.send_text(staff, f"报销 6000 办公 {day} 基准测试")
    await summary
    await asyncio.sleep(0)
    filed = watch.expect(staff, text_to(staff, "已提交报销"))
    await world.sim.send_text(staff, "确认")
    msg = await filed
    return msg.text().split("已提交报销 ", 1)[1].split("：", 1)[0]


async def lane(world: Bench, watch: Watch, staff: str, lead: str, boss: str, number: str,
               first: asyncio.Future[SentMessage], slots: asyncio.Semaphore) -> tuple[float, float]:
    async with slots:
        return await _approve_both(world, watch, staff, lead, boss, number, await first)


async def _approve_both(world: Bench, watch: Watch, staff: str, lead: str, boss: str, number: str,
                        card: SentMessage) -> tuple[float, float]:
    sim, clock = world.sim, world.clock
    nxt = watch.expect(boss, card_to(boss, number))
    t0 = clock.timestamp()
    await sim.click_card(lead, str(card.payload["task_id"]), f"approve:{number}")
    boss_card = await nxt
    step1 = boss_card.time - t0
    done = watch.expect(staff, text_to(staff, number, "审批全部通过"))
    t1 = clock.timestamp()
    await sim.click_card(boss, str(boss_card.payload["task_id"]), f"approve:{number}")
    final = await done
    return step1, final.time - t1


def check(db: Path, world: Bench, people: list[tuple[str, str, str]], numbers: list[str]) -> list[str]:
    """Every expense approved by exactly its two approvers, one card each, one final notice."""
    problems = []
    conn = sqlite3.connect(db)
    try:
        for (_staff, lead, boss), number in zip(people, numbers, strict=True):
            status, route = conn.execute("SELECT status, route FROM expenses WHERE number = ?", (number,)).fetchone()
            deciders = [d["user"] for s in json.loads(route) for d in s["decisions"]]
            tasks = conn.execute("SELECT approver, status FROM approval_tasks WHERE number = ? ORDER BY id",
                                 (number,)).fetchall()
            if status != "approved" or deciders != [lead, boss] or tasks != [(lead, "approved"), (boss, "approved")]:
                problems.append(f"{number}: status {status}, decisions {deciders}, tasks {tasks}")
        for (staff, lead, boss), number in zip(people, numbers, strict=True):
            cards = [m for m in world.sim.messages if m.msgtype == "template_card" and number in str(m.payload)]
            finals = world.sim.find_messages(to=staff, contains="审批全部通过")
            if sorted(c.touser[0] for c in cards) != sorted([lead, boss]) or len(finals) != 1:
                problems.append(f"{number}: cards to {[c.touser for c in cards]}, {len(finals)} final notices")
    finally:
        conn.close()
    return problems


async def run(expenses: int, concurrency: int, folder: str | None) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="approval-bench-", dir=folder))
    clock = FakeClock()
    sim = WeComSimulator(clock=clock.timestamp)
    sim.per_user_minute_limit = None
    people = build_org(sim, expenses)
    await sim.start()
    rules = tmp / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    world = Bench(sim=sim, clock=clock, db_path=tmp / "bot.db")
    watch = Watch(sim)
    await world.start_bot(rules)
    try:
        started = time.perf_counter()
        numbers = list(await asyncio.gather(*(file(world, watch, staff) for staff, _, _ in people)))
        print(f"filed {len(numbers)} expenses through chat in {time.perf_counter() - started:.1f}s")
        firsts = [watch.expect(lead, card_to(lead, n)) for (_, lead, _), n in zip(people, numbers, strict=True)]
        await asyncio.gather(*firsts)
        await world.idle()
        await asyncio.sleep(0.5)

        slots = asyncio.Semaphore(concurrency)
        started = time.perf_counter()
        results = await asyncio.gather(*(lane(world, watch, s, lead, boss, n, f, slots)
                                         for (s, lead, boss), n, f in zip(people, numbers, firsts, strict=True)))
        elapsed = time.perf_counter() - started
        await world.idle()
        step1 = [r[0] * 1000 for r in results]
        step2 = [r[1] * 1000 for r in results]
        decisions = 2 * len(results)
        print(f"{decisions} decisions, {concurrency} expenses in flight, {elapsed:.2f}s: "
              f"{decisions / elapsed:.0f} decisions/s")
        print(f"tap -> next approver's card: p50 {statistics.median(step1):.0f} ms, p99 {pct(step1, 99):.0f} ms")
        print(f"tap -> submitter's final notice: p50 {statistics.median(step2):.0f} ms, p99 {pct(step2, 99):.0f} ms")
        problems = check(world.db_path, world, people, numbers)
        print("lost or doubled decisions: none" if not problems else "PROBLEMS:\n  " + "\n  ".join(problems[:20]))
        ok = not problems and decisions / elapsed >= 200 and pct(step1, 99) < 200
        print("targets (>= 200 decisions/s, p99 < 200 ms): " + ("met" if ok else "NOT met"))
        return 0 if not problems else 1
    finally:
        await world.stop_bot()
        await sim.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--expenses", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16, help="expenses in approval at the same time")
    parser.add_argument("--dir", default=None, help="where the SQLite file goes (e.g. /dev/shm to leave out fsync)")
    args = parser.parse_args()
    return asyncio.run(run(args.expenses, args.concurrency, args.dir))


if __name__ == "__main__":
    sys.exit(main())
