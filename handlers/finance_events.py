"""Every expense event becomes a webhook outbox row in the transaction of the change it reports.

The row carries the expense as it is at that moment (the pinned expense JSON) and an event id
fixed for life, so the finance platform can de-duplicate retries by id.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from chat.context import Context
from chat.events import EventBus
from chat.router import Router
from handlers.expense_json import EXPENSE_EVENTS, expense_json
from handlers.roles import admins
from storage.expenses import ExpenseRepo
from storage.finance_events import WebhookEvent, WebhookRepo

bus = EventBus()
router = Router("finance_events")

PARKED = "webhook.parked"
REMIND_EVERY = timedelta(days=1)


@bus.on("*")
async def record_for_webhook(ctx: Context, payload: dict[str, object]) -> None:
    """The catch-all subscription is the one that is told the event's name."""
    if payload.get("event") not in EXPENSE_EVENTS:
        return
    repo = ctx.repo(ExpenseRepo)
    expense = await repo.by_number(str(payload["number"]))
    if expense is None:
        return
    data = (await expense_json(repo, expense)).model_dump(mode="json")
    await ctx.repo(WebhookRepo).add(str(uuid.uuid4()), str(payload["event"]), expense.number, data, ctx.now)
    ctx.tx.after_commit(ctx.services.wake_sender)


async def webhook_parked(ctx: Context, event: WebhookEvent, error: str) -> None:
    """The finance platform refused an event for good: admins hear of it, and again every day while
    it stays parked, since the expense's later events wait behind it until it is re-sent or discarded."""
    await _tell_admins(ctx, event, error, reminder=False)
    await ctx.audit("webhook.parked", f"expense:{event.number}",
                    {"event_id": event.event_id, "type": event.type, "error": error}, actor="bot")
    await ctx.schedule(PARKED, _reminder_key(event), ctx.now + REMIND_EVERY, {"event_id": event.event_id})


@router.timer(PARKED)
async def still_parked(ctx: Context) -> None:
    event = await ctx.repo(WebhookRepo).by_event_id(ctx.msg.field("event_id"))
    if event is None or event.status != "failed":
        return  # re-sent or discarded meanwhile
    await _tell_admins(ctx, event, event.last_error or "", reminder=True)
    await ctx.schedule(PARKED, _reminder_key(event), ctx.now + REMIND_EVERY, {"event_id": event.event_id})


def _reminder_key(event: WebhookEvent) -> str:
    return f"webhook-parked:{event.event_id}"


async def _tell_admins(ctx: Context, event: WebhookEvent, error: str, *, reminder: bool) -> None:
    held = await ctx.repo(WebhookRepo).held_behind(event)
    text = (
        f"{'仍未处理：' if reminder else ''}财务平台拒收了事件 {event.type}（{event.number}，事件号 {event.event_id}）：{error}\n"
        f"{event.number} 之后的事件暂停投递（现有 {held} 条），以免财务平台收到的顺序错乱。\n"
        f"修正后可通过 POST /api/v1/events/{event.event_id}/retry 重新投递，"
        f"或 POST /api/v1/events/{event.event_id}/discard 放弃此事件、继续投递后面的。"
    )
    await ctx.send_text(await admins(ctx), text, quiet=reminder)
