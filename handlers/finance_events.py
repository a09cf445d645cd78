"""Every expense event becomes a webhook outbox row in the transaction of the change it reports.

The row carries the expense as it is at that moment (the pinned expense JSON) and an event id
fixed for life, so the finance platform can de-duplicate retries by id.
"""

from __future__ import annotations

import uuid

from chat.context import Context
from chat.events import EventBus
from handlers.expense_json import EXPENSE_EVENTS, expense_json
from handlers.roles import admins
from storage.expenses import ExpenseRepo
from storage.finance_events import WebhookEvent, WebhookRepo

bus = EventBus()


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
    """The finance platform refused an event for good: admins hear of it; the expense's later events
    wait behind it until it is re-sent or discarded through the API."""
    held = await ctx.repo(WebhookRepo).held_behind(event)
    text = (
        f"财务平台拒收了事件 {event.type}（{event.number}，事件号 {event.event_id}）：{error}\n"
        f"{event.number} 之后的事件暂停投递（现有 {held} 条），以免财务平台收到的顺序错乱。\n"
        f"修正后可通过 POST /api/v1/events/{event.event_id}/retry 重新投递，"
        f"或 POST /api/v1/events/{event.event_id}/discard 放弃此事件、继续投递后面的。"
    )
    await ctx.send_text(await admins(ctx), text)
    await ctx.audit("webhook.parked", f"expense:{event.number}",
                    {"event_id": event.event_id, "type": event.type, "error": error}, actor="bot")
