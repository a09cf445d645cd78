"""Several instances, one behaviour: two bot processes on one PostgreSQL database, callbacks spread
over both, one killed with SIGKILL mid-burst. Every acknowledged message is answered exactly once,
reminders go out once, webhooks are delivered once. And the roles: an edge process only acknowledges,
a worker process (sharing the SQLite file) does the rest."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from socket import gethostname
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web

from simulator.core import CallbackResult
from storage.codec import to_db_time
from tests.bot.runtime.test_restart import start_process
from tests.world import World, free_port

HELP_USERS = ("chenjing", "zhoumin", "xuhui", "zhangwei", "lina")
SUBMITTERS = ("liuyang", "sunli")  # their first approvers: wangfang, zhaolei


class Hooks:
    """The finance platform's webhook receiver: counts deliveries per event id."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()

    async def receive(self, request: web.Request) -> web.Response:
        self.seen[(await request.json())["id"]] += 1
        return web.Response(status=204)


@pytest.fixture
async def hooks() -> AsyncIterator[tuple[Hooks, str]]:
    receiver = Hooks()
    app = web.Application()
    app.router.add_post("/hooks", receiver.receive)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield receiver, f"http://127.0.0.1:{port}/hooks"
    finally:
        await runner.cleanup()


def replies_by_user(world: World) -> dict[str, int]:
    rows = world.rows("SELECT order_key, COUNT(*) AS n FROM outbound WHERE channel = 'message' GROUP BY order_key")
    return {r["order_key"].removeprefix("user:"): int(r["n"]) for r in rows}


def answered(world: World, user: str, words: str) -> int:
    return int(world.value("SELECT COUNT(*) FROM outbound WHERE order_key = ? AND body LIKE ?",
                           (f"user:{user}", f"%{words}%")))


async def until(check: Callable[[], bool], timeout: float = 30.0, state: Callable[[], object] = lambda: None) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"condition not met in time: {state()}"
        await asyncio.sleep(0.1)


async def healthy(port: int) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                if resp.status == 200:
                    return
            await asyncio.sleep(0.1)
    raise AssertionError(f"instance on {port} never became ready")


@pytest.mark.backends("postgres")
async def test_two_instances_one_killed_mid_burst(bare_world: World, hooks: tuple[Hooks, str], tmp_path: Path) -> None:
    world = bare_world
    receiver, hook_url = hooks
    world.clock.set(datetime.fromtimestamp(time.time(), UTC))  # the processes sign and check with the real clock
    ports = [free_port(), free_port()]
    settings = {"finance_webhook_url": hook_url, "finance_webhook_secret": "s", "bot_lease_seconds": "2",
                "bot_quiet_hours": "", "bot_workers": "4"}
    procs = {}
    for port in ports:
        procs[port] = await start_process(world, port, log=tmp_path / f"bot-{port}.log", **settings)
    try:
        for port in ports:
            await healthy(port)
        leader = str(world.value("SELECT owner FROM leases WHERE name = 'sender'"))
        victim = next(p for p in ports if not leader.endswith(f":{p}"))

        acked: Counter[str] = Counter()
        turn = 0

        async def send(user: str, text: str) -> None:
            """As WeCom behind a load balancer: to either instance, to the other when one fails."""
            nonlocal turn
            turn += 1
            xml = world.sim.text_message(user, text)
            for port in (ports[turn % 2], ports[(turn + 1) % 2]):
                url = f"http://127.0.0.1:{port}/wecom/callback"
                result: CallbackResult = await world.sim.deliver(xml, url=url, retries=0, timeout=2)
                if result.status == 200:
                    acked[user] += 1
                    return

        async def helper(user: str) -> None:
            for i in range(8):
                await send(user, f"帮助 {i}")

        async def submitter(user: str) -> None:
            day = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
            for amount in ("88", "99"):
                await send(user, f"报销 {amount} 交通 {day} 客户拜访")
                await send(user, "确认")

        burst = [asyncio.create_task(helper(u)) for u in HELP_USERS]
        burst += [asyncio.create_task(submitter(u)) for u in SUBMITTERS]
        await until(lambda: int(world.value("SELECT COUNT(*) FROM inbox WHERE status = 'done'")) >= 10)
        procs[victim].send_signal(signal.SIGKILL)  # mid-burst: it holds claims, some work half done
        await procs[victim].wait()
        await asyncio.gather(*burst)

        total = sum(acked.values())
        assert total == len(HELP_USERS) * 8 + len(SUBMITTERS) * 4  # the survivor acks what the victim cannot
        await until(lambda: world.value("SELECT COUNT(*) FROM inbox WHERE status <> 'done'") == 0)
        # each message answered once: one help text per 帮助, one summary per 报销, one filing per 确认
        helped = {u: acked[u] for u in HELP_USERS}
        await until(lambda: all(replies_by_user(world).get(u, 0) >= n for u, n in helped.items()),
                    state=lambda: (replies_by_user(world), helped))
        for user in SUBMITTERS:
            for words in ("请确认报销", "已提交报销"):
                await until(lambda u=user, w=words: answered(world, u, w) >= 2, state=lambda u=user: (
                    [r["body"][:90] for r in world.rows("SELECT body FROM outbound WHERE order_key = ? ORDER BY id", (f"user:{u}",))],
                    [(r["id"], r["status"], r["payload"][80:200]) for r in world.rows("SELECT * FROM inbox WHERE user_id = ? ORDER BY id", (u,))]))
        await asyncio.sleep(0.5)
        assert {u: replies_by_user(world)[u] for u in HELP_USERS} == helped
        assert all(answered(world, u, w) == 2 for u in SUBMITTERS for w in ("请确认报销", "已提交报销"))

        # reminders: every open approval task's reminder comes due now, and goes out once
        tasks = int(world.value("SELECT COUNT(*) FROM approval_tasks WHERE status = 'pending'"))
        assert tasks == 4
        # an hour back: due by every process's clock (under faketime each process's clock starts with it)
        past = datetime.now(UTC) - timedelta(hours=1)
        world.rows("UPDATE timers SET due_at = ? WHERE kind = 'approval.remind'", (to_db_time(past),))
        world.rows("SELECT pg_notify('bot_wake', 'timers')")
        reminded = "SELECT COUNT(*) FROM outbound WHERE body LIKE '%提醒：%'"
        await until(lambda: int(world.value(reminded)) >= tasks)
        await asyncio.sleep(1.0)
        assert int(world.value(reminded)) == tasks

        # webhooks: every event delivered, each once
        events = [r["event_id"] for r in world.rows("SELECT event_id FROM webhook_events")]
        await until(lambda: set(receiver.seen) >= set(events))
        assert len(events) >= 4 and all(receiver.seen[e] == 1 for e in events)
        assert world.sim.dropped == []
    finally:
        for proc in procs.values():
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                await proc.wait()


