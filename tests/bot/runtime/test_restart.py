"""Kill the bot process at a random moment and restart it: every acknowledged message is processed once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.paths import ROOT
from tests.world import World, free_port

pytestmark = pytest.mark.backends("sqlite", "postgres")


async def start_process(world: World, port: int, *args: str, log: Path | None = None,
                        **extra: str) -> asyncio.subprocess.Process:
    """`run_bot.py` as its own process on `port` (extra settings as keyword arguments; its log to `log`)."""
    env = {
        **os.environ,
        "WECOM_CORP_ID": world.sim.corp_id,
        "WECOM_AGENT_ID": str(world.sim.agent_id),
        "WECOM_SECRET": world.sim.secret,
        "WECOM_TOKEN": world.sim.token,
        "WECOM_AES_KEY": world.sim.aes_key,
        "WECOM_API_BASE": world.sim.base_url,
        "BOT_PORT": str(port),
        **world.storage_env(),
        "BOT_WORKERS": "1",
        "BOT_ONBOARDING": "false",  # one reply per message: the welcome card is not what this counts
        **{name.upper(): value for name, value in extra.items()},
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "run_bot.py", *args, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL if log is None else log.open("ab"),
    )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=20)
    assert b"listening" in line, line
    return proc


def states(world: World) -> dict[str, int]:
    return {r["status"]: int(r["n"]) for r in world.rows("SELECT status, COUNT(*) AS n FROM inbox GROUP BY status")}


def replies(world: World) -> int:
    return int(world.value("SELECT COUNT(*) FROM outbound WHERE order_key = 'user:liuyang'"))


async def test_kill_minus_nine_then_restart_loses_and_repeats_nothing(bare_world: World) -> None:
    world = bare_world
    # the bot runs as its own process on the machine's clock, so the simulator signs with that clock
    # too (callbacks more than 10 minutes off are refused); nothing here depends on the date
    world.clock.set(datetime.fromtimestamp(time.time(), UTC))
    port = free_port()
    world.sim.bot_callback_url = f"http://127.0.0.1:{port}/wecom/callback"
    proc = await start_process(world, port)
    total = 150
    sends = [asyncio.create_task(world.sim.send_text("liuyang", f"帮助 {i}")) for i in range(total)]
    try:  # killed while work is under way: some messages handled, others queued or still arriving
        for _ in range(400):
            if states(world).get("done", 0) >= 3:
                break
            await asyncio.sleep(0.005)
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    results = await asyncio.gather(*sends)
    acked = sum(r.status == 200 for r in results)
    at_kill = states(world)
    stored = sum(at_kill.values())
    assert acked <= stored  # every acknowledged message was durable
    assert at_kill.get("pending", 0) > 0 or acked < total  # the kill really interrupted work
    assert replies(world) == at_kill.get("done", 0)  # a reply exists exactly for finished work

    proc = await start_process(world, port)
    try:
        for _ in range(300):
            if states(world) == {"done": stored}:
                break
            await asyncio.sleep(0.05)
        assert states(world) == {"done": stored}
        assert replies(world) == stored  # nothing processed twice
    finally:
        proc.send_signal(signal.SIGTERM)
        await proc.wait()
