"""The handler's view of the world: the message, a transaction, and ways to answer.

Handlers never speak HTTP or SQL. Everything they send is written to the outbound table inside the
same transaction as the state change it reports, so a crash can neither lose a reply nor send one
for a change that was rolled back; the sender delivers after commit.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from chat.message import Inbound
from storage.audit import AuditKey, AuditRepo
from storage.cards import CardRepo
from storage.db import Tx
from storage.inbox import InboxItem
from storage.org import Department, OrgRepo, OrgUser
from storage.outbound import OutboundRepo
from storage.timers import TimerRepo

if TYPE_CHECKING:
    from chat.events import EventBus
    from config import Settings
    from handlers.rules import Rules
    from ocr.models import Invoice

R = TypeVar("R")
CJK = re.compile(r"[\u4e00-\u9fff]")


class InvoiceUnreadable(Exception):
    """A file the reader gave up on: `kind` is `timeout`, `crashed` or `unreadable` (not an invoice file,
    damaged, or too large to decode)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


class Gateway(Protocol):
    """Slow outside reads a handler's prepare step may need; the bot implements them."""

    async def fetch_media(self, media_id: str) -> bytes: ...

    async def fetch_upload(self, upload_id: int) -> bytes: ...

    async def fetch_user(self, user_id: str) -> OrgUser | None: ...

    async def fetch_department(self, dept_id: int) -> Department | None: ...

    async def fetch_tag(self, tag_id: int) -> tuple[str, list[str]] | None: ...

    async def read_document(self, data: bytes) -> list[Invoice]:
        """Every invoice in a file (a photo, a PDF page by page, an OFD or XML e-invoice)."""

    async def long_read(self, fn: Callable[[Tx], Awaitable[R]]) -> R:
        """A heavy read-only query (figures over months of data) on a snapshot of its own, off the
        event loop, so that callbacks keep being acknowledged meanwhile."""


class Clock(Protocol):
    def now(self) -> datetime: ...


@dataclass
class Services:
    """Long-lived collaborators shared by every handler invocation."""

    settings: Settings
    clock: Clock
    rules: Rules
    gateway: Gateway
    events: EventBus
    wake_sender: Callable[[], None] = lambda: None
    wake_scheduler: Callable[[], None] = lambda: None
    # operator actions the bot carries out after the handler's commit (admin commands ask for them)
    replay_inbox: Callable[[InboxItem], None] = lambda item: None
    sync_org: Callable[[], None] = lambda: None
    audit_key: AuditKey | None = None  # opened at start (bot.runtime.audit_chain)

    @property
    def zone(self) -> ZoneInfo:
        return self.settings.zone


