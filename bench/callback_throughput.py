"""Callback ack throughput and latency: the bot's real endpoint against a naive reference handler.

    python bench/callback_throughput.py [--seconds 8] [--concurrency 32] [--rate 1000]
                                        [--backend sqlite|postgres] [--edge [--pause-worker]]
                                        [--loop uvloop|asyncio] [--naive-loop asyncio|uvloop]

Both servers run in their own process on loopback (and the WeCom simulator the bot replies to in a
third, so the load generator measures without sharing its CPU) and receive the same kind of distinct
encrypted callbacks (text messages that need a reply, LOCATION events that need none), prepared before the
clock starts. Phases:
  1. closed loop, `--concurrency` requests in flight: requests/s and ack latency, bot vs naive, ratio;
  2. open loop at `--rate` requests/s: p50/p99 ack latency of both;
  3. the bot with its workers saturated by slow handlers (image messages whose media download
     takes 2 s each): ack latency of text messages sent meanwhile.
The bot writes every callback to its inbox before answering (de-duplicated, group-committed; on
PostgreSQL a throwaway server with fsync'd commits); the naive handler stores nothing. `--edge` runs
the bot as two processes, an edge that takes the callbacks and a worker that processes them (sharing
the SQLite file, or the PostgreSQL database); without it one `all` process does both. On a machine
with few cores the worker competes with the edge for them; `--pause-worker` stops it (SIGSTOP) while
the bot's acks are timed in phases 1 and 2, as if it ran on cores of its own, and lets it drain the
inbox afterwards (phase 3 always runs with the worker).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulator import WeComSimulator  # noqa: E402
from simulator.crypto import CallbackCipher, new_nonce  # noqa: E402
from tests.postgres import throwaway  # noqa: E402
from tests.world import free_port  # noqa: E402

USERS = [f"bench{i:04d}" for i in range(1000)]



LAST_LINE: dict[int, bytes] = {}


async def _media_id(proc: asyncio.subprocess.Process) -> str:
    return LAST_LINE[proc.pid].split()[-1].decode()


async def spawn(args: list[str], env: dict[str, str]) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *args, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
    if b"listening" not in line:
        raise RuntimeError(f"server did not start: {line!r}")
    LAST_LINE[proc.pid] = line
    return proc


class Payloads:
    """Distinct, signed, encrypted callbacks, made before timing starts."""

    def __init__(self, sim: WeComSimulator) -> None:
        self.sim = sim
        self.cipher = CallbackCipher(sim.token, sim.aes_key, sim.corp_id)
        self.msg_id = 10**15 + secrets.randbelow(10**12)

    def make(self, n: int, kind: str = "mixed") -> list[tuple[dict[str, str], bytes]]:
        out = []
        now = int(time.time())
        for i in range(n):
            user = USERS[i % len(USERS)]
            self.msg_id += 1
            if kind == "text" or (kind == "mixed" and i % 2 == 0):
                xml = (f"<xml><ToUserName><![CDATA[{self.sim.corp_id}]]></ToUserName><FromUserName><![CDATA[{user}]]>"
                       f"</FromUserName><CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                       f"<Content><![CDATA[帮助]]></Content><MsgId>{self.msg_id}</MsgId>"
                       f"<AgentID>{self.sim.agent_id}</AgentID></xml>")
            else:
                xml = (f"<xml><ToUserName><![CDATA[{self.sim.corp_id}]]></ToUserName><FromUserName><![CDATA[{user}]]>"
                       f"</FromUserName><CreateTime>{now}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
                       f"<Event><![CDATA[LOCATION]]></Event><Latitude>31.{i}</Latitude><Longitude>121.{i}</Longitude>"
                       f"<Precision>30</Precision><AgentID>{self.sim.agent_id}</AgentID></xml>")
            out.append(self.envelope(xml))
        return out

    def envelope(self, xml: str) -> tuple[dict[str, str], bytes]:
        env = self.cipher.envelope(xml, timestamp=str(int(time.time())), nonce=new_nonce(),
                                   agent_id=self.sim.agent_id)
        return env.query, env.body.encode()


async def timed_post(http: aiohttp.ClientSession, url: str, params: dict[str, str], body: bytes,
                     latencies: list[float]) -> int:
    """Post one callback, record how long the ack took; 1 if it was not a 200."""
    t0 = time.perf_counter()
    try:
        async with http.post(url, params=params, data=body) as resp:
            await resp.read()
            status = resp.status
    except aiohttp.ClientError:  # a connection the server closed under overload: WeCom would redeliver
        status = 0
    latencies.append(time.perf_counter() - t0)
    return int(status != 200)


async def closed_loop(url: str, payloads: list[tuple[dict[str, str], bytes]], seconds: float,
                      concurrency: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    it = iter(payloads)
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                try:
                    params, body = next(it)
                except StopIteration:
                    return
                errors += await timed_post(http, url, params, body, latencies)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies, errors


async def open_loop(url: str, payloads: list[tuple[dict[str, str], bytes]], rate: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

        async def one(params: dict[str, str], body: bytes) -> None:
            nonlocal errors
            errors += await timed_post(http, url, params, body, latencies)

        tasks = []
        start = time.perf_counter()
        for i, (params, body) in enumerate(payloads):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(params, body)))
        await asyncio.gather(*tasks)
    return latencies, errors


async def drain(health_url: str, limit: float = 120.0) -> float:
    """Wait until the bot has processed and sent everything; returns how long that took."""
    started = time.perf_counter()
    async with aiohttp.ClientSession() as http:
        while time.perf_counter() - started < limit:
            async with http.get(health_url) as resp:
                health = await resp.json()
            if health["queue"] == 0 and not health["inbox"].get("pending") and not health["outbound"].get("pending"):
                break
            await asyncio.sleep(0.2)
    return time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc): a load-independent cost per ack."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pids(port: int) -> list[int]:
    """The PostgreSQL server listening on `port` and its backend processes (Linux /proc): its CPU is
    the other half of an ack's cost on these shared cores."""
    parents: dict[int, int] = {}
    postmaster = None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            parents[int(proc.name)] = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if f"\0-p\0{port}\0" in (proc / "cmdline").read_text():
                postmaster = int(proc.name)
    return [] if postmaster is None else [postmaster, *(pid for pid, ppid in parents.items() if ppid == postmaster)]


