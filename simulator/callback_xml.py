"""Plaintext callback XML exactly as WeCom shapes it (before encryption)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

XmlValue = str | int | float | Mapping[str, Any] | list[Any] | tuple[Any, ...] | None


def cdata(value: str) -> str:
    """Wrap text in CDATA, splitting any embedded terminator so the text survives intact."""
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def element(name: str, value: XmlValue) -> str:
    """Numbers stay bare, strings go in CDATA, mappings nest, lists repeat the element."""
    if value is None:
        return ""
    if isinstance(value, Mapping):
        inner = "".join(element(k, v) for k, v in value.items())
        return f"<{name}>{inner}</{name}>"
    if isinstance(value, list | tuple):
        return "".join(element(name, v) for v in value)
    if isinstance(value, bool):
        return f"<{name}>{int(value)}</{name}>"
    if isinstance(value, int | float):
        return f"<{name}>{value}</{name}>"
    return f"<{name}>{cdata(str(value))}</{name}>"


def document(fields: Iterable[tuple[str, XmlValue]]) -> str:
    return "<xml>" + "".join(element(k, v) for k, v in fields) + "</xml>"


def message(corp_id: str, userid: str, created: int, msgtype: str, msg_id: int, agent_id: int,
            **fields: XmlValue) -> str:
    head: list[tuple[str, XmlValue]] = [
        ("ToUserName", corp_id), ("FromUserName", userid), ("CreateTime", created), ("MsgType", msgtype),
    ]
    tail: list[tuple[str, XmlValue]] = [("MsgId", msg_id), ("AgentID", agent_id)]
    return document([*head, *fields.items(), *tail])


def event(corp_id: str, userid: str, created: int, event_name: str, agent_id: int | None,
          fields: Mapping[str, XmlValue]) -> str:
    items: list[tuple[str, XmlValue]] = [
        ("ToUserName", corp_id), ("FromUserName", userid), ("CreateTime", created),
        ("MsgType", "event"), ("Event", event_name), *fields.items(),
    ]
    if agent_id is not None:
        items.append(("AgentID", agent_id))
    return document(items)


def selected_items(selected: Mapping[str, list[str]]) -> dict[str, Any] | None:
    """SelectedItems for vote/multiple/button_selection clicks."""
    if not selected:
        return None
    return {
        "SelectedItem": [
            {"QuestionKey": key, "OptionIds": {"OptionId": list(ids)}} for key, ids in selected.items()
        ]
    }
