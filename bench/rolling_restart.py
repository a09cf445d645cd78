"""The deployment recipe, run: two instances behind nginx, both replaced one after the other while
WeCom keeps sending.

    python bench/rolling_restart.py [--users 40] [--rate 60] [--seconds 24]

Starts a throwaway PostgreSQL server (fsync'd commits), two `run_bot.py` instances (role `all`) on
it, and nginx (Debian's, `/usr/sbin/nginx`) with `docs/nginx-bot.conf` (its ports replaced) in front.
The WeCom simulator sends `帮助` text callbacks to nginx at `--rate` per second (redelivering as WeCom
does), from `--users` members. Meanwhile each instance in turn gets SIGTERM, exits, and a new
process takes its port once the old one is gone; the next instance is rolled once the new one's
/healthz says ready and nginx's `fail_timeout` (3 s) has passed, so nginx uses the new one again. Reported: callbacks sent, acknowledged, refused; each acknowledged message must
be answered exactly once (zero lost, zero doubled).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.callback_throughput import spawn  # noqa: E402
from simulator import WeComSimulator  # noqa: E402
from tests.postgres import throwaway  # noqa: E402
from tests.world import free_port  # noqa: E402

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
FAIL_TIMEOUT = 3.0  # docs/nginx-bot.conf: how long nginx skips an instance that refused a connection


def nginx_conf(folder: Path, listen: int, ports: list[int]) -> Path:
    """`docs/nginx-bot.conf` with this run's ports, inside a minimal nginx.conf of its own."""
    snippet = (ROOT / "docs/nginx-bot.conf").read_text(encoding="utf-8")
    snippet = snippet.replace("listen 8080", f"listen 127.0.0.1:{listen}")
    for default, port in zip((8081, 8082), ports, strict=True):
        snippet = re.sub(rf"127\.0\.0\.1:{default}\b", f"127.0.0.1:{port}", snippet)
    (folder / "finance-bot.conf").write_text(snippet, encoding="utf-8")
    temp = " ".join(f"{kind}_temp_path {folder}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = (f"daemon off; worker_processes 1; pid {folder}/nginx.pid; error_log {folder}/error.log warn;\n"
            f"events {{ worker_connections 1024; }}\n"
            f"http {{ access_log off; {temp} include {folder}/finance-bot.conf; }}\n")
    path = folder / "nginx.conf"
    path.write_text(main, encoding="utf-8")
    return path


class Instances:
    def __init__(self, sim: WeComSimulator, db: str, folder: Path) -> None:
        self.env = {**os.environ, "WECOM_CORP_ID": sim.corp_id, "WECOM_AGENT_ID": str(sim.agent_id),
                    "WECOM_SECRET": sim.secret, "WECOM_TOKEN": sim.token, "WECOM_AES_KEY": sim.aes_key,
                    "WECOM_API_BASE": sim.base_url, "BOT_DB": db, "BOT_DATA_DIR": str(folder),
                    "BOT_AUDIT_KEY": "rolling-restart-trial-audit-key-0123456789", "BOT_QUIET_HOURS": "",
                    "BOT_ONBOARDING": "false", "BOT_LEASE_SECONDS": "5"}
        self.procs: dict[int, asyncio.subprocess.Process] = {}

    async def start(self, port: int, name: str) -> None:
        self.procs[port] = await spawn(["run_bot.py", "--log-level", "WARNING"],
                                       {**self.env, "BOT_PORT": str(port), "BOT_INSTANCE_ID": name})

    async def ready(self, port: int, limit: float = 60.0) -> float:
        started = time.perf_counter()
        async with aiohttp.ClientSession() as http:
            while time.perf_counter() - started < limit:
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                        if resp.status == 200:
                            return time.perf_counter() - started
                await asyncio.sleep(0.1)
        raise RuntimeError(f"instance on {port} never became ready")

    async def roll(self, port: int, name: str) -> tuple[float, float]:
        """SIGTERM, wait for the exit, start the new one on the same port: (stopping s, starting s)."""
        started = time.perf_counter()
        old = self.procs[port]
        old.send_signal(signal.SIGTERM)
        await old.wait()
        stopped = time.perf_counter()
        await self.start(port, name)
        await self.ready(port)
        return stopped - started, time.perf_counter() - stopped

    async def stop(self) -> None:
        for proc in self.procs.values():
            if proc.returncode is None:
                proc.terminate()
            await proc.wait()