@dataclass
class Context:
    msg: Inbound
    tx: Tx
    services: Services
    prepared: Any = None
    args: str = ""
    now: datetime = field(default=None)  # type: ignore[assignment]
    # set when a person acts from an H5 page: what the handler answers is shown there, not sent to chat
    page: list[str] | None = field(default=None, repr=False)
    _user: OrgUser | None = field(default=None, repr=False)
    _user_loaded: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        if self.now is None:
            self.now = self.services.clock.now()

    # reading -----------------------------------------------------------------------------------
    def repo(self, cls: type[R]) -> R:
        return self.tx.repo(cls)

    async def user(self) -> OrgUser | None:
        """The sender as the org chart knows them (None for system events and strangers)."""
        if not self._user_loaded:
            self._user = await self.repo(OrgRepo).user(self.msg.user_id)
            self._user_loaded = True
        return self._user

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def rules(self) -> Rules:
        return self.services.rules

    @property
    def lang(self) -> str:
        """Reply in English when the user wrote English, else Chinese."""
        text = self.msg.text
        if text and not CJK.search(text) and re.search(r"[A-Za-z]", text):
            return "en"
        return "zh"

    def t(self, zh: str, en: str) -> str:
        return en if self.lang == "en" else zh

    def local(self, when: datetime) -> datetime:
        return when.astimezone(self.services.zone)

    def fmt_time(self, when: datetime) -> str:
        return self.local(when).strftime("%Y-%m-%d %H:%M")

    def quiet_until(self, when: datetime | None = None) -> datetime | None:
        """End of the quiet period containing `when` (UTC), or None when it is not quiet."""
        return quiet_end(when or self.now, self.settings.quiet_hours, self.services.zone)

    # answering ---------------------------------------------------------------------------------
    async def reply(self, text: str, *, markdown: bool = False) -> None:
        if self.page is not None:
            self.page.append(text)
            return
        if markdown:
            await self.send_markdown([self.msg.user_id], text)
        else:
            await self.send_text([self.msg.user_id], text)

    async def send_text(self, users: Iterable[str], text: str, *, quiet: bool = False) -> None:
        await self._send_each(users, {"msgtype": "text", "text": {"content": text}}, quiet)

    async def send_markdown(self, users: Iterable[str], content: str, *, quiet: bool = False) -> None:
        await self._send_each(users, {"msgtype": "markdown", "markdown": {"content": content}}, quiet)

    async def send_textcard(
        self, users: Iterable[str], title: str, description: str, url: str, *, button: str = "详情", quiet: bool = False
    ) -> None:
        card = {"title": title, "description": description, "url": url, "btntxt": button}
        await self._send_each(users, {"msgtype": "textcard", "textcard": card}, quiet)

    async def send_card(self, user_id: str, card: dict[str, Any], *, quiet: bool = False) -> str:
        """Send an interactive template_card; its task_id is remembered for later updates."""
        task_id = str(card["task_id"])
        await self.repo(CardRepo).remember(task_id, user_id, None, self.now)
        await self._send_each([user_id], {"msgtype": "template_card", "template_card": card}, quiet)
        return task_id

    async def update_card(
        self, task_id: str, *, replace_name: str | None = None, card: dict[str, Any] | None = None
    ) -> bool:
        """Update a card we sent (button text or whole card); False if we never sent it."""
        owner = await self.repo(CardRepo).owner(task_id)
        if owner is None:
            return False
        body: dict[str, Any] = {"userids": [owner], "task_id": task_id}
        if card is not None:
            body["template_card"] = card
        else:
            body["button"] = {"replace_name": replace_name or "已处理"}
        await self._enqueue("card_update", f"user:{owner}", body, self.now)
        return True

    async def remember_card_code(self, task_id: str, response_code: str) -> None:
        """A click hands us a fresh response_code for that card; keep the newest."""
        owner = await self.repo(CardRepo).owner(task_id)
        if owner is not None and response_code:
            await self.repo(CardRepo).remember(task_id, owner, response_code, self.now)

    async def send_group(self, chat_id: str, msgtype: str, payload: dict[str, Any], *, quiet: bool = False) -> None:
        body = {"chatid": chat_id, "msgtype": msgtype, msgtype: payload}
        await self._enqueue("appchat", f"chat:{chat_id}", body, self._not_before(quiet))

    async def send_robot(self, key: str, msgtype: str, payload: dict[str, Any], *, quiet: bool = False) -> None:
        body = {"key": key, "msgtype": msgtype, msgtype: payload}
        await self._enqueue("robot", robot_order_key(key), body, self._not_before(quiet))

    async def audit(self, action: str, subject: str, data: dict[str, Any], *, actor: str | None = None) -> None:
        key = self.services.audit_key
        assert key is not None, "the audit chain's key is opened at start"
        await self.repo(AuditRepo).append(
            at=self.now, actor=actor or self.msg.user_id, action=action, subject=subject, data=data, key=key
        )

    async def emit(self, name: str, payload: dict[str, Any]) -> None:
        """Tell the other capabilities, inside this transaction, that something happened."""
        await self.services.events.publish(self, name, payload)

    async def schedule(self, kind: str, key: str, due_at: datetime, payload: dict[str, Any] | None = None) -> None:
        await self.repo(TimerRepo).schedule(kind, key, due_at, payload)
        self.tx.after_commit(self.services.wake_scheduler)

    async def schedule_once(
        self, kind: str, key: str, due_at: datetime, payload: dict[str, Any] | None = None
    ) -> bool:
        created = await self.repo(TimerRepo).schedule_once(kind, key, due_at, payload)
        self.tx.after_commit(self.services.wake_scheduler)
        return created

    async def cancel_timer(self, key: str) -> None:
        await self.repo(TimerRepo).cancel(key)

    # internals ---------------------------------------------------------------------------------
    def _not_before(self, quiet: bool) -> datetime:
        return (self.quiet_until() or self.now) if quiet else self.now

    async def _send_each(self, users: Iterable[str], body: dict[str, Any], quiet: bool) -> None:
        not_before = self._not_before(quiet)
        for user_id in dict.fromkeys(users):
            await self._enqueue("message", f"user:{user_id}", {"touser": user_id, **body}, not_before)

    async def _enqueue(self, channel: str, order_key: str, body: dict[str, Any], not_before: datetime) -> None:
        await self.repo(OutboundRepo).add(channel, order_key, body, now=self.now, not_before=not_before)
        self.tx.after_commit(self.services.wake_sender)


def robot_order_key(key: str) -> str:
    """A robot's messages queue under a digest of its key: the key is a credential, and the order key
    shows in logs and in the admins' `失败消息` list."""
    return "robot:" + hashlib.sha256(key.encode()).hexdigest()[:16]


def quiet_end(when: datetime, hours: tuple[Any, Any] | None, zone: ZoneInfo) -> datetime | None:
    """If `when` falls in the daily quiet window (which may wrap midnight), when that window ends."""
    if hours is None:
        return None
    start, end = hours
    local = when.astimezone(zone)
    t = local.time().replace(tzinfo=None)
    wraps = start > end
    inside = (t >= start or t < end) if wraps else (start <= t < end)
    if not inside:
        return None
    end_day = local.date()
    if wraps and t >= start:
        end_day += timedelta(days=1)
    return datetime.combine(end_day, end, tzinfo=zone).astimezone(when.tzinfo)


Handler = Callable[[Context], Awaitable[None]]
