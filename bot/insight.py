"""Plugin: the start-up steps of insight and onboarding, and their metrics.

At start: the weekly digest's durable timer is made sure of (handlers/digest.py), and the app's
custom menu is set through WeCom `menu/create` when BOT_SET_MENU is on (in the background: WeCom
being unreachable must not stop the bot). While running: approval times feed the
`bot_approval_seconds` histogram after each decision commits.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from aiohttp import web

from bot.ops.metrics import APPROVAL_SECONDS
from bot.parts import Bot
from bot.wecom.client import WeComError
from chat.context import Context
from chat.events import EventBus
from handlers.digest import schedule_next
from handlers.onboarding import menu
from storage.expenses import ExpenseRepo

log = logging.getLogger(__name__)
metrics = EventBus()


@metrics.on("expense.step_decided")
async def _step_time(ctx: Context, payload: dict[str, object]) -> None:
    expense = await ctx.repo(ExpenseRepo).by_number(str(payload["number"]))
    step = int(str(payload["step"]))
    if expense is None or payload.get("step_status") not in ("approved", "rejected") or step >= len(expense.route):
        return
    started = expense.route[step].get("started_at")
    if started:
        seconds = (ctx.now - datetime.fromisoformat(str(started))).total_seconds()
        stage, outcome = str(payload.get("step_name") or f"#{step + 1}"), str(payload["step_status"])
        ctx.tx.after_commit(lambda: APPROVAL_SECONDS.labels(stage, outcome).observe(seconds))


@metrics.on("expense.approved", "expense.rejected")
async def _end_to_end(ctx: Context, payload: dict[str, object]) -> None:
    expense = await ctx.repo(ExpenseRepo).by_number(str(payload["number"]))
    if expense is None or expense.submitted_at is None or not expense.route:
        return
    seconds = (ctx.now - expense.submitted_at).total_seconds()
    outcome = str(payload.get("status") or expense.status)
    ctx.tx.after_commit(lambda: APPROVAL_SECONDS.labels("end_to_end", outcome).observe(seconds))


class Insight:
    def __init__(self) -> None:
        self._menu: asyncio.Task[None] | None = None

    def routes(self, app: web.Application) -> None:
        return None

    async def start(self, bot: Bot) -> None:
        bot.services.events.include(metrics)
        async with bot.db.transaction() as tx:
            await schedule_next(bot.context(tx, "digest"))
        if bot.settings.bot_set_menu:
            self._menu = asyncio.create_task(_set_menu(bot))

    async def stop(self) -> None:
        if self._menu is not None:
            self._menu.cancel()


async def _set_menu(bot: Bot) -> None:
    try:
        await bot.client.create_menu(bot.settings.wecom_agent_id, menu(bot.settings.public_url))
        log.info("app menu set")
    except (WeComError, OSError) as exc:
        log.warning("app menu not set: %s", exc)