@pytest.mark.backends("sqlite", "postgres")
async def test_an_edge_acknowledges_and_a_worker_answers(bare_world: World, tmp_path: Path) -> None:
    """Two processes on one SQLite file (or one PostgreSQL database). The edge serves only the callback endpoints (and health and
    metrics); the worker notices what the edge stored and answers; it has no callback endpoint."""
    world = bare_world
    world.clock.set(datetime.fromtimestamp(time.time(), UTC))
    edge_port, worker_port = free_port(), free_port()
    worker = await start_process(world, worker_port, "--role", "worker", log=tmp_path / "worker.log")
    edge = await start_process(world, edge_port, "--role", "edge", log=tmp_path / "edge.log")
    try:
        await healthy(worker_port)
        world.sim.bot_callback_url = f"http://127.0.0.1:{edge_port}/wecom/callback"
        after = len(world.sim.messages)
        assert (await world.sim.send_text("liuyang", "帮助")).status == 200
        reply = await world.sim.wait_for_message(to="liuyang", after=after, timeout=10)
        assert "报销" in reply.text()
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{edge_port}/healthz") as resp:
                body = await resp.json()
                assert resp.status == 200 and (body["role"], body["instance"]) == ("edge", f"{gethostname()}:{edge_port}")
            async with http.get(f"http://127.0.0.1:{edge_port}/metrics") as resp:  # instances stay apart when collected
                acks = [line for line in (await resp.text()).splitlines() if line.startswith("bot_callbacks_total{")]
                assert acks and all(f'instance="{gethostname()}:{edge_port}"' in line and 'role="edge"' in line
                                    for line in acks), acks
            async with http.get(f"http://127.0.0.1:{worker_port}/healthz") as resp:
                body = await resp.json()
                backend = "postgres" if world.postgres else "sqlite"
                assert (body["role"], body["backend"], "sender" in body["runs"]) == ("worker", backend, True)
            if world.postgres:  # only the worker listens for wake-ups: the edge runs no loop they would wake
                listeners = world.rows("SELECT count(*) AS n FROM pg_stat_activity"
                                       " WHERE datname = current_database() AND query LIKE 'LISTEN %'")
                assert listeners == [{"n": 1}], listeners
            async with http.post(f"http://127.0.0.1:{worker_port}/wecom/callback") as resp:
                assert resp.status == 404  # WeCom's callbacks go to edges
            async with http.get(f"http://127.0.0.1:{edge_port}/api/v1/openapi.json") as resp:
                assert resp.status == 404  # the finance API and pages are the workers'
    finally:
        for proc in (edge, worker):
            proc.send_signal(signal.SIGTERM)
            await proc.wait()