def pending(db: str) -> int:
    with psycopg.connect(db, autocommit=True) as conn:
        row = conn.execute("SELECT (SELECT COUNT(*) FROM inbox WHERE status = 'pending')"
                           " + (SELECT COUNT(*) FROM outbound WHERE status = 'pending')").fetchone()
    return int(row[0]) if row else 0


async def run(args: argparse.Namespace) -> int:
    folder = Path(tempfile.mkdtemp(prefix="rolling-restart-"))
    folder.chmod(0o777)  # nginx's worker runs as an unprivileged user
    sim = WeComSimulator()
    sim.per_user_minute_limit = None
    sim.add_department(1, "公司", 0)
    users = [f"member{i:03d}" for i in range(args.users)]
    for user in users:
        sim.add_user(user, user, [1])
    await sim.start()
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(throwaway(durable=True))
        server.admin("CREATE DATABASE rolling")
        db = server.with_database("rolling")
        listen, ports = free_port(), [free_port(), free_port()]
        fleet = Instances(sim, db, folder)
        nginx: asyncio.subprocess.Process | None = None
        try:
            for port, name in zip(ports, ("a1", "b1"), strict=True):
                await fleet.start(port, name)
            for port in ports:
                await fleet.ready(port)
            nginx = await asyncio.create_subprocess_exec(NGINX, "-p", str(folder), "-c",
                                                         str(nginx_conf(folder, listen, ports)))
            sim.bot_callback_url = f"http://127.0.0.1:{listen}/wecom/callback"
            await fleet.ready(listen)  # through nginx
            print(f"nginx {listen} -> instances {ports[0]}, {ports[1]} on PostgreSQL; {os.cpu_count()} cores,"
                  f" load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")

            acked: Counter[str] = Counter()
            refused = 0
            sent = 0
            stop_at = time.perf_counter() + args.seconds

            async def one(user: str, n: int) -> None:
                nonlocal refused
                result = await sim.send_text(user, f"帮助 {n}")
                if result.status == 200:
                    acked[user] += 1
                else:
                    refused += 1

            async def traffic() -> None:
                nonlocal sent
                tasks = []
                while time.perf_counter() < stop_at:
                    tasks.append(asyncio.create_task(one(users[sent % len(users)], sent)))
                    sent += 1
                    await asyncio.sleep(1 / args.rate)
                await asyncio.gather(*tasks)

            load = asyncio.create_task(traffic())
            await asyncio.sleep(args.seconds / 6)
            for port, name in zip(ports, ("a2", "b2"), strict=True):
                stopping, starting = await fleet.roll(port, name)
                print(f"rolled {port}: old one stopped in {stopping:.1f} s, new one listening and ready {starting:.1f} s later")
                await asyncio.sleep(FAIL_TIMEOUT + 1)  # until nginx sends to this port again
            await load
            deadline = time.perf_counter() + 120
            while pending(db) and time.perf_counter() < deadline:
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.0)
            answers = Counter(u for m in sim.messages if m.msgtype in ("text", "markdown") for u in m.touser)
            lost = {u: acked[u] - answers[u] for u in users if answers[u] < acked[u]}
            doubled = {u: answers[u] - acked[u] for u in users if answers[u] > acked[u]}
            print(f"callbacks sent {sent}, acknowledged {sum(acked.values())}, refused {refused}"
                  f" (redelivery attempts {sum(r.attempts - 1 for _, _, r in sim.deliveries)})")
            statuses = Counter(s for _, _, r in sim.deliveries for s in r.statuses)
            print(f"HTTP statuses of every attempt: {dict(statuses)}")
            print(f"answers: {sum(answers.values())}; lost {sum(lost.values())}, doubled {sum(doubled.values())}")
            return 0 if not lost and not doubled and not refused else 1
        finally:
            if nginx is not None and nginx.returncode is None:
                nginx.send_signal(signal.SIGQUIT)
                await nginx.wait()
            await fleet.stop()
            await sim.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--rate", type=float, default=60.0, help="callbacks per second")
    parser.add_argument("--seconds", type=float, default=24.0)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
