"""The composition root: wires settings, storage, WeCom, workers, plugins and HTTP routes together.

Nothing imports this module back: plugins see the running bot through `bot.parts`.

Resource lifetimes live in one `cleanup_ctx` so a part that never started is never stopped, and the
order is explicit: database, then the pending inbox (recovered before any new callback is accepted),
then the background loops.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from functools import partial
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from bot.finance.api import FinanceApi
from bot.finance.webhooks import WebhookDelivery
from bot.h5.budgets import BudgetPage
from bot.h5.pages import UploadPage
from bot.h5.stats import StatsPage
from bot.h5.verify import VerifyPage
from bot.h5.workbench import Workbench
from bot.insight import Insight
from bot.ops import metrics
from bot.parts import BOT, Bot, Plugin
from bot.runtime.audit_chain import anchor_chain, open_chain
from bot.runtime.bus import INBOX, OUTBOUND, TIMERS, Bus
from bot.runtime.clock import Clock
from bot.runtime.dispatcher import Dispatcher
from bot.runtime.feed import FleetFeed, LocalFeed
from bot.runtime.inbox import AckGate, InboxWriter, load_pending
from bot.runtime.leases import Leases
from bot.runtime.ocr_workers import OcrWorkers
from bot.runtime.retention import prune
from bot.runtime.retry import backoff
from bot.runtime.scheduler import Scheduler
from bot.runtime.worker import Worker
from bot.wecom.callback import CallbackRoutes
from bot.wecom.client import SharedTokens, WeComClient
from bot.wecom.gateway import BotGateway
from bot.wecom.orgsync import DeactivationLimit, OrgSync
from bot.wecom.sender import OutboundSender
from chat.context import Services
from config import Settings
from handlers.registry import build_events, build_router
from handlers.rules import load_rules
from storage.connect import open_database
from storage.db import Database
from storage.inbox import InboxItem, InboxRepo
from storage.org import OrgRepo
from storage.outbound import OutboundRepo
from storage.postgres import PostgresDatabase
from storage.reads import ThreadReads
from storage.uploads import UploadFiles, Uploads

log = logging.getLogger(__name__)

INITIAL_SYNC_RETRY = 1.0


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    plugins: list[Plugin] | None = None,
    initial_sync: bool = True,
) -> web.Application:
    """The bot's HTTP application for its role (see README, "Roles"): an edge serves the callback
    endpoints only; a worker everything else; `all` both."""
    clock = clock or Clock()
    app = web.Application(client_max_size=2 * 1024 * 1024 + 4096)
    state: dict[str, Any] = {}
    role = settings.bot_role
    plugins = [] if role == "edge" else [*default_plugins(), *(plugins or [])]

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        bot = await _start(settings, clock, app, initial_sync)
        state["bot"] = bot
        for plugin in plugins:
            await plugin.start(bot)
        yield
        for plugin in reversed(plugins):
            await plugin.stop()
        await _stop(bot)

    app.cleanup_ctx.append(lifecycle)
    if role != "worker":
        endpoints = CallbackRoutes(settings, clock, lambda: state["bot"].writer)
        app.router.add_get("/wecom/callback", endpoints.app_verify)
        app.router.add_post("/wecom/callback", endpoints.app_receive)
        app.router.add_get("/wecom/contacts", endpoints.contacts_verify)
        app.router.add_post("/wecom/contacts", endpoints.contacts_receive)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
    for plugin in plugins:
        plugin.routes(app)
    return app


def default_plugins() -> list[Plugin]:
    return [FinanceApi(), WebhookDelivery(), UploadPage(), StatsPage(), Workbench(), BudgetPage(), VerifyPage(),
            Insight()]


async def _start(settings: Settings, clock: Clock, app: web.Application, initial_sync: bool) -> Bot:
    db = open_database(settings.bot_db, synchronous=settings.bot_db_sync.upper(), pool_size=settings.bot_db_pool_size,
                       batch_writers=settings.bot_db_batch_writers)
    await db.open()
    try:
        return await _assemble(db, settings, clock, app, initial_sync)
    except BaseException:
        await db.close()  # a start that fails (e.g. an audit log kept with another key) leaves no connection open
        raise


async def _assemble(db: Database, settings: Settings, clock: Clock, app: web.Application, initial_sync: bool) -> Bot:
    fleet = isinstance(db, PostgresDatabase)
    bus = Bus(db)
    tokens = SharedTokens(db, settings.wecom_corp_id, settings.wecom_secret.get_secret_value()) if fleet else None
    client = WeComClient(settings.wecom_api_base, settings.wecom_corp_id, settings.wecom_secret.get_secret_value(),
                         tokens=tokens)
    events = build_events()
    router = build_router()
    upload_files = UploadFiles(settings.data_dir)
    ocr = OcrWorkers(settings.ocr_engine, settings.ocr_workers, timeout=settings.ocr_timeout_seconds)
    reads = ThreadReads()
    reads.open(db)
    gateway = BotGateway(client, Uploads(db, upload_files), ocr, reads)
    working = settings.bot_role != "edge"
    services = Services(settings=settings, clock=clock, rules=load_rules(settings.bot_rules), gateway=gateway,
                        events=events,
                        audit_key=await open_chain(db, settings, clock.now()) if working else None)
    worker = Worker(db, router, services)
    # slow reads (downloads, OCR) run before a processing slot is taken, so approvals never queue behind photos
    dispatcher = Dispatcher(worker.handle, prepare=worker.prepare, concurrency=settings.bot_workers)
    feed: LocalFeed | FleetFeed = (FleetFeed(db, dispatcher, settings.instance_id, ttl=settings.bot_lease_seconds) if isinstance(db, PostgresDatabase)
                                   else LocalFeed(db, dispatcher))  # type: ignore[arg-type]

    def stored(item: InboxItem, *, notified: bool = False) -> None:
        if working:
            feed.offer(item)
        bus.signal(INBOX, notified=notified)

    gate = AckGate() if settings.bot_role == "all" else None  # acks first, when both share this process
    # each inbox batch's own statement notifies the other instances
    writer = InboxWriter(db, partial(stored, notified=True), gate=gate, wake=bus.notification(INBOX))
    if gate is not None:
        dispatcher.gate = gate.wait  # processing catches up after bursts
    sender = OutboundSender(db, client, settings.wecom_agent_id, clock.now, on_stored=stored)
    sender.gate = None if gate is None else gate.wait
    scheduler = Scheduler(db, clock.now, stored)
    limit = DeactivationLimit(settings.bot_org_sync_max_deactivations, settings.bot_org_sync_max_deactivation_percent)
    orgsync = OrgSync(db, client, clock.now, stored, limit)
    services.wake_sender = lambda: bus.signal(OUTBOUND)
    services.wake_scheduler = lambda: bus.signal(TIMERS)
    services.replay_inbox = lambda item: (dispatcher.forget(item.id), feed.offer(item))  # type: ignore[func-returns-value]
    services.sync_org = lambda: scheduler.run_now("org-sync")
    bus.on(INBOX, feed.wake)
    bus.on(OUTBOUND, sender.wake)
    bus.on(TIMERS, scheduler.wake)
    leases = Leases(db, settings.instance_id, ttl=settings.bot_lease_seconds) if isinstance(db, PostgresDatabase) else None
    bot = Bot(settings, clock, db, client, writer, dispatcher, sender, scheduler, orgsync, services, ocr, bus=bus,
              reads=reads, leases=leases)
    app[BOT] = bot

    if working:  # an edge runs no loop a notification would wake: it only sends them, with its batches
        await bus.start()
    writer.start()
    if not working:
        log.info("edge started: database %s (%s), instance %s", db.describe(), db.backend, settings.instance_id)
        return bot
    if not fleet:  # a fleet claims what is pending instead (FleetFeed)
        for item in await load_pending(db):
            dispatcher.dispatch(item)
    feed.start()
    bot.extras["feed"] = feed
    scheduler.every("org-sync", timedelta(minutes=settings.bot_org_sync_minutes), orgsync.full_sync)
    scheduler.every("retention", timedelta(days=1), lambda: prune(db, services, upload_files))
    scheduler.every("audit-anchor", timedelta(hours=1), lambda: anchor_chain(db, services))
    bot.run_once("sender", sender)
    bot.run_once("scheduler", scheduler)
    if leases is not None:
        leases.start()
    if initial_sync and not (fleet and await _mirrored(db)):  # in a fleet, the first instance mirrors it
        bot.extras["initial_sync"] = asyncio.create_task(_initial_sync(bot))
    if settings.ocr_preload:
        bot.extras["ocr_start"] = asyncio.create_task(ocr.start())
    log.info("bot started (%s): database %s (%s), instance %s, WeCom API %s", settings.bot_role, db.describe(),
             db.backend, settings.instance_id, settings.wecom_api_base)
    return bot


async def _mirrored(db: Database) -> bool:
    async with db.read() as tx:
        return await tx.repo(OrgRepo).mirrored()


async def _initial_sync(bot: Bot) -> None:
    """At start the org chart is read once; WeCom being unreachable must not stop the bot. Until it
    has been read the bot is not ready, so a failed first read is tried again soon (backoff up to a
    minute) rather than at the next periodic sync."""
    try:
        await bot.orgsync.full_sync()
    except Exception:
        log.exception("initial org sync failed; trying again shortly")
        bot.extras["initial_sync_retry"] = asyncio.create_task(_retry_initial_sync(bot.orgsync))


async def _retry_initial_sync(orgsync: OrgSync) -> None:
    for attempt in itertools.count():
        await asyncio.sleep(backoff(attempt, first=INITIAL_SYNC_RETRY))
        try:
            await orgsync.full_sync()
            return
        except Exception as exc:
            log.warning("initial org sync failed again (%s: %s)", type(exc).__name__, exc)


async def _stop(bot: Bot) -> None:
    for name in ("initial_sync", "initial_sync_retry", "ocr_start"):
        task = bot.extras.get(name)
        if isinstance(task, asyncio.Task):
            task.cancel()
    await bot.stop_background()
    feed = bot.extras.get("feed")
    if isinstance(feed, LocalFeed | FleetFeed):
        await feed.stop()
    await bot.writer.stop()
    await bot.dispatcher.stop()
    await bot.bus.stop()
    await bot.ocr.close()
    bot.reads.close()
    await bot.client.close()
    await bot.db.close()



def _loop_name() -> str:
    """"uvloop" or "asyncio": which event loop this process runs on."""
    return type(asyncio.get_running_loop()).__module__.partition(".")[0]


async def _healthz(request: web.Request) -> web.Response:
    """Ready means ready: 503 until the database answers and, where messages are processed, the org
    chart has been mirrored once (before that nobody is known and every message would be answered
    "not in the directory"). An edge is ready when it can store callbacks. A refused app secret is
    reported (`wecom`) but is not a reason to stop taking callbacks. Every answer names the role,
    the backend and the instance, so a load balancer's view can be read at a glance."""
    bot = request.app[BOT]
    settings = bot.settings
    ok = await bot.db.ping()
    body: dict[str, Any] = {"database": ok, "role": settings.bot_role, "backend": bot.db.backend,
                            "instance": settings.instance_id, "loop": _loop_name()}
    if settings.bot_role == "edge":
        body["status"] = "ok" if ok else "down"
        return web.json_response(body, status=200 if ok else 503)
    mirrored = False
    if ok:
        async with bot.db.read() as tx:
            mirrored = await tx.repo(OrgRepo).mirrored()
            body["inbox"] = await tx.repo(InboxRepo).counts()
            body["outbound"] = await tx.repo(OutboundRepo).counts()
    credentials = bot.sender.probe_at is None
    body.update(org_mirror=mirrored, wecom="ok" if credentials else "bad_secret", queue=bot.dispatcher.depth,
                runs=bot.running_here(), ocr=bot.ocr.health())
    ready = ok and mirrored
    body["status"] = ("ok" if credentials else "degraded") if ready else ("starting" if ok else "down")
    return web.json_response(body, status=200 if ready else 503)


async def _metrics(request: web.Request) -> web.Response:
    """Prometheus text, every sample labelled with this instance and its role."""
    settings = request.app[BOT].settings
    labelled = metrics.Labelled(REGISTRY, instance=settings.instance_id, role=settings.bot_role)
    return web.Response(body=generate_latest(labelled), headers={"Content-Type": CONTENT_TYPE_LATEST})
