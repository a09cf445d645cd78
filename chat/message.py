"""What a handler sees of an inbound item: one typed view over messages, events, uploads and timers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from storage.inbox import InboxItem

SAY = "say:"  # a card button that stands for saying its words


class Inbound(BaseModel):
    """An inbox item as handlers read it; `data` is the parsed WeCom XML (or the internal payload)."""

    model_config = ConfigDict(frozen=True)

    inbox_id: int
    source: str
    user_id: str
    msg_type: str
    event: str | None = None
    data: dict[str, Any]
    received_at: datetime

    @classmethod
    def from_item(cls, item: InboxItem) -> Inbound:
        return cls(
            inbox_id=item.id,
            source=item.source,
            user_id=item.user_id,
            msg_type=item.msg_type,
            event=item.event,
            data=item.payload,
            received_at=item.received_at,
        )

    def field(self, name: str) -> str:
        value = self.data.get(name)
        return "" if value is None else str(value).strip()

    @property
    def text(self) -> str:
        return self.field("Content") if self.msg_type == "text" else ""

    @property
    def command(self) -> str | None:
        """What a person asked for in words: a text, a menu click (its key is a command word) or a card
        button keyed `say:<words>` (the welcome card's shortcuts); None for anything else."""
        if self.msg_type == "text":
            return self.text
        if self.event == "click" or (self.event == "template_card_event" and self.event_key.startswith(SAY)):
            return self.event_key.removeprefix(SAY)
        return None

    @property
    def event_key(self) -> str:
        return self.field("EventKey")

    @property
    def task_id(self) -> str:
        return self.field("TaskId")

    @property
    def response_code(self) -> str:
        return self.field("ResponseCode")

    @property
    def media_id(self) -> str:
        return self.field("MediaId")

    @property
    def change_type(self) -> str:
        return self.field("ChangeType")
