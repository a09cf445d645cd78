"""Payables: the owner is reminded daily once the due date is near, until it is paid or acknowledged.

One durable timer per payable (key `payable:<id>`) carries the reminders: it is moved, never
duplicated, when the payable changes, and re-armed for the next day each time it fires, so a
restart neither loses a reminder nor sends one twice. Reminders respect quiet hours.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from chat.context import Context
from chat.render import plain
from chat.router import Router
from handlers import verification
from handlers.budget_view import money
from storage.payables import Payable, PayableInput, PayableRepo
from storage.verifications import Verification

router = Router("payables")

TIMER_KIND = "payable_remind"
ACK_KEY = "payable_ack:"
PAID_KEY = "payable_paid:"


def timer_key(payable_id: str) -> str:
    return f"payable:{payable_id}"


def _at_local(ctx: Context, day: date) -> datetime:
    hour = ctx.rules.budget.payable_remind_hour
    return datetime.combine(day, time(hour), tzinfo=ctx.services.zone)


def first_reminder(ctx: Context, payable: Payable) -> datetime:
    """The reminder window opens `payable_remind_days` before the due date, at the reminder hour."""
    opens = _at_local(ctx, payable.due_date - timedelta(days=ctx.rules.budget.payable_remind_days))
    return max(ctx.now, opens)


async def upsert_payable(ctx: Context, payable_id: str, data: PayableInput) -> tuple[Payable, bool]:
    payable, created = await ctx.repo(PayableRepo).upsert(payable_id, data, ctx.now)
    await ctx.audit("payable.created" if created else "payable.updated", f"payable:{payable_id}", {
        "title": data.title, "amount": None if data.amount is None else str(data.amount),
        "due_date": data.due_date.isoformat(), "owner": data.owner, "status": payable.status,
    })
    if payable.status == "open":
        await ctx.schedule(TIMER_KIND, timer_key(payable.id), first_reminder(ctx, payable),
                           {"user": payable.owner, "payable_id": payable.id})
    else:
        await ctx.cancel_timer(timer_key(payable.id))
    return payable, created


@router.timer(TIMER_KIND)
async def remind(ctx: Context) -> None:
    repo = ctx.repo(PayableRepo)
    payable = await repo.get(ctx.msg.field("payable_id"))
    if payable is None or payable.status != "open":
        return
    await ctx.send_card(payable.owner, _card(ctx, payable), quiet=True)
    await repo.count_reminder(payable.id)
    tomorrow = ctx.local(ctx.now).date() + timedelta(days=1)
    await ctx.schedule(TIMER_KIND, timer_key(payable.id), _at_local(ctx, tomorrow),
                       {"user": payable.owner, "payable_id": payable.id})


def _card(ctx: Context, payable: Payable) -> dict[str, object]:
    days = (payable.due_date - ctx.local(ctx.now).date()).days
    when = f"还有 {days} 天到期" if days > 0 else ("今天到期" if days == 0 else f"已逾期 {-days} 天")
    fields = [{"keyname": "到期日", "value": payable.due_date.isoformat()}]
    if payable.amount is not None:
        fields.append({"keyname": "金额", "value": money(payable.amount)})
    return {
        "card_type": "button_interaction",
        "source": {"desc": "财务助手"},
        "main_title": {"title": f"应付提醒：{payable.title}"[:36], "desc": when},
        "sub_title_text": payable.note[:100] or "付款完成前每天提醒一次；点「已知晓」不再提醒，付款后点「已付款」。",
        "horizontal_content_list": fields,
        "task_id": f"payable_{payable.id}_{ctx.msg.inbox_id}"[:128],
        "button_list": [{"text": "已知晓", "style": 1, "key": f"{ACK_KEY}{payable.id}"},
                        {"text": "已付款", "style": 2, "key": f"{PAID_KEY}{payable.id}"}],
    }


@router.card(ACK_KEY)
async def acknowledge(ctx: Context) -> None:
    payable_id = ctx.msg.event_key.removeprefix(ACK_KEY)
    repo = ctx.repo(PayableRepo)
    payable = await repo.get(payable_id)
    if payable is None or payable.owner != ctx.msg.user_id:
        return
    await ctx.remember_card_code(ctx.msg.task_id, ctx.msg.response_code)
    if await repo.acknowledge(payable.id, ctx.now):
        await ctx.cancel_timer(timer_key(payable.id))
        await ctx.audit("payable.acknowledged", f"payable:{payable.id}", {"reminders": payable.reminders})
    await ctx.update_card(ctx.msg.task_id, replace_name="已知晓")


@router.card(PAID_KEY)
async def paid_clicked(ctx: Context) -> None:
    """The owner says it is paid: held for a second verification when the rules say so."""
    payable_id = ctx.msg.event_key.removeprefix(PAID_KEY)
    payable = await ctx.repo(PayableRepo).get(payable_id)
    if payable is None or payable.owner != ctx.msg.user_id:
        return
    await ctx.remember_card_code(ctx.msg.task_id, ctx.msg.response_code)
    if verification.required(ctx, "payable_paid", payable.amount):
        await verification.hold(ctx, "payable_paid", f"payable:{payable.id}",
                                {"payable_id": payable.id, "task_id": ctx.msg.task_id},
                                ctx.t(f"确认「{plain(payable.title)}」已付款", f"Marking «{plain(payable.title)}» paid"))
        return
    await _mark_paid(ctx, payable, ctx.msg.task_id)


@verification.verified("payable_paid")
async def paid_verified(ctx: Context, held: Verification) -> None:
    payable = await ctx.repo(PayableRepo).get(str(held.params["payable_id"]))
    if payable is None or payable.owner != ctx.msg.user_id:
        await ctx.reply(ctx.t("找不到这笔应付款，未做任何更改。", "No such payable; nothing changed."))
        return
    await _mark_paid(ctx, payable, str(held.params.get("task_id", "")))


async def _mark_paid(ctx: Context, payable: Payable, task_id: str) -> None:
    if not await ctx.repo(PayableRepo).mark_paid(payable.id, ctx.now):
        await ctx.reply(ctx.t(f"「{plain(payable.title)}」已经是已付款。", f"«{plain(payable.title)}» is paid already."))
        return
    await ctx.cancel_timer(timer_key(payable.id))
    await ctx.audit("payable.paid", f"payable:{payable.id}", {"verified": verification.is_verified(ctx)})
    if task_id:
        await ctx.update_card(task_id, replace_name="已付款")
    await ctx.reply(ctx.t(f"已记录「{plain(payable.title)}」已付款，不再提醒。",
                          f"«{plain(payable.title)}» is recorded as paid; no more reminders."))
