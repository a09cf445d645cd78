"""The finance platform API's models and its OpenAPI document, derived from one operation table.

`OPERATIONS` is what bot/finance_api.py routes and what `openapi()` describes, so the document
cannot drift from the implementation; the request and response schemas are the pydantic models'
own JSON Schemas.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import models_json_schema

from handlers.budget_view import parse_period
from handlers.expense_json import ExpenseJSON, ExpenseStatus

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
NUMBER_PATTERN = r"^BX\d{8}-\d{4,}$"
MAX_AMOUNT = Decimal("1000000000000")
MAX_INT = 2**63 - 1  # what SQLite stores; a larger number is refused, never passed down

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")

Count = Annotated[int, Field(ge=0, le=MAX_INT)]
Id = Annotated[int, Field(ge=1, le=MAX_INT)]


def _money(value: Decimal | None, *, positive: bool) -> Decimal | None:
    """Two decimal places at most, finite, within range; a JSON number is read by its decimal text."""
    if value is None:
        return None
    if not value.is_finite():
        raise ValueError("must be a finite amount")
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError("at most two decimal places")
    if value < 0 or (positive and value == 0):
        raise ValueError("must be greater than 0" if positive else "must not be negative")
    if value >= MAX_AMOUNT:
        raise ValueError("too large")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# budgets ---------------------------------------------------------------------------------------
class BudgetIn(Strict):
    department_id: Id = Field(description="WeCom department id")
    period: str = Field(description="YYYY-MM, YYYY-Qn or YYYY", examples=["2026-11", "2026-Q4", "2026"])
    category: str | None = Field(default=None, min_length=1, max_length=32, description="null: all categories")
    amount: Decimal = Field(description='decimal string like "10000.00"; a JSON number is accepted too')
    owner: str = Field(min_length=1, max_length=64, description="WeCom userid told about alerts")
    alert_chat_id: str | None = Field(default=None, min_length=1, max_length=64)
    robot_key: str | None = Field(default=None, min_length=1, max_length=128)
    thresholds: list[int] | None = Field(default=None, max_length=10, description="percents; default [80, 100]")

    @field_validator("period")
    @classmethod
    def _period(cls, value: str) -> str:
        parsed = parse_period(value)
        if parsed is None:
            raise ValueError("must look like 2026-11, 2026-Q4 or 2026")
        return parsed.key

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: Decimal) -> Decimal:
        checked = _money(value, positive=True)
        assert checked is not None
        return checked

    @field_validator("thresholds")
    @classmethod
    def _thresholds(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and any(not 1 <= t <= 1000 for t in value):
            raise ValueError("each threshold is a percent between 1 and 1000")
        return value


class BudgetOut(BaseModel):
    id: str
    department_id: int
    period: str
    category: str | None
    amount: str
    owner: str
    alert_chat_id: str | None
    robot_key: str | None
    thresholds: list[int]
    used: str = Field(description="approved + paid")
    pending: str = Field(description="still in approval (submitted)")
    remaining: str = Field(description="amount - used - pending")
    percent: str = Field(description="used (plus pending under the include_pending rule) / amount, in %")
    created_at: str
    updated_at: str


class BudgetQuery(BaseModel):
    department_id: Id | None = None
    period: str | None = None
    limit: int = Field(default=100, ge=1, le=500)
    offset: Count = 0

    @field_validator("period")
    @classmethod
    def _period(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parsed = parse_period(value)
        if parsed is None:
            raise ValueError("must look like 2026-11, 2026-Q4 or 2026")
        return parsed.key


class BudgetList(BaseModel):
    items: list[BudgetOut]
    total: int
    limit: int
    offset: int


# expenses --------------------------------------------------------------------------------------
def encode_cursor(expense_id: int) -> str:
    """An opaque page cursor: clients pass it back, never build it."""
    return base64.urlsafe_b64encode(f"e{expense_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None
    if not re.fullmatch(r"e[1-9][0-9]{0,18}", text) or int(text[1:]) > MAX_INT:
        return None
    return int(text[1:])


class ExpenseQuery(BaseModel):
    status: ExpenseStatus | None = None
    submitter: str | None = Field(default=None, min_length=1)
    department_id: Id | None = None
    date_from: date | None = Field(default=None, description="expense_date on or after")
    date_to: date | None = Field(default=None, description="expense_date on or before")
    limit: int = Field(default=50, ge=1, le=200)
    after: str | None = Field(default=None, max_length=64,
                              description="cursor: the `next_after` of the previous page. Pages by key, so a page"
                                          " deep in the list is as fast as the first; use it instead of `offset`")
    offset: Count = Field(default=0, description="deprecated, kept for old clients: rows to skip, slower the"
                                                 " deeper it goes; `after` replaces it (not both)")

    @field_validator("after")
    @classmethod
    def _cursor(cls, value: str | None) -> str | None:
        if value is not None and decode_cursor(value) is None:
            raise ValueError("not a cursor this API handed out (use `next_after` as it came)")
        return value

    @model_validator(mode="after")
    def _range(self) -> ExpenseQuery:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("date_from is after date_to")
        if self.after is not None and self.offset:
            raise ValueError("use either after or offset, not both")
        return self

    @property
    def before_id(self) -> int | None:
        return None if self.after is None else decode_cursor(self.after)


class ExpenseList(BaseModel):
    items: list[ExpenseJSON]
    total: int = Field(description="expenses matching the filters, on every page")
    limit: int
    offset: int
    next_after: str | None = Field(default=None, description="pass as `after` for the next page; null on the last")


class PaymentIn(Strict):
    reference: str = Field(default="", max_length=100, description="the payment's id in the finance platform")
    comment: str = Field(default="", max_length=500)


# notifications ---------------------------------------------------------------------------------
class Recipients(Strict):
    users: list[str] = Field(default_factory=list, max_length=1000)
    departments: list[Id] = Field(default_factory=list, max_length=100)
    tags: list[str] = Field(default_factory=list, max_length=100, description="tag names")
    chat_id: str | None = Field(default=None, min_length=1, max_length=64)


class NotificationIn(Strict):
    to: Recipients
    msgtype: Literal["text", "markdown", "card"] = "text"
    content: str = Field(min_length=1, max_length=2000)
    title: str = Field(default="", max_length=128)
    url: str = Field(default="", max_length=2048, pattern=r"^(https?://\S+)?$")
    button: str = Field(default="详情", min_length=1, max_length=4)

    @model_validator(mode="after")
    def _consistent(self) -> NotificationIn:
        to = self.to
        if not (to.users or to.departments or to.tags or to.chat_id):
            raise ValueError("to: name at least one of users, departments, tags, chat_id")
        if self.msgtype == "card" and not (self.title and self.url):
            raise ValueError("a card needs a title and a url")
        return self


class NotificationOut(BaseModel):
    recipients: int
    unknown_users: list[str]
    chat_id: str | None


# payables --------------------------------------------------------------------------------------
class PayableIn(Strict):
    title: str = Field(min_length=1, max_length=100)
    amount: Decimal | None = Field(default=None, description="decimal string; a JSON number is accepted too")
    due_date: date
    owner: str = Field(min_length=1, max_length=64)
    status: Literal["open", "paid"] = "open"
    note: str = Field(default="", max_length=500)

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: Decimal | None) -> Decimal | None:
        return _money(value, positive=False)


class PayableOut(BaseModel):
    id: str
    title: str
    amount: str | None
    due_date: str
    owner: str
    status: Literal["open", "acknowledged", "paid"]
    note: str
    reminders: int
    created_at: str
    updated_at: str


# webhook events --------------------------------------------------------------------------------
class EventQuery(BaseModel):
    status: Literal["pending", "delivered", "failed", "discarded"] | None = None
    number: str | None = Field(default=None, pattern=NUMBER_PATTERN)
    after: Count = Field(default=0, description="cursor: the `next_after` of the previous page")
    limit: int = Field(default=100, ge=1, le=500)


class AuditAnchorJSON(BaseModel):
    """`audit.anchor`: the head of the audit log's keyed hash chain, sent every hour it moved; keep it
    to prove later that the log was neither rewritten nor shortened."""

    head_id: int
    head_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    anchored_at: str = Field(description="ISO 8601 UTC")


class EventOut(BaseModel):
    id: str = Field(description="event uuid, the same on every delivery attempt")
    type: str
    number: str = Field(description="the expense number; `audit` for audit anchors")
    status: Literal["pending", "delivered", "failed", "discarded"]
    attempts: int
    created_at: str
    delivered_at: str | None
    last_error: str | None
    data: ExpenseJSON | AuditAnchorJSON


class EventList(BaseModel):
    items: list[EventOut]
    next_after: int | None


# errors ----------------------------------------------------------------------------------------
# process figures ---------------------------------------------------------------------------------
class StatsQuery(BaseModel):
    period: str | None = Field(default=None, description="2026-11, 2026-Q4 or 2026 (BOT_TIMEZONE); this month if absent")
    department_id: int | None = Field(default=None, ge=1, description="this department and those below it")

    @field_validator("period")
    @classmethod
    def _period(cls, value: str | None) -> str | None:
        if value is not None and parse_period(value) is None:
            raise ValueError("must look like 2026-11, 2026-Q4 or 2026")
        return value


class Amounted(BaseModel):
    count: int
    amount: str = Field(pattern=r"^\d+\.\d{2}$")


class DurationsOut(BaseModel):
    """Wall-clock durations in seconds; null when nothing was measured."""

    count: int
    average_seconds: int | None
    median_seconds: int | None
    p90_seconds: int | None


class StepTimeOut(DurationsOut):
    name: str


class ApproverOut(BaseModel):
    user_id: str
    decided: DurationsOut = Field(description="their decisions in the period: card to decision")
    pending: int = Field(description="open now")
    oldest_pending_since: str | None


class WaitingOut(BaseModel):
    number: str
    approver: str
    step_name: str
    amount: str
    since: str


class ExpenseFigures(BaseModel):
    filed: Amounted
    approved: Amounted
    rejected: Amounted
    withdrawn: Amounted
    paid: Amounted


class ApprovalFigures(BaseModel):
    per_step: DurationsOut
    end_to_end: DurationsOut
    by_step: list[StepTimeOut] = Field(description="slowest first")
    approvers: list[ApproverOut] = Field(description="most pending first")
    waiting: list[WaitingOut] = Field(description="oldest first")


class DeliveryFigures(BaseModel):
    total: int
    sent: int
    retried: int
    parked: int
    dropped: int
    pending: int
    rate_percent: str | None


class OcrFigures(BaseModel):
    reads: int
    unreadable: int
    filed: int
    filed_as_read: int
    corrected: dict[str, int]
    success_rate_percent: str | None


class DialogFigures(BaseModel):
    started: int
    outcomes: dict[str, int]
    completion_rate_percent: str | None


class FeedbackFigures(BaseModel):
    notes: int
    ratings: int
    scores: dict[str, int]
    average_rating: str | None = Field(description="1 (poor) to 3 (good)")


class StatsOut(BaseModel):
    """Process figures for a period (and department), read from the data; durations in wall-clock seconds."""

    period: str
    start: str
    end: str
    department_id: int | None
    expenses: ExpenseFigures
    approval: ApprovalFigures
    delivery: DeliveryFigures | None = Field(description="whole company only; null for a department")
    ocr: OcrFigures
    dialogs: DialogFigures
    feedback: FeedbackFigures


class ErrorDetail(BaseModel):
    field: str
    reason: str


class Error(BaseModel):
    error: Literal["unauthorized", "not_found", "validation", "conflict"]
    message: str
    detail: list[ErrorDetail] = Field(default_factory=list)


# the operation table ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    name: str
    summary: str
    responses: dict[int, type[BaseModel]]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    path_params: dict[str, str] = field(default_factory=dict)
    idempotent: bool = False  # takes an Idempotency-Key header


ERRORS = {401: Error, 422: Error}
OPERATIONS: tuple[Operation, ...] = (
    Operation("PUT", "/api/v1/budgets/{budget_id}", "put_budget", "Create or replace a budget (idempotent)",
              {200: BudgetOut, 201: BudgetOut, **ERRORS}, body=BudgetIn, path_params={"budget_id": ID_PATTERN}),
    Operation("GET", "/api/v1/budgets/{budget_id}", "get_budget", "One budget with its usage",
              {200: BudgetOut, 404: Error, **ERRORS}, path_params={"budget_id": ID_PATTERN}),
    Operation("GET", "/api/v1/budgets", "list_budgets", "Budgets with used, pending, remaining, percent",
              {200: BudgetList, **ERRORS}, query=BudgetQuery),
    Operation("GET", "/api/v1/expenses", "list_expenses", "Expenses, newest first, a page at a time (cursor `after`)",
              {200: ExpenseList, **ERRORS}, query=ExpenseQuery),
    Operation("GET", "/api/v1/expenses/{number}", "get_expense", "One expense with its route and timeline",
              {200: ExpenseJSON, 404: Error, **ERRORS}, path_params={"number": NUMBER_PATTERN}),
    Operation("POST", "/api/v1/expenses/{number}/payment", "pay_expense",
              "Mark an approved expense paid (paying a paid expense again changes nothing)",
              {200: ExpenseJSON, 404: Error, 409: Error, **ERRORS}, body=PaymentIn,
              path_params={"number": NUMBER_PATTERN}),
    Operation("POST", "/api/v1/notifications", "notify", "Push a message to users, departments, tags or a group chat",
              {202: NotificationOut, **ERRORS}, body=NotificationIn, idempotent=True),
    Operation("PUT", "/api/v1/payables/{payable_id}", "put_payable",
              "Create or replace a payable; its owner is reminded daily as it falls due",
              {200: PayableOut, 201: PayableOut, **ERRORS}, body=PayableIn, path_params={"payable_id": ID_PATTERN}),
    Operation("GET", "/api/v1/payables/{payable_id}", "get_payable", "One payable",
              {200: PayableOut, 404: Error, **ERRORS}, path_params={"payable_id": ID_PATTERN}),
    Operation("GET", "/api/v1/events", "list_events", "The webhook outbox (pending, delivered, failed events)",
              {200: EventList, **ERRORS}, query=EventQuery),
    Operation("POST", "/api/v1/events/{event_id}/retry", "retry_event", "Queue a failed event for delivery again",
              {200: EventOut, 404: Error, 409: Error, **ERRORS}, path_params={"event_id": r"^[0-9a-f-]{36}$"}),
    Operation("POST", "/api/v1/events/{event_id}/discard", "discard_event",
              "Give up a failed event; the later events of its expense are delivered again",
              {200: EventOut, 404: Error, 409: Error, **ERRORS}, path_params={"event_id": r"^[0-9a-f-]{36}$"}),
    Operation("GET", "/api/v1/stats", "get_stats", "Process figures: expenses, approval times, bottlenecks, delivery, "
              "OCR, dialogs, feedback", {200: StatsOut, 404: Error, **ERRORS}, query=StatsQuery),
)


def openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the operations above (JSON Schema 2020-12 component schemas)."""
    models: list[tuple[type[BaseModel], Literal["validation", "serialization"]]] = []
    for op in OPERATIONS:
        if op.body is not None:
            models.append((op.body, "validation"))
        models.extend((m, "serialization") for m in op.responses.values())
    unique = list(dict.fromkeys(models))
    refs, top = models_json_schema(unique, ref_template="#/components/schemas/{model}")
    schemas: dict[str, Any] = top.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        entry: dict[str, Any] = {"operationId": op.name, "summary": op.summary, "parameters": []}
        for name, pattern in op.path_params.items():
            entry["parameters"].append(
                {"name": name, "in": "path", "required": True, "schema": {"type": "string", "pattern": pattern}}
            )
        if op.query is not None:
            query = op.query.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, schema in query["properties"].items():
                entry["parameters"].append(
                    {"name": name, "in": "query", "required": name in query.get("required", []), "schema": schema}
                )
        if op.idempotent:
            entry["parameters"].append({
                "name": IDEMPOTENCY_HEADER, "in": "header", "required": False,
                "schema": {"type": "string", "pattern": f"^{IDEMPOTENCY_KEY.pattern}$"},
                "description": "a retry with the same key and body gets the first answer again (header"
                               " Idempotent-Replayed: true) and sends nothing; the same key with another body"
                               " is refused (422). Keys are remembered for at least 24 hours.",
            })
        if op.body is not None:
            entry["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": refs[(op.body, "validation")]}}}
        entry["responses"] = {
            str(code): {"description": model.__doc__ or model.__name__, "content": {
                "application/json": {"schema": refs[(model, "serialization")]}}}
            for code, model in sorted(op.responses.items())
        }
        entry["security"] = [{"bearer": []}]
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "WeCom finance assistant: finance platform API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "FINANCE_API_TOKEN"}},
        },
    }
