"""Shape checks for outbound message payloads, so a malformed bot request fails here as it would in WeCom."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from simulator import errors
from simulator.errors import ApiError

TASK_ID_RE = re.compile(r"^[0-9A-Za-z_\-@]{1,128}$")
INTERACTIVE_CARDS = frozenset({"button_interaction", "vote_interaction", "multiple_interaction"})
CARD_TYPES = frozenset({"text_notice", "news_notice", *INTERACTIVE_CARDS})


def _bad(msg: str) -> ApiError:
    return ApiError(errors.INVALID_PARAMETER, f"invalid parameter: {msg}")


def _obj(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(f"{name} must be an object")
    return value


def _text_field(payload: dict[str, Any], key: str, limit: int, *, required: bool = True) -> None:
    value = payload.get(key)
    if value is None or value == "":
        if required:
            if key == "content":
                raise ApiError(errors.EMPTY_CONTENT, "empty content")
            raise _bad(f"missing {key}")
        return
    if not isinstance(value, str):
        raise _bad(f"{key} must be a string")
    if len(value.encode("utf-8")) > limit:
        raise ApiError(errors.CONTENT_TOO_LARGE, f"content size out of limit: {key} > {limit} bytes")


def content(limit: int) -> Callable[[dict[str, Any], Callable[[str], bool]], None]:
    def check(payload: dict[str, Any], media_ok: Callable[[str], bool]) -> None:
        _text_field(payload, "content", limit)
    return check


def textcard(payload: dict[str, Any], media_ok: Callable[[str], bool]) -> None:
    _text_field(payload, "title", 128)
    _text_field(payload, "description", 512)
    _text_field(payload, "url", 2048)
    btntxt = payload.get("btntxt")
    if btntxt is not None and len(str(btntxt)) > 4:
        raise _bad("btntxt longer than 4 characters")


def news(payload: dict[str, Any], media_ok: Callable[[str], bool]) -> None:
    articles = payload.get("articles")
    if not isinstance(articles, list) or not 1 <= len(articles) <= 8:
        raise _bad("articles must hold 1 to 8 items")
    for article in articles:
        _text_field(_obj(article, "article"), "title", 128)


def media(payload: dict[str, Any], media_ok: Callable[[str], bool]) -> None:
    media_id = payload.get("media_id")
    if not isinstance(media_id, str) or not media_ok(media_id):
        raise ApiError(errors.INVALID_MEDIA_ID, "invalid media_id")


def robot_image(payload: dict[str, Any], media_ok: Callable[[str], bool]) -> None:
    if not payload.get("base64") or not payload.get("md5"):
        raise _bad("image needs base64 and md5")


def _buttons(card: dict[str, Any]) -> None:
    buttons = card.get("button_list")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 6:
        raise _bad("button_list must hold 1 to 6 buttons")
    keys: set[str] = set()
    for button in buttons:
        button = _obj(button, "button")
        _text_field(button, "text", 40)
        if int(button.get("type", 0)) == 1:
            _text_field(button, "url", 2048)
            continue
        key = button.get("key")
        if not isinstance(key, str) or not key or len(key.encode()) > 1024:
            raise _bad("callback button needs a key of at most 1024 bytes")
        if key in keys:
            raise _bad(f"duplicate button key {key}")
        keys.add(key)


def _submit(card: dict[str, Any]) -> None:
    submit = _obj(card.get("submit_button"), "submit_button")
    _text_field(submit, "text", 40)
    _text_field(submit, "key", 1024)


def template_card(card: dict[str, Any], *, robot: bool = False) -> str:
    """Validate a template_card object; returns its card_type."""
    card_type = card.get("card_type")
    allowed = {"text_notice", "news_notice"} if robot else CARD_TYPES
    if card_type not in allowed:
        raise _bad(f"card_type {card_type!r} not supported here")
    main = card.get("main_title")
    if not (isinstance(main, dict) and main.get("title")) and not card.get("sub_title_text"):
        raise _bad("main_title.title or sub_title_text is required")
    task_id = card.get("task_id")
    needs_task = card_type in INTERACTIVE_CARDS or "action_menu" in card
    if needs_task and not task_id:
        raise _bad("task_id is required for this card")
    if task_id is not None and (not isinstance(task_id, str) or not TASK_ID_RE.match(task_id)):
        raise _bad("task_id must be 1-128 chars of [0-9A-Za-z_-@]")
    if len(card.get("horizontal_content_list", [])) > 6 or len(card.get("jump_list", [])) > 3:
        raise _bad("too many horizontal_content_list or jump_list items")
    if card_type in ("text_notice", "news_notice") and not isinstance(card.get("card_action"), dict):
        raise _bad("card_action is required for notice cards")
    if card_type == "button_interaction":
        _buttons(card)
    elif card_type == "vote_interaction":
        checkbox = _obj(card.get("checkbox"), "checkbox")
        if not 1 <= len(checkbox.get("option_list", [])) <= 20 or not checkbox.get("question_key"):
            raise _bad("checkbox needs question_key and 1 to 20 options")
        _submit(card)
    elif card_type == "multiple_interaction":
        selects = card.get("select_list")
        if not isinstance(selects, list) or not 1 <= len(selects) <= 3:
            raise _bad("select_list must hold 1 to 3 selections")
        _submit(card)
    return str(card_type)


def card_keys(card: dict[str, Any]) -> set[str]:
    """Keys a user can click on a card as currently shown."""
    keys = {str(b["key"]) for b in card.get("button_list", []) if int(b.get("type", 0)) == 0 and "key" in b}
    if isinstance(card.get("submit_button"), dict):
        keys.add(str(card["submit_button"].get("key")))
    for action in (card.get("action_menu") or {}).get("action_list", []):
        keys.add(str(action.get("key")))
    return keys


APP_TYPES: dict[str, Callable[[dict[str, Any], Callable[[str], bool]], None]] = {
    "text": content(2048),
    "markdown": content(2048),
    "textcard": textcard,
    "news": news,
    "image": media,
    "file": media,
    "voice": media,
    "video": media,
}

APPCHAT_TYPES = APP_TYPES

ROBOT_TYPES: dict[str, Callable[[dict[str, Any], Callable[[str], bool]], None]] = {
    "text": content(2048),
    "markdown": content(4096),
    "markdown_v2": content(4096),
    "news": news,
    "file": media,
    "voice": media,
    "image": robot_image,
}


def payload(body: dict[str, Any], table: dict[str, Callable[[dict[str, Any], Callable[[str], bool]], None]],
            media_ok: Callable[[str], bool], *, cards: bool = False, robot: bool = False
            ) -> tuple[str, dict[str, Any]]:
    """Check `body[msgtype]` against the channel's table; template cards only where `cards` is set."""
    msgtype = body.get("msgtype")
    if not isinstance(msgtype, str):
        raise ApiError(errors.INVALID_MSG_TYPE, "invalid message type")
    if msgtype == "template_card" and cards:
        card = _obj(body.get("template_card"), "template_card")
        template_card(card, robot=robot)
        return msgtype, card
    check = table.get(msgtype)
    if check is None:
        raise ApiError(errors.INVALID_MSG_TYPE, "invalid message type")
    data = _obj(body.get(msgtype), msgtype)
    check(data, media_ok)
    return msgtype, data
