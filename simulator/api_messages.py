"""message/send, message/update_template_card and message/recall."""

from __future__ import annotations

import copy
import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from simulator import errors, tokens, validation
from simulator.errors import ApiError
from simulator.models import Card, CardView, ResponseCode
from simulator.server import ApiRequest, Route, ok

if TYPE_CHECKING:
    from simulator.core import WeComSimulator

RESPONSE_CODE_TTL = 72 * 3600
RECALL_WINDOW = 24 * 3600


def _split(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [part for part in str(value).split("|") if part]


def resolve(sim: WeComSimulator, users: list[str], parties: list[str], tags: list[str]
            ) -> tuple[list[str], dict[str, str]]:
    """Expand recipients to active member ids; return them and the invalid* fields for the answer."""
    if not (users or parties or tags):
        raise ApiError(errors.RECIPIENTS_EMPTY, "touser, toparty and totag are all empty")
    valid: list[str] = []
    invalid: dict[str, list[str]] = {"invaliduser": [], "invalidparty": [], "invalidtag": []}

    def add(userid: str) -> None:
        if userid not in valid:
            valid.append(userid)

    if "@all" in users:
        for user in sim.org.users.values():
            if user.status == 1:
                add(user.userid)
    else:
        for userid in users:
            if sim.org.active(userid):
                add(userid)
            else:
                invalid["invaliduser"].append(userid.lower())
    for party in parties:
        if not party.isdigit() or int(party) not in sim.org.departments:
            invalid["invalidparty"].append(party)
            continue
        for user in sim.org.members(int(party), recursive=True):
            if user.status == 1:
                add(user.userid)
    for tag_id in tags:
        tag = sim.org.tags.get(int(tag_id)) if tag_id.isdigit() else None
        if tag is None:
            invalid["invalidtag"].append(tag_id)
            continue
        for userid in tag.users:
            if sim.org.active(userid):
                add(userid)
    if not valid:
        raise ApiError(errors.ALL_RECIPIENTS_INVALID, "all touser, toparty and totag are invalid")
    return valid, {k: "|".join(v) for k, v in invalid.items() if v}


def _check_agent(sim: WeComSimulator, body: dict[str, Any]) -> None:
    try:
        agent = int(body.get("agentid", -1))
    except (TypeError, ValueError):
        agent = -1
    if agent != sim.agent_id:
        raise ApiError(errors.INVALID_AGENT_ID, "invalid agentid")


def _repeated(sim: WeComSimulator, body: dict[str, Any]) -> bool:
    """The same request inside its duplicate-check window: WeCom answers ok and delivers nothing,
    before any other check (a re-sent card repeats its task_id and is still just a repeat)."""
    if int(body.get("enable_duplicate_check", 0) or 0) != 1:
        return False
    now = sim.clock()
    key = json.dumps(body, sort_keys=True, ensure_ascii=False)
    interval = min(int(body.get("duplicate_check_interval", 1800) or 1800), 14400)
    seen = sim.recent_requests.get(key)
    if seen is not None and now - seen < interval:
        return True
    sim.recent_requests[key] = now
    return False


def _rate_dropped(sim: WeComSimulator, recipients: list[str]) -> dict[str, str]:
    """Members already at the per-member minute limit of app messages: skipped with errcode 0."""
    now = sim.clock()
    limit = sim.per_user_minute_limit
    if limit is None:
        return {}
    recent = Counter(u for m in sim.messages if m.channel == "app" and now - m.time < 60 for u in m.touser)
    return {u: "rate" for u in recipients if recent[u] >= limit}


async def send(sim: WeComSimulator, req: ApiRequest) -> dict[str, Any]:
    body = req.body
    _check_agent(sim, body)
    msgtype, payload = validation.payload(body, validation.APP_TYPES, sim.media_valid, cards=True)
    recipients, invalid = resolve(
        sim, _split(body.get("touser")), _split(body.get("toparty")), _split(body.get("totag"))
    )
    if _repeated(sim, body):
        sent = sim.record("app", [], msgtype, payload, request=body, log=False)
        sim.dropped.extend((sent.msgid, userid, "duplicate") for userid in recipients)
        return ok(**invalid, msgid=sent.msgid)
    task_id = payload.get("task_id") if msgtype == "template_card" else None
    if task_id is not None and task_id in sim.cards:
        raise ApiError(errors.INVALID_PARAMETER, "invalid parameter: task_id already exists")
    dropped = _rate_dropped(sim, recipients)
    recipients = [u for u in recipients if u not in dropped]
    sent = sim.record("app", recipients, msgtype, payload, request=body, log=bool(recipients))
    sim.dropped.extend((sent.msgid, userid, reason) for userid, reason in dropped.items())
    answer = ok(**invalid, msgid=sent.msgid)
    if task_id is not None:
        card = Card(
            task_id=str(task_id), card_type=str(payload["card_type"]), recipients=recipients,
            original=copy.deepcopy(payload), msgid=sent.msgid, sent_at=sent.time,
            views={u: CardView(copy.deepcopy(payload)) for u in recipients},
        )
        sim.cards[card.task_id] = card
        if card.card_type in validation.INTERACTIVE_CARDS:
            answer["response_code"] = sim.issue_response_code(card, source="send").code
    sim.notify()
    return answer


def _find_code(sim: WeComSimulator, code: Any) -> tuple[Card, ResponseCode]:
    for card in sim.cards.values():
        issued = card.code(str(code))
        if issued is not None:
            return card, issued
    raise ApiError(errors.INVALID_PARAMETER, "invalid parameter: response_code not found")


async def update_template_card(sim: WeComSimulator, req: ApiRequest) -> dict[str, Any]:
    body = req.body
    _check_agent(sim, body)
    card, issued = _find_code(sim, body.get("response_code"))
    if issued.used_at is not None:
        raise ApiError(errors.INVALID_PARAMETER, "invalid parameter: response_code already used")
    if sim.clock() - issued.issued_at > RESPONSE_CODE_TTL:
        raise ApiError(errors.INVALID_PARAMETER, "invalid parameter: response_code expired")
    if int(body.get("atall", 0)) == 1:
        targets, invalid_users = list(card.recipients), []
    else:
        wanted, _ = resolve(sim, _split(body.get("userids")), _split(body.get("partyids")),
                            _split(body.get("tagids")))
        targets = [u for u in wanted if u in card.recipients]
        invalid_users = [u for u in _split(body.get("userids")) if u not in card.recipients]
        if not targets:
            raise ApiError(errors.ALL_RECIPIENTS_INVALID, "no targeted user received this card")
    new_card = body.get("template_card")
    button = body.get("button")
    if isinstance(new_card, dict):
        validation.template_card({**new_card, "task_id": card.task_id})
        replace = new_card.get("replace_text")
    elif isinstance(button, dict) and button.get("replace_name"):
        if card.card_type not in validation.INTERACTIVE_CARDS:
            raise ApiError(errors.INVALID_PARAMETER, "invalid parameter: button update needs an interactive card")
        replace = str(button["replace_name"])
    else:
        raise ApiError(errors.INVALID_PARAMETER, "invalid parameter: need button.replace_name or template_card")
    now = sim.clock()
    issued.used_at = now
    for userid in targets:
        view = card.views[userid]
        if isinstance(new_card, dict):
            view.card = copy.deepcopy(new_card)
        view.replace_name = replace
        view.updated_at = now
    sim.notify()
    return ok(invaliduser=invalid_users)


async def recall(sim: WeComSimulator, req: ApiRequest) -> dict[str, Any]:
    msgid = req.body.get("msgid")
    sent = next((m for m in sim.messages if m.msgid == msgid and m.channel == "app"), None)
    if sent is None or sent.recalled:
        raise ApiError(errors.INVALID_PARAMETER, "invalid parameter: msgid not found")
    if sim.clock() - sent.time > RECALL_WINDOW:
        raise ApiError(errors.INVALID_PARAMETER, "invalid parameter: msgid older than 24 hours")
    sent.recalled = True
    sim.notify()
    return ok()


ROUTES = [
    Route("POST", "message/send", tokens.APP, send),
    Route("POST", "message/update_template_card", tokens.APP, update_template_card),
    Route("POST", "message/recall", tokens.APP, recall),
]
