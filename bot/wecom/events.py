"""WeCom callback payloads: wechatpy's message and event classes, extended with the events it lacks.

wechatpy 1.8 knows messages and the classic events but has no class for `template_card_event`,
`template_card_menu_event`, `change_contact` and `taskcard_click`. They are declared here and looked
up next to wechatpy's own tables (its public `MESSAGE_TYPES` / `EVENT_TYPES`), without touching its
global registry; the XML is parsed once (`xmlread`, into the dict shape wechatpy's classes read) and
the plain dict is kept.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from wechatpy.enterprise.events import EVENT_TYPES
from wechatpy.enterprise.messages import MESSAGE_TYPES
from wechatpy.events import BaseEvent
from wechatpy.fields import BaseField, IntegerField, StringField

from bot.wecom.xmlread import XmlError, read_xml


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class CardClick(BaseEvent):
    """What every card click carries: the app, the button's key and the card's task id."""

    agent = IntegerField("AgentID", 0)
    key = StringField("EventKey")
    task_id = StringField("TaskId")


class TaskCardClickEvent(CardClick):
    event = "taskcard_click"


class TemplateCardMenuEvent(CardClick):
    event = "template_card_menu_event"
    card_type = StringField("CardType")
    response_code = StringField("ResponseCode")


class TemplateCardEvent(TemplateCardMenuEvent):
    event = "template_card_event"
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


# WeCom's deepest payload (a card event's SelectedItems/SelectedItem/OptionIds/OptionId) is 5 levels
# below <xml>; anything far deeper is hostile and would not even serialise to JSON for the inbox.
MAX_DEPTH = 16


EXTRA_EVENTS: dict[str, type[BaseEvent]] = {
    cls.event: cls for cls in (TemplateCardEvent, TemplateCardMenuEvent, TaskCardClickEvent, ChangeContactEvent)
}


def message_class(data: dict[str, Any]) -> type[Any] | None:
    """The wechatpy class for a payload, or None for a type the bot does not handle."""
    kind = str(data.get("MsgType", "")).lower()
    if kind == "event":
        event = str(data.get("Event", "")).lower()
        return EXTRA_EVENTS.get(event) or EVENT_TYPES.get(event)
    return MESSAGE_TYPES.get(kind)


def parse_payload(plaintext: str) -> dict[str, Any]:
    """Decrypted XML -> the message as a plain dict, safe to store as JSON."""
    try:
        root = read_xml(plaintext, max_depth=MAX_DEPTH)
    except XmlError as exc:
        raise PayloadError(f"unreadable message XML: {exc}") from None
    data = root.get("xml")
    if not isinstance(data, dict):
        raise PayloadError("empty message")
    if not data.get("MsgType"):
        raise PayloadError("message without MsgType")
    return data


def dedupe_key(data: dict[str, Any]) -> str:
    """Messages by MsgId; events by their full content.

    WeCom documents sender + CreateTime for events, which merges two card clicks or two contact
    changes in the same second. A redelivery repeats the same plaintext (only the envelope changes),
    so a digest of every field identifies an event exactly.
    """
    agent = str(data.get("AgentID", ""))
    if str(data.get("MsgType", "")).lower() != "event" and data.get("MsgId"):
        return f"msg:{agent}:{data['MsgId']}"
    canonical = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)  # compact UTF-8 JSON, keys sorted
    return "evt:" + hashlib.sha256(canonical).hexdigest()
