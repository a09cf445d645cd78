"""Serving the bot until interrupted, for production and demo alike.

The listening socket is guarded: a connection that sends no complete request within
`BOT_IDLE_TIMEOUT_SECONDS` (idle, or trickling its headers) is closed, and at most
`BOT_MAX_CONNECTIONS` are open at once: a new one at the cap closes the oldest idle one. Idle
sockets can then never use up the process's file descriptors and lock everyone out, WeCom included.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import resource
import signal
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp.web import RequestHandler

from bot.core import create_app
from bot.ops import metrics
from bot.parts import Plugin
from bot.runtime.clock import Clock
from config import Settings

log = logging.getLogger(__name__)

FD_RESERVE = 64  # descriptors kept for the database, WeCom calls and webhooks


class _Refuse(asyncio.Protocol):
    """A connection the guard turns away: closed as soon as it is made."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


class ConnectionGuard:
    """Protocol factory of the listening socket: at most `limit` connections are open. At the cap,
    the oldest connection without a request in progress (idle, or still sending its headers) is
    closed for the new one; when every one is busy the new one is turned away."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.server: web.Server | None = None
        self._busy: dict[asyncio.BaseTransport, int] = {}
        self._closing: set[RequestHandler] = set()  # closed by us, not yet gone from `connections`

    @web.middleware
    async def track(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Marks the connection busy while a request is handled (installed as the first middleware)."""
        transport = request.transport
        if transport is None:
            return await handler(request)
        self._busy[transport] = self._busy.get(transport, 0) + 1
        try:
            return await handler(request)
        finally:
            if self._busy[transport] == 1:
                del self._busy[transport]
            else:
                self._busy[transport] -= 1

    def __call__(self) -> asyncio.BaseProtocol:
        assert self.server is not None, "the guard listens only once the runner is set up"
        connections = self.server.connections
        self._closing.intersection_update(connections)
        excess = len(connections) - len(self._closing) - self.limit + 1
        if excess > 0:
            idle = [h for h in connections if h not in self._closing and h.transport not in self._busy]
            if len(idle) < excess:
                metrics.CONNECTIONS_REFUSED.inc()
                return _Refuse()
            for handler in idle[:excess]:
                self._closing.add(handler)
                handler.force_close()
                metrics.CONNECTIONS_EVICTED.inc()
        return self.server()


@dataclass
class Site:
    runner: web.AppRunner
    listener: asyncio.Server
    url: str

    async def close(self) -> None:
        self.listener.close()
        await self.runner.cleanup()
        await self.listener.wait_closed()


def connection_limit(wanted: int) -> int:
    """The cap, kept below the process's descriptor limit (raised to the hard limit when allowed)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted + FD_RESERVE:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(8, min(wanted, soft - FD_RESERVE))


async def start_site(app: web.Application, settings: Settings) -> Site:
    limit = connection_limit(settings.bot_max_connections)
    guard = ConnectionGuard(limit)
    app.middlewares.insert(0, guard.track)
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=settings.bot_idle_timeout_seconds)
    await runner.setup()
    guard.server = runner.server
    listener = await asyncio.get_running_loop().create_server(guard, settings.bot_host, settings.bot_port,
                                                              reuse_port=settings.bot_reuse_port or None)
    bound = listener.sockets[0].getsockname()[1]  # port 0: the one the OS chose
    log.info("listening on %s:%d, at most %d connections, idle ones closed after %.0f s",
             settings.bot_host, bound, limit, settings.bot_idle_timeout_seconds)
    return Site(runner, listener, f"http://{settings.bot_host}:{bound}")


async def wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def serve(settings: Settings, *, plugins: list[Plugin] | None = None) -> int:
    app = create_app(settings, clock=Clock(), plugins=plugins)
    site = await start_site(app, settings)
    gc.freeze()  # start-up objects live for the whole run: keep them out of every collection
    print(f"finance bot listening on {site.url} as {settings.bot_role} ({settings.instance_id};"
          f" WeCom callback: {site.url}/wecom/callback)", flush=True)
    try:
        await wait_for_signal()
    finally:
        await site.close()
    return 0
