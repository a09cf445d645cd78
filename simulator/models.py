"""Records the simulator keeps: what the bot sent, interactive cards, media and callback outcomes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

LINK_TAG = re.compile(r"""<a\s[^>]*href\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)
MARKDOWN_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
BARE_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'）)]+", re.IGNORECASE)


@dataclass
class SentMessage:
    """One message the bot pushed out, whichever channel it used.

    `channel` is "app" (message/send), "appchat" (appchat/send), "webhook" (group robot) or
    "passive" (an encrypted reply in a callback response). `payload` is the msgtype's own object,
    e.g. {"content": "..."} for text; `request` is the whole decoded request body.
    """

    seq: int
    channel: str
    touser: list[str]
    msgtype: str
    payload: dict[str, Any]
    time: float
    msgid: str
    chatid: str | None = None
    robot: str | None = None
    request: dict[str, Any] = field(default_factory=dict)
    recalled: bool = False

    def text(self) -> str:
        """Best-effort human text of the message, for assertions and the demo page."""
        if self.msgtype in ("text", "markdown", "markdown_v2"):
            return str(self.payload.get("content", ""))
        if self.msgtype == "textcard":
            return f"{self.payload.get('title', '')}\n{self.payload.get('description', '')}"
        if self.msgtype == "template_card":
            main = self.payload.get("main_title") or {}
            return f"{main.get('title', '')}\n{main.get('desc', '')}\n{self.payload.get('sub_title_text', '')}"
        if self.msgtype == "news":
            return "\n".join(str(a.get("title", "")) for a in self.payload.get("articles", []))
        return ""

    def links(self) -> list[str]:
        """Where a WeCom client lets the reader tap through from a text, markdown or textcard message:
        `<a href>` tags, markdown links, and bare URLs, which clients make clickable. (Template
        cards show their texts as they are; their links are the card's own fields.)"""
        if self.msgtype not in ("text", "markdown", "markdown_v2", "textcard"):
            return []
        text = self.text()
        found = LINK_TAG.findall(text) + BARE_URL.findall(text)
        if self.msgtype in ("markdown", "markdown_v2"):
            found += MARKDOWN_LINK.findall(text)
        return found


@dataclass
class ResponseCode:
    """A template-card response_code: issued by message/send (userid None) or by a click."""

    code: str
    task_id: str
    issued_at: float
    source: str
    userid: str | None = None
    used_at: float | None = None


@dataclass
class CardView:
    """What one recipient currently sees for a card."""

    card: dict[str, Any]
    replace_name: str | None = None
    updated_at: float | None = None

    @property
    def clickable(self) -> bool:
        return self.replace_name is None


@dataclass
class CardClick:
    userid: str
    key: str
    response_code: str
    time: float
    selected: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Card:
    """An interactive template card keyed by task_id, with per-recipient state and issued codes."""

    task_id: str
    card_type: str
    recipients: list[str]
    original: dict[str, Any]
    msgid: str
    sent_at: float
    views: dict[str, CardView] = field(default_factory=dict)
    codes: list[ResponseCode] = field(default_factory=list)
    clicks: list[CardClick] = field(default_factory=list)

    def view(self, userid: str) -> CardView:
        return self.views[userid]

    def code(self, code: str) -> ResponseCode | None:
        return next((c for c in self.codes if c.code == code), None)

    @property
    def consumed_codes(self) -> list[str]:
        return [c.code for c in self.codes if c.used_at is not None]


@dataclass
class Media:
    media_id: str
    type: str
    filename: str
    content_type: str
    data: bytes
    created_at: float


@dataclass
class AppChat:
    chatid: str
    name: str
    owner: str
    userlist: list[str]


@dataclass
class Robot:
    key: str
    name: str
    sent_at: list[float] = field(default_factory=list)


@dataclass
class CallbackResult:
    """Outcome of driving one callback: the last attempt's HTTP status (0 when it timed out or the
    connection failed), its body, how many attempts were made, and any decrypted passive reply."""

    status: int
    body: bytes
    attempts: int
    reply: str | None = None
    statuses: list[int] = field(default_factory=list)
    reply_error: str | None = None
