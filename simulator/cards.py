"""Template-card clicks as WeCom reports them, and the passive `update_button` reply to a click."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from defusedxml import ElementTree

from simulator import callback_xml, validation
from simulator.models import Card, CardClick

if TYPE_CHECKING:
    from simulator.core import WeComSimulator


class CardNotClickable(ValueError):
    """The card is not (or no longer) clickable for that user, so WeCom would send no event."""


def _menu_keys(card: dict[str, object]) -> set[str]:
    menu = card.get("action_menu")
    actions = menu.get("action_list", []) if isinstance(menu, dict) else []
    return {str(a.get("key")) for a in actions if isinstance(a, dict)}


def click_xml(sim: WeComSimulator, userid: str, task_id: str, key: str,
              selected: Mapping[str, list[str]]) -> tuple[Card, str]:
    """Check the click is possible, issue its fresh ResponseCode and build the event plaintext.

    A key from the card's action_menu produces template_card_menu_event; any other clickable key
    (buttons, submit) produces template_card_event with SelectedItems when options were chosen.
    """
    card = sim.cards.get(task_id)
    if card is None or userid not in card.views:
        raise CardNotClickable(f"{userid} never received card {task_id}")
    view = card.view(userid)
    menu = key in _menu_keys(view.card)
    if not view.clickable and not menu:
        raise CardNotClickable(f"card {task_id} already shows {view.replace_name!r} to {userid}")
    if key not in validation.card_keys(view.card):
        raise CardNotClickable(f"card {task_id} has no clickable key {key!r}")
    code = sim.issue_response_code(card, source="click", userid=userid)
    card.clicks.append(CardClick(userid, key, code.code, sim.clock(), dict(selected)))
    fields: dict[str, callback_xml.XmlValue] = {
        "EventKey": key, "TaskId": task_id, "CardType": str(view.card.get("card_type", card.card_type)),
        "ResponseCode": code.code,
    }
    if not menu:
        fields["SelectedItems"] = callback_xml.selected_items(selected)
    event = "template_card_menu_event" if menu else "template_card_event"
    return card, callback_xml.event(sim.corp_id, userid, int(sim.clock()), event, sim.agent_id, fields)


def apply_passive_update(card: Card, userid: str, reply_xml: str, now: float) -> bool:
    """A passive `update_button` reply greys only the clicking user's card; True when applied."""
    root = ElementTree.fromstring(reply_xml)
    if (root.findtext("MsgType") or "") != "update_button":
        return False
    name = root.findtext("Button/ReplaceName")
    if not name:
        return False
    view = card.view(userid)
    view.replace_name = name
    view.updated_at = now
    return True
