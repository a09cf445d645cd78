"""The app's custom menu (menu/create, menu/get): validated as WeCom does, kept for the demo page and
for `WeComSimulator.click_menu`, which sends the `click` event a member's tap produces."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator import errors, tokens
from simulator.errors import ApiError
from simulator.server import ApiRequest, Route, ok

if TYPE_CHECKING:
    from simulator.core import WeComSimulator

TYPES = {"click": "key", "view": "url"}
# (count, type, name length, key length, url length) error codes: top-level buttons, then sub-buttons
CODES = {False: (40016, 40017, 40018, 40019, 40020), True: (40023, 40024, 40025, 40026, 40027)}
NAME_BYTES = {False: 16, True: 40}
LIMITS = {"key": 128, "url": 256}


def _check_agent(sim: WeComSimulator, req: ApiRequest) -> None:
    if req.query.get("agentid") != str(sim.agent_id):
        raise ApiError(errors.INVALID_AGENT_ID, "invalid agentid")


def _buttons(items: Any, sub: bool) -> None:
    count, kind, name, key, url = CODES[sub]
    if not isinstance(items, list) or not 1 <= len(items) <= (5 if sub else 3):
        raise ApiError(count, "invalid button size" if not sub else "invalid sub button size")
    for item in items:
        if not isinstance(item, dict) or not 1 <= len(str(item.get("name", "")).encode()) <= NAME_BYTES[sub]:
            raise ApiError(name, "invalid button name size")
        if not sub and "sub_button" in item:
            _buttons(item["sub_button"], True)
            continue
        field = TYPES.get(str(item.get("type")))
        if field is None:
            raise ApiError(kind, "invalid button type")
        value = str(item.get(field) or "")
        if not 1 <= len(value.encode()) <= LIMITS[field]:
            raise ApiError(key if field == "key" else url, f"invalid button {field} size")


async def create(sim: WeComSimulator, req: ApiRequest) -> dict[str, Any]:
    _check_agent(sim, req)
    _buttons(req.body.get("button"), False)
    sim.menu = req.body["button"]
    sim.notify()
    return ok()


async def get(sim: WeComSimulator, req: ApiRequest) -> dict[str, Any]:
    _check_agent(sim, req)
    if sim.menu is None:
        raise ApiError(46003, "menu no exist")
    return ok(button=sim.menu)


def click_keys(menu: list[dict[str, Any]] | None) -> set[str]:
    """Keys a member can tap: click buttons, at the top or in a sub-menu."""
    found: set[str] = set()
    for item in menu or []:
        for button in item.get("sub_button", [item]):
            if button.get("type") == "click":
                found.add(str(button["key"]))
    return found


ROUTES = [
    Route("POST", "menu/create", tokens.APP, create),
    Route("GET", "menu/get", tokens.APP, get),
]