def total_cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):  # a backend that ended meanwhile
            total += cpu_seconds(pid)
    return total


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000


def summary(name: str, rps: float | None, lat: list[float], errors: int) -> str:
    head = f"{name:<6}" + (f" {rps:8.0f} req/s" if rps is not None else "")
    return (f"{head}  n={len(lat)}  p50={pct(lat, 0.50):.2f} ms  p99={pct(lat, 0.99):.2f} ms  "
            f"max={max(lat) * 1000:.1f} ms  errors={errors}")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--phases", default="1,2,3", help="which phases to run, e.g. 1 or 1,2")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--edge", action="store_true", help="an edge process takes the callbacks, a worker the rest")
    parser.add_argument("--edge-processes", type=int, default=1,
                        help="with --edge: this many edge processes share the port (BOT_REUSE_PORT)")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop",
                        help="the bot's event loop (BOT_EVENT_LOOP)")
    parser.add_argument("--naive-loop", choices=["asyncio", "uvloop"], default="asyncio",
                        help="the reference handler's event loop (the textbook one: asyncio's own)")
    parser.add_argument("--pause-worker", action="store_true",
                        help="with --edge: pause the worker (SIGSTOP) while acks are measured, as if it had cores"
                             " of its own elsewhere; it drains the inbox once resumed")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        db = None
        if args.backend == "postgres":
            server = stack.enter_context(throwaway(durable=True))
            server.admin("CREATE DATABASE bench")
            db = server.with_database("bench")
        await run(args, db)


