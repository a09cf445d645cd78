"""WeCom callback payloads: wechatpy's parser, extended with the events it does not know.

wechatpy 1.8 parses messages and the classic events but turns `template_card_event`,
`template_card_menu_event`, `change_contact` and `taskcard_click` into `UnknownMessage`; they are
registered here so the rest of the bot sees one parser.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from wechatpy.enterprise.events import register_event
from wechatpy.enterprise.parser import parse_message
from wechatpy.events import BaseEvent
from wechatpy.fields import BaseField, IntegerField, StringField
from wechatpy.messages import UnknownMessage

MESSAGE_TYPES = frozenset({"text", "image", "voice", "video", "location", "link"})


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


@register_event("template_card_event")
class TemplateCardEvent(BaseEvent):
    event = "template_card_event"
    agent = IntegerField("AgentID", 0)
    key = StringField("EventKey")
    task_id = StringField("TaskId")
    card_type = StringField("CardType")
    response_code = StringField("ResponseCode")
    selected_items_raw = BaseField("SelectedItems", {})

    @property
    def selected(self) -> dict[str, list[str]]:
        """question_key -> chosen option ids; xmltodict gives a dict for one child, a list for many."""
        items = (self.selected_items_raw or {}).get("SelectedItem")
        chosen: dict[str, list[str]] = {}
        for item in _as_list(items):
            options = (item.get("OptionIds") or {}).get("OptionId")
            chosen[str(item.get("QuestionKey", ""))] = [str(o) for o in _as_list(options)]
        return chosen


@register_event("template_card_menu_event")
class TemplateCardMenuEvent(BaseEvent):
    event = "template_card_menu_event"
    agent = IntegerField("AgentID", 0)
    key = StringField("EventKey")
    task_id = StringField("TaskId")
    card_type = StringField("CardType")
    response_code = StringField("ResponseCode")


@register_event("taskcard_click")
class TaskCardClickEvent(BaseEvent):
    event = "taskcard_click"
    agent = IntegerField("AgentID", 0)
    key = StringField("EventKey")
    task_id = StringField("TaskId")


@register_event("change_contact")
class ChangeContactEvent(BaseEvent):
    """All change types share one event; which fields are present depends on `ChangeType`."""

    event = "change_contact"
    change_type = StringField("ChangeType")
    user_id = StringField("UserID")
    new_user_id = StringField("NewUserID")
    name = StringField("Name")
    department = StringField("Department")
    is_leader_in_dept = StringField("IsLeaderInDept")
    direct_leader = StringField("DirectLeader")
    status = StringField("Status")
    party_id = StringField("Id")
    parent_id = StringField("ParentId")
    tag_id = StringField("TagId")
    add_user_items = StringField("AddUserItems")
    del_user_items = StringField("DelUserItems")


class PayloadError(ValueError):
    """The decrypted plaintext is not a WeCom message we can read."""


def parse_payload(plaintext: str) -> tuple[Any, dict[str, Any]]:
    """Parse decrypted XML into wechatpy's object and a plain dict safe to store as JSON."""
    try:
        message = parse_message(plaintext)
    except Exception as exc:  # xmltodict raises several types; all mean "not a message"
        raise PayloadError(f"unreadable message XML: {type(exc).__name__}") from exc
    if message is None or not isinstance(message._data, dict):
        raise PayloadError("empty message")
    data: dict[str, Any] = message._data  # xmltodict output: str values, nested dicts/lists only
    if not data.get("MsgType"):
        raise PayloadError("message without MsgType")
    return message, data


def is_supported(message: Any) -> bool:
    return not isinstance(message, UnknownMessage)


def dedupe_key(data: dict[str, Any]) -> str:
    """Messages by MsgId; events by their full content.

    WeCom documents sender + CreateTime for events, which merges two card clicks or two contact
    changes in the same second. A redelivery repeats the same plaintext (only the envelope changes),
    so a digest of every field identifies an event exactly.
    """
    agent = str(data.get("AgentID", ""))
    if str(data.get("MsgType", "")).lower() != "event" and data.get("MsgId"):
        return f"msg:{agent}:{data['MsgId']}"
    canonical = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return "evt:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
