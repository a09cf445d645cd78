"""/healthz tells a load balancer the truth: not ready before the org chart is mirrored; a refused
app secret holds messages (visible to admins) instead of losing them, and they go out once it works."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from tests.world import World


async def health(world: World) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(f"{world.url}/healthz") as resp:
        return resp.status, await resp.json()


def outbound_rows(world: World, key: str) -> list[tuple[str, int]]:
    found = world.rows("SELECT status, attempts FROM outbound WHERE order_key = ? ORDER BY id", (key,))
    return [(r["status"], r["attempts"]) for r in found]


async def test_not_ready_until_the_org_chart_is_mirrored(bare_world: World) -> None:
    world = bare_world
    world.sim.fail_next("department/list", 1, delay=1.0)  # WeCom is slow to list the org at start-up
    await world.start_bot(wait_sync=False)
    status, body = await health(world)
    assert status == 503 and body["status"] == "starting" and body["org_mirror"] is False
    await world.synced()
    status, body = await health(world)
    assert status == 200 and body["status"] == "ok" and body["org_mirror"] is True


async def test_a_failed_start_up_sync_is_tried_again_soon(bare_world: World) -> None:
    world = bare_world
    world.sim.fail_next("department/list", 1, errcode=48002)  # WeCom refuses the first read
    await world.start_bot()
    status, _ = await health(world)
    assert status == 503
    await asyncio.wait_for(world.bot.extras["initial_sync_retry"], timeout=5)  # not at the hourly sync
    status, body = await health(world)
    assert status == 200 and body["org_mirror"] is True


async def test_a_refused_secret_holds_messages_and_they_go_out_once_it_works(world: World) -> None:
    sim = world.sim
    secret = sim.secret
    sim.secret = "rotated-in-the-admin-console"
    sim.invalidate_tokens()
    calls = sim.calls["gettoken"]
    for text in ("帮助", "help"):
        await world.say("sunli", text)
    # the first reply is held; the second waits behind it, in order
    await sim.wait_for(lambda: outbound_rows(world, "user:sunli") == [("held", 0), ("pending", 0)], timeout=5)
    assert sim.calls["gettoken"] - calls <= 2  # one probe, not a storm that gets the IP blocked
    status, body = await health(world)
    assert status == 200 and body["status"] == "degraded" and body["wecom"] == "bad_secret"

    sim.secret = secret  # the secret works again
    for _ in range(5):
        world.clock.advance(61)
        world.bot.sender.wake()
        try:
            await sim.wait_for(lambda: len(sim.messages_to("sunli")) == 2, timeout=1)
            break
        except TimeoutError:
            continue
    # the hold counted no attempt
    await sim.wait_for(lambda: outbound_rows(world, "user:sunli") == [("sent", 1), ("sent", 1)], timeout=5)
    alert = await sim.wait_for_message(to="xuhui", contains="40001")
    assert "WECOM_SECRET" in alert.text()
    status, body = await health(world)
    assert status == 200 and body["wecom"] == "ok"
    assert world.value("SELECT COUNT(*) FROM audit_log WHERE action = 'wecom.bad_secret'") == 1
