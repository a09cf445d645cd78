"""The listening socket under a flood of idle and slow connections: the bot keeps answering."""

from __future__ import annotations

import asyncio
import os
from urllib.parse import urlsplit

import aiohttp
import pytest

from bot.core import create_app
from bot.ops.serve import start_site
from bot.parts import BOT
from tests.bot.runtime.test_restart import start_process
from tests.bot.wecom.test_callback_edges import request_head, signed, text_message
from tests.world import World, free_port

CAP = 20


async def test_idle_and_slow_sockets_cannot_lock_the_bot_out(bare_world: World) -> None:
    world = bare_world
    settings = world.make_settings(bot_port=0, bot_max_connections=CAP, bot_idle_timeout_seconds=1.0)
    app = create_app(settings, clock=world.clock)
    site = await start_site(app, settings)
    world.sim.bot_callback_url = f"{site.url}/wecom/callback"
    address = urlsplit(site.url)
    sockets: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        await app[BOT].extras["initial_sync"]
        # a callback whose body is still arriving is a request in progress: the flood must not cut it
        target, body = signed(world, text_message(world, "sunli", "帮助", 4_400_000))
        busy_reader, busy_writer = await asyncio.open_connection(address.hostname, address.port)
        busy_writer.write(request_head(target, Content_Length=str(len(body))) + body[:100])
        await busy_writer.drain()
        await asyncio.sleep(0.1)
        for i in range(3 * CAP):  # idle sockets, and sockets that trickle their headers
            reader, writer = await asyncio.open_connection(address.hostname, address.port)
            if i % 2:
                writer.write(b"POST /wecom/callback HTTP/1.1\r\nHost: bot\r\n")
            sockets.append((reader, writer))
        await asyncio.sleep(0.1)
        assert len(site.runner.server.connections) <= CAP  # type: ignore[union-attr]

        result = await world.sim.send_text("liuyang", "帮助")  # WeCom still gets through, at once
        assert result.status == 200 and result.attempts == 1
        busy_writer.write(body[100:])
        assert (await asyncio.wait_for(busy_reader.readline(), 3)).startswith(b"HTTP/1.1 200")
        busy_writer.close()
        async with aiohttp.ClientSession() as http, http.get(f"{site.url}/healthz") as resp:
            assert resp.status == 200

        # what is still open is closed once it has been idle (or slow) for the timeout
        left = [r for r, w in sockets if not w.is_closing() and not r.at_eof()]
        ends = await asyncio.wait_for(asyncio.gather(*(r.read() for r in left)), timeout=3)
        assert all(end == b"" for end in ends)
    finally:
        for _, writer in sockets:
            writer.close()
        await site.close()


async def test_edge_processes_can_share_one_port(bare_world: World) -> None:
    world = bare_world
    port = free_port()
    alone = world.make_settings(bot_port=port, bot_role="edge")
    shared = world.make_settings(bot_port=port, bot_role="edge", bot_reuse_port=True)
    assert shared.instance_id.endswith(f":{port}/{os.getpid()}")  # processes on one port tell apart by pid
    apps = [create_app(shared, clock=world.clock) for _ in range(2)]
    sites = [await start_site(app, shared) for app in apps]
    try:
        with pytest.raises(OSError):  # without the option the port is taken
            await start_site(create_app(alone, clock=world.clock), alone)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
            for i in range(24):  # a new connection each, as from WeCom's many senders
                target, body = signed(world, text_message(world, f"user{i}", "帮助", 4_500_000 + i))
                async with http.post(f"{sites[0].url}{target}", data=body) as resp:
                    assert resp.status == 200
        served = [site.runner.server.requests_count for site in sites]  # type: ignore[union-attr]
        assert all(n > 0 for n in served) and sum(served) == 24, served  # the kernel spread them over both
    finally:
        for site in sites:
            await site.close()


@pytest.mark.parametrize(("setting", "loop"), [({}, "uvloop"), ({"bot_event_loop": "asyncio"}, "asyncio")])
async def test_run_bot_serves_on_the_event_loop_its_settings_name(bare_world: World, setting: dict[str, str],
                                                                  loop: str) -> None:
    port = free_port()
    proc = await start_process(bare_world, port, "--role", "edge", **setting)
    try:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/healthz") as resp:
            health = await resp.json()
        assert (resp.status, health["role"], health["loop"]) == (200, "edge", loop)
    finally:
        proc.terminate()
        assert await proc.wait() == 0