async def run(args: argparse.Namespace, db: str | None) -> None:

    sim = WeComSimulator()  # keys and ids only: the serving simulator runs in its own process
    payloads = Payloads(sim)
    tmp = tempfile.mkdtemp(prefix="bench-callback-")
    bot_port, naive_port, sim_port = free_port(), free_port(), free_port()
    sim_proc = await spawn(["bench/sim_server.py", str(sim_port), str(len(USERS))], dict(os.environ))
    sim.base_url = f"http://127.0.0.1:{sim_port}"
    slow_media_id = await _media_id(sim_proc)
    env = {**os.environ, "WECOM_CORP_ID": sim.corp_id, "WECOM_AGENT_ID": str(sim.agent_id),
           "WECOM_SECRET": sim.secret, "WECOM_TOKEN": sim.token, "WECOM_AES_KEY": sim.aes_key,
           "WECOM_API_BASE": sim.base_url, "BOT_PORT": str(bot_port), "BOT_DB": db or f"{tmp}/bot.db",
           "BOT_QUIET_HOURS": "", "LOG_LEVEL": "WARNING", "BOT_DATA_DIR": tmp,
           "BOT_EVENT_LOOP": args.loop}
    script = os.environ.get("BENCH_BOT", "run_bot.py")
    if args.edge_processes > 1:
        env["BOT_REUSE_PORT"] = "true"
    bots = [await spawn([script, "--log-level", "WARNING", "--role", "edge" if args.edge else "all"], env)
            for _ in range(args.edge_processes)]
    acking = bots[:]
    health_url = f"http://127.0.0.1:{bot_port}/healthz"
    if args.edge:
        worker_port = free_port()
        bots.append(await spawn([script, "--log-level", "WARNING", "--role", "worker"],
                                {**env, "BOT_PORT": str(worker_port)}))
        health_url = f"http://127.0.0.1:{worker_port}/healthz"
    naive = await spawn(["bench/naive_callback.py", sim.token, sim.aes_key, sim.corp_id, str(naive_port),
                         args.naive_loop], env)
    bot_url = f"http://127.0.0.1:{bot_port}/wecom/callback"
    naive_url = f"http://127.0.0.1:{naive_port}/wecom/callback"
    sim.bot_callback_url = bot_url
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    shape = f"{args.edge_processes} edge + 1 worker processes" if args.edge else "one all process"
    print(f"backend {args.backend}, {shape}; event loop: bot {args.loop}, naive {args.naive_loop};"
          f" {os.cpu_count()} cores, load average before: {load}")
    phases = set(args.phases.split(","))
    paused = bots[len(acking):] if args.edge and args.pause_worker else []

    @contextlib.contextmanager
    def worker_paused() -> Iterator[None]:
        for proc in paused:
            proc.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            for proc in paused:
                proc.send_signal(signal.SIGCONT)

    try:
        await closed_loop(naive_url, payloads.make(500), 1, args.concurrency)  # warm-up both
        await closed_loop(bot_url, payloads.make(500), 1, args.concurrency)
        await drain(health_url)
        if "1" in phases:
            per_run = int(args.seconds * 15000)
            print(f"phase 1: closed loop, {args.concurrency} in flight, {args.seconds:.0f} s each "
                  "(text messages and LOCATION events, all distinct)")
            batch = payloads.make(per_run)
            cpu = cpu_seconds(naive.pid)
            naive_rps, naive_lat, naive_err = await closed_loop(naive_url, batch, args.seconds, args.concurrency)
            naive_cpu = (cpu_seconds(naive.pid) - cpu) / len(naive_lat)
            batch = payloads.make(per_run)
            database = server_pids(urlsplit(db).port or 5432) if db else []
            with worker_paused():
                cpu, db_cpu = sum(cpu_seconds(proc.pid) for proc in acking), total_cpu(database)
                bot_rps, bot_lat, bot_err = await closed_loop(bot_url, batch, args.seconds, args.concurrency)
                bot_cpu = (sum(cpu_seconds(proc.pid) for proc in acking) - cpu) / len(bot_lat)
                db_cpu = (total_cpu(database) - db_cpu) / len(bot_lat)
            print(summary("naive", naive_rps, naive_lat, naive_err))
            print(summary("bot", bot_rps, bot_lat, bot_err))
            print(f"ratio bot/naive throughput: {bot_rps / naive_rps:.2f}")
            print(f"CPU per ack (the acking processes, all threads): naive {naive_cpu * 1e6:.0f} µs,"
                  f" bot {bot_cpu * 1e6:.0f} µs; ratio naive/bot {naive_cpu / bot_cpu:.2f}")
            if database:
                print(f"        and the PostgreSQL server's processes {db_cpu * 1e6:.0f} µs per ack, on the same cores")
            if phases - {"1"}:
                print(f"        the bot then finished processing and replying in {await drain(health_url):.1f} s")

        if "2" in phases:
            n = int(args.rate * args.seconds)
            print(f"phase 2: open loop at {args.rate:.0f} req/s for {args.seconds:.0f} s")
            lat, err = await open_loop(naive_url, payloads.make(n), args.rate)
            print(summary("naive", None, lat, err))
            with worker_paused():
                lat, err = await open_loop(bot_url, payloads.make(n), args.rate)
            print(summary("bot", None, lat, err))
            print(f"        the bot then finished processing and replying in {await drain(health_url):.1f} s")

        if "3" not in phases:
            return
        print("phase 3: workers saturated by slow handlers (image downloads take 2 s), text acks meanwhile")
        slow = []
        for i in range(200):  # 200 users each waiting on a slow download
            payloads.msg_id += 1
            xml = (f"<xml><ToUserName>{sim.corp_id}</ToUserName><FromUserName>{USERS[i]}</FromUserName>"
                   f"<CreateTime>{int(time.time())}</CreateTime><MsgType>image</MsgType>"
                   f"<PicUrl>{sim.base_url}/sim/pic/{slow_media_id}</PicUrl><MediaId>{slow_media_id}</MediaId>"
                   f"<MsgId>{payloads.msg_id}</MsgId><AgentID>{sim.agent_id}</AgentID></xml>")
            slow.append(payloads.envelope(xml))
        await closed_loop(bot_url, slow, 30, 50)
        lat, err = await open_loop(bot_url, payloads.make(int(args.rate * 3), kind="text"), args.rate / 2)
        print(summary("bot", None, lat, err) + "  (under load; max must stay < 1000 ms)")
    finally:
        for proc in (*bots, naive, sim_proc):
            proc.terminate()
            await proc.wait()


if __name__ == "__main__":
    asyncio.run(main())
