"""The finance platform API under /api/v1: bearer-token JSON endpoints, described by /api/v1/openapi.json.

Reads use a snapshot (`db.read()`). Changes go through handler functions over a `Context` in one
transaction (the message is an Inbound from source "api"), so business rules stay in handlers/,
and replies, alerts, webhook rows and the audit entry commit together with the change; the
sender is woken after commit. The API answers 404 everywhere while FINANCE_API_TOKEN is empty.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from bot.finance.openapi import (
    IDEMPOTENCY_HEADER,
    IDEMPOTENCY_KEY,
    OPERATIONS,
    BudgetIn,
    BudgetList,
    BudgetOut,
    BudgetQuery,
    Error,
    ErrorDetail,
    EventList,
    EventOut,
    EventQuery,
    ExpenseList,
    ExpenseQuery,
    NotificationIn,
    NotificationOut,
    Operation,
    PayableIn,
    PayableOut,
    PaymentIn,
    StatsOut,
    StatsQuery,
    encode_cursor,
    openapi,
)
from bot.parts import BOT, Bot
from chat.context import Context
from handlers.budget import scan_all, upsert_budget
from handlers.budget_view import BudgetStatus, parse_period, status_of
from handlers.expense_json import expense_document, expense_json, iso
from handlers.notifications import Notification, notify
from handlers.payables import upsert_payable
from handlers.payments import PaymentRefused, mark_paid
from handlers.stats_view import explicit_span, this_month, window
from storage.budgets import BudgetInput, BudgetRepo
from storage.db import Tx
from storage.expenses import ExpenseRepo
from storage.finance_events import ExpenseFilter, WebhookEvent, WebhookRepo, search_expenses
from storage.idempotency import IdempotencyRepo
from storage.org import OrgRepo
from storage.payables import Payable, PayableInput, PayableRepo
from storage.stats import Durations, StatsRepo

log = logging.getLogger(__name__)
API_USER = "finance-platform"

Endpoint = Callable[[web.Request, Bot, dict[str, Any]], Awaitable[web.Response]]


class ApiError(Exception):
    def __init__(self, status: int, error: str, message: str, detail: list[ErrorDetail] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = Error(error=error, message=message, detail=detail or [])  # type: ignore[arg-type]


def _api(bot: Bot, tx: Tx, action: str) -> Context:
    """The context of a finance platform call: the platform acts, through the API."""
    return bot.context(tx, action, user_id=API_USER, source="api")


def respond(model: BaseModel, status: int = 200) -> web.Response:
    return web.json_response(model.model_dump(mode="json"), status=status)


def _validation(exc: ValidationError, where: str = "body") -> ApiError:
    """422 naming each field as `query.limit` (query) or `amount` (body); the whole query or body when
    the fields only clash together."""
    prefix = "" if where == "body" else f"{where}."
    detail = [
        ErrorDetail(field=prefix + ".".join(str(p) for p in err["loc"]) if err["loc"] else where,
                    reason=err["msg"].removeprefix("Value error, "))
        for err in exc.errors()
    ]
    return ApiError(422, "validation", "the request is not valid", detail)


async def _body(request: web.Request, model: type[BaseModel]) -> Any:
    raw = await request.read()
    try:
        return model.model_validate_json(raw or b"")
    except ValidationError as exc:
        raise _validation(exc) from None


def _query(request: web.Request, model: type[BaseModel]) -> Any:
    known = model.model_fields
    try:
        return model.model_validate({k: v for k, v in request.query.items() if k in known})
    except ValidationError as exc:
        raise _validation(exc, "query") from None


def _authorized(request: web.Request, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def _wrap(op: Operation, endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        bot = request.app[BOT]
        token = bot.settings.finance_api_token.get_secret_value()
        if not token:
            raise web.HTTPNotFound()
        try:
            if not _authorized(request, token):
                raise ApiError(401, "unauthorized", "a valid bearer token is required")
            params = dict(request.match_info)
            for name, pattern in op.path_params.items():
                if not re.fullmatch(pattern, params[name]):
                    detail = [ErrorDetail(field=f"path.{name}", reason=f"must match {pattern}")]
                    raise ApiError(422, "validation", "the request is not valid", detail)
            return await endpoint(request, bot, params)
        except ApiError as exc:
            response = respond(exc.body, exc.status)
            if exc.status == 401:
                response.headers["WWW-Authenticate"] = "Bearer"
            return response

    return handle


# budgets ---------------------------------------------------------------------------------------
def _budget_out(s: BudgetStatus) -> BudgetOut:
    b = s.budget
    return BudgetOut(
        id=b.id, department_id=b.department_id, period=b.period, category=b.category, amount=f"{b.amount:.2f}",
        owner=b.owner, alert_chat_id=b.alert_chat_id, robot_key=b.robot_key, thresholds=list(b.thresholds),
        used=f"{s.used:.2f}", pending=f"{s.pending:.2f}", remaining=f"{s.remaining:.2f}", percent=str(s.percent),
        created_at=iso(b.created_at), updated_at=iso(b.updated_at),
    )


async def put_budget(request: web.Request, bot: Bot, params: dict[str, Any]) -> web.Response:
    body: BudgetIn = await _body(request, BudgetIn)
    period = parse_period(body.period)
    assert period is not None
    async with bot.db.transaction() as tx:
        ctx = _api(bot, tx, "put_budget")
        data = BudgetInput(
            department_id=body.department_id, period=period.key, month_from=period.month_from,
            month_to=period.month_to, category=body.category, amount=body.amount, owner=body.owner,
            alert_chat_id=body.alert_chat_id, robot_key=body.robot_key,
            thresholds=tuple(body.thresholds if body.thresholds is not None else ctx.rules.budget.thresholds),
        )
        status, created = await upsert_budget(ctx, params["budget_id"], data)
    return respond(_budget_out(status), 201 if created else 200)


async def get_budget(request: web.Request, bot: Bot, params: dict[str, Any]) -> web.Response:
    async with bot.db.read() as tx:
        budget = await tx.repo(BudgetRepo).get(params["budget_id"])
        if budget is None:
            raise ApiError(404, "not_found", f"no budget {params['budget_id']}")
        status = await status_of(_api(bot, tx, "get_budget"), budget)
    return respond(_budget_out(status))


async def list_budgets(request: web.Request, bot: Bot, params: dict[str, Any]) -> web.Response:
    q: BudgetQuery = _query(request, BudgetQuery)
    async with bot.db.read() as tx:
        ctx = _api(bot, tx, "list_budgets")
        budgets, total = await tx.repo(BudgetRepo).search(
            department_id=q.department_id, period=q.period, limit=q.limit, offset=q.offset
        )
        items = [_budget_out(await status_of(ctx, b)) for b in budgets]
    return respond(BudgetList(items=items, total=total, limit=q.limit, offset=q.offset))


# expenses --------------------------------------------------------------------------------------
async def list_expenses(request: web.Request, bot: Bot, params: dict[str, Any]) -> web.Response:
    """A page over possibly millions of expenses: read and serialised in a worker thread on a
    connection of its own, so callback acks are never held behind it."""
    q: ExpenseQuery = _query(request, ExpenseQuery)
    f = ExpenseFilter(q.status, q.submitter, q.department_id, q.date_from, q.date_to)

    async def page(tx: Tx) -> bytes:
        found = await search_expenses(tx, f, limit=q.limit, before_id=q.before_id, offset=q.offset)
        items = [expense_document(e, found.timelines[e.id]) for e in found.expenses]
        more = len(found.expenses) == q.limit
        return ExpenseList(items=items, total=found.total, limit=q.limit, offset=q.offset,
                           next_after=encode_cursor(found.expenses[-1].id) if more else None).model_dump_json().encode()

    body = await bot.services.gateway.long_read(page)
    return web.Response(body=body, content_type="application/json")


async def get_expense(request: web.Request, bot: Bot, params: dict[str, Any]) -> web.Response:
    async with bot.db.read() as tx:
        repo = tx.repo(ExpenseRepo)
        expense = await repo.by_number(params["number"])
        if expense is None:
            raise ApiError(404, "not_found", f"no expense {params['number']}")
        body = await expense_json(repo, expense)
    return respond(body)


async def pay_expense(request: web.Request, bot: Bot, params: dict[str, Any]) -> web.Response:
    body: PaymentIn = await _body(request, PaymentIn)
    try:
        async with bot.db.transaction() as tx:
            ctx = _api(bot, tx, "pay_expense")
            expense, _ = await mark_paid(ctx, params["number"], reference=body.reference, comment=body.comment)
            out = await expense_json(tx.repo(ExpenseRepo), expense)
    except PaymentRefused as exc:
        status, error = (404, "not_found") if exc.code == "not_found" else (409, "conflict")
        raise ApiError(status, error, str(exc)) from None
    return respond(out)


# notifications ---------------------------------------------------------------------------------
def _idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
        detail = [ErrorDetail(field=f"header.{IDEMPOTENCY_HEADER}", reason="1 to 255 visible ASCII characters")]
        raise ApiError(422, "validation", "the request is not valid", detail)
    return key


async def post_notification(request: web.Request, bot: Bot, params: dict[str, Any]) -> web.Response:
    """With an Idempotency-Key, the first request's answer is remembered in the transaction that queues
    the messages; a retry (even a concurrent one) gets that answer again and sends nothing."""
    key = _idempotency_key(request)
    body: NotificationIn = await _body(request, NotificationIn)
    fingerprint = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
    note = Notification(
        msgtype=body.msgtype, content=body.content, title=body.title, url=body.url, button=body.button,
        users=tuple(body.to.users), departments=tuple(body.to.departments), tags=tuple(body.to.tags),
        chat_id=body.to.chat_id,
    )
    async with bot.db.transaction() as tx:
        remembered = None if key is None else await tx.repo(IdempotencyRepo).get("notify", key)
        if remembered is not None:
            if remembered.request_sha256 != fingerprint:
                detail = [ErrorDetail(field=f"header.{IDEMPOTENCY_HEADER}",
                                      reason="already used for a different request")]
                raise ApiError(422, "validation", "the request is not valid", detail)
            replay = web.json_response(remembered.response, status=remembered.status)
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
        delivery = await notify(_api(bot, tx, "notify"), note)
        out = NotificationOut(recipients=len(delivery.recipients), unknown_users=delivery.unknown_users,
                              chat_id=delivery.chat_id)
        if key is not None:
            await tx.repo(IdempotencyRepo).remember("notify", key, fingerprint, 202, out.model_dump(mode="json"),
                                                    bot.clock.now())
    return respond(out, 202)


# payables --------------------------------------------------------------------------------------
def _payable_out(p: Payable) -> PayableOut:
    return PayableOut(
        id=p.id, title=p.title, amount=None if p.amount is None else f"{p.amount:.2f}",
        due_date=p.due_date.isoformat(), owner=p.owner, status=p.status,  # type: ignore[arg-type]
        note=p.note, reminders=p.reminders, created_at=iso(p.created_at), updated_at=iso(p.updated_at),
    )


async def put_payable(request: web.Request, bot: Bot, params: dict[str, Any]) -> web.Response:
    body: PayableIn = await _body(request, PayableIn)
    data = PayableInput(title=body.title, amount=body.amount, due_date=body.due_date, owner=body.owner,
                        status=body.status, note=body.note)
    async with bot.db.transaction() as tx:
        payable, created = await upsert_payable(_api(bot, tx, "put_payable"), params["payable_id"], data)
    return respond(_payable_out(payable), 201 if created else 200)


async def get_payable(request: web.Request, bot: Bot, params: dict[str, Any]) -> web.Response:
    async with bot.db.read() as tx:
        payable = await tx.repo(PayableRepo).get(params["payable_id"])
    if payable is None:
        raise ApiError(404, "not_found", f"no payable {params['payable_id']}")
    return respond(_payable_out(payable))


# webhook events --------------------------------------------------------------------------------
def _event_out(e: WebhookEvent) -> EventOut:
    return EventOut(
        id=e.event_id, type=e.type, number=e.number, status=e.status,  # type: ignore[arg-type]
        attempts=e.attempts, created_at=iso(e.created_at),
        delivered_at=None if e.delivered_at is None else iso(e.delivered_at), last_error=e.last_error,
        data=e.data,  # type: ignore[arg-type]
    )


async def list_events(request: web.Request, bot: Bot, params: dict[str, Any]) -> web.Response:
    q: EventQuery = _query(request, EventQuery)
    async with bot.db.read() as tx:
        events = await tx.repo(WebhookRepo).search(status=q.status, number=q.number, after_id=q.after,
                                                   limit=q.limit)
    next_after = events[-1].id if len(events) == q.limit else None
    return respond(EventList(items=[_event_out(e) for e in events], next_after=next_after))


async def retry_event(request: web.Request, bot: Bot, params: dict[str, Any]) -> web.Response:
    return await _settle_event(bot, params["event_id"], "webhook.requeued",
                               lambda repo, event_id: repo.requeue(event_id, bot.clock.now()))


async def discard_event(request: web.Request, bot: Bot, params: dict[str, Any]) -> web.Response:
    return await _settle_event(bot, params["event_id"], "webhook.discarded", WebhookRepo.discard)


async def _settle_event(bot: Bot, event_id: str, action: str,
                        change: Callable[[WebhookRepo, str], Awaitable[bool]]) -> web.Response:
    """A parked event is re-queued or given up (its expense's later events go on); audited."""
    async with bot.db.transaction() as tx:
        repo = tx.repo(WebhookRepo)
        if await repo.by_event_id(event_id) is None:
            raise ApiError(404, "not_found", f"no event {event_id}")
        if not await change(repo, event_id):
            raise ApiError(409, "conflict", f"event {event_id} is not failed")
        await _api(bot, tx, action).audit(action, f"event:{event_id}", {})
        event = await repo.by_event_id(event_id)
        tx.after_commit(bot.services.wake_sender)
    assert event is not None
    return respond(_event_out(event))


# process figures -------------------------------------------------------------------------------
def _durations(d: Durations) -> dict[str, int | None]:
    def secs(value: timedelta | None) -> int | None:
        return None if value is None else int(value.total_seconds())

    return {"count": d.count, "average_seconds": secs(d.average), "median_seconds": secs(d.median),
            "p90_seconds": secs(d.p90)}


def _text(value: object) -> str | None:
    return None if value is None else str(value)


async def get_stats(request: web.Request, bot: Bot, params: dict[str, Any]) -> web.Response:
    q: StatsQuery = _query(request, StatsQuery)
    async with bot.db.read() as tx:
        ctx = _api(bot, tx, "get_stats")
        period = explicit_span(q.period) if q.period else this_month(ctx.local(ctx.now).date())
        assert period is not None
        departments = None
        if q.department_id is not None:
            if await tx.repo(OrgRepo).department(q.department_id) is None:
                raise ApiError(404, "not_found", f"no department {q.department_id}")
            departments = frozenset(await tx.repo(OrgRepo).descendants(q.department_id))
        span, now = window(ctx, period, departments), ctx.now
    f = await bot.services.gateway.long_read(lambda tx: tx.repo(StatsRepo).figures(span, now, waiting=20))

    def amounted(c: Any) -> dict[str, Any]:
        return {"count": c.count, "amount": f"{c.amount:.2f}"}

    d = f.delivery
    body = {
        "period": period.key, "start": iso(f.window.start), "end": iso(f.window.end), "department_id": q.department_id,
        "expenses": {k: amounted(getattr(f, k)) for k in ("filed", "approved", "rejected", "withdrawn", "paid")},
        "approval": {
            "per_step": _durations(f.steps), "end_to_end": _durations(f.end_to_end),
            "by_step": [{"name": s.name, **_durations(s.durations)} for s in f.by_step],
            "approvers": [{"user_id": a.user_id, "decided": _durations(a.decided), "pending": a.pending,
                           "oldest_pending_since": a.oldest_since and iso(a.oldest_since)} for a in f.approvers],
            "waiting": [{"number": w.number, "approver": w.approver, "step_name": w.step_name,
                         "amount": f"{w.amount:.2f}", "since": iso(w.since)} for w in f.waiting],
        },
        "delivery": None if d is None else {"total": d.total, "sent": d.sent, "retried": d.retried, "parked": d.parked,
                                            "dropped": d.dropped, "pending": d.pending, "rate_percent": _text(d.rate)},
        "ocr": {"reads": f.ocr.reads, "unreadable": f.ocr.unreadable, "filed": f.ocr.filed,
                "filed_as_read": f.ocr.filed_as_read, "corrected": f.ocr.corrected,
                "success_rate_percent": _text(f.ocr.success_rate)},
        "dialogs": {"started": f.dialogs.started, "outcomes": f.dialogs.outcomes,
                    "completion_rate_percent": _text(f.dialogs.completion_rate)},
        "feedback": {"notes": f.feedback.notes, "ratings": f.feedback.ratings,
                     "scores": {str(k): v for k, v in f.feedback.scores.items()},
                     "average_rating": _text(f.feedback.average)},
    }
    return respond(StatsOut.model_validate(body))


async def get_openapi(request: web.Request) -> web.Response:
    if not request.app[BOT].settings.finance_api_token:
        raise web.HTTPNotFound()
    return web.json_response(request.app[OPENAPI_DOC], dumps=lambda d: json.dumps(d, ensure_ascii=False))


async def scan_budgets(bot: Bot) -> int:
    """Hourly safety net: re-check every budget's thresholds (e.g. after the alert rules changed)."""
    async with bot.db.transaction() as tx:
        return await scan_all(bot.context(tx, "budget_scan"))


ENDPOINTS: dict[str, Endpoint] = {
    "put_budget": put_budget, "get_budget": get_budget, "list_budgets": list_budgets,
    "list_expenses": list_expenses, "get_expense": get_expense, "pay_expense": pay_expense,
    "notify": post_notification, "put_payable": put_payable, "get_payable": get_payable,
    "list_events": list_events, "retry_event": retry_event, "discard_event": discard_event,
    "get_stats": get_stats,
}
OPENAPI_DOC = web.AppKey("finance_openapi", dict)


class FinanceApi:
    """Plugin: the /api/v1 routes (heavy lists read through the bot's gateway, off the event loop)."""

    def routes(self, app: web.Application) -> None:
        app[OPENAPI_DOC] = openapi()
        app.router.add_get("/api/v1/openapi.json", get_openapi)
        for op in OPERATIONS:
            app.router.add_route(op.method, op.path, _wrap(op, ENDPOINTS[op.name]))

    async def start(self, bot: Bot) -> None:
        log.info("finance API %s", "enabled" if bot.settings.finance_api_token else "disabled (no FINANCE_API_TOKEN)")
        bot.scheduler.every("budget-scan", timedelta(hours=1), lambda: scan_budgets(bot))

    async def stop(self) -> None:
        return None
