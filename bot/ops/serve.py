"""Serving the bot until interrupted, for production and demo alike."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal

from aiohttp import web

from bot.core import create_app
from bot.parts import Plugin
from bot.runtime.clock import Clock
from config import Settings


async def start_site(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port  # port 0: the one the OS chose
    return runner, f"http://{host}:{bound}"


async def wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def serve(settings: Settings, *, plugins: list[Plugin] | None = None) -> int:
    app = create_app(settings, clock=Clock(), plugins=plugins)
    runner, url = await start_site(app, settings.bot_host, settings.bot_port)
    gc.freeze()  # start-up objects live for the whole run: keep them out of every collection
    print(f"finance bot listening on {url} (WeCom callback: {url}/wecom/callback)", flush=True)
    try:
        await wait_for_signal()
    finally:
        await runner.cleanup()
    return 0
