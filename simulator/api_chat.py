"""App group chats (appchat/*) and group robots (webhook/send)."""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING, Any

from simulator import errors, tokens, validation
from simulator.errors import ApiError
from simulator.models import AppChat
from simulator.server import NO_TOKEN, ApiRequest, Route, ok

if TYPE_CHECKING:
    from simulator.core import WeComSimulator

CHAT_ID_RE = re.compile(r"^[0-9A-Za-z\-]{1,32}$")
ROBOT_PER_MINUTE = 20


def _members(sim: WeComSimulator, userids: Any) -> list[str]:
    if not isinstance(userids, list) or not all(isinstance(u, str) for u in userids):
        raise ApiError(errors.CHAT_MEMBERS_INVALID, "userlist must be a list of userids")
    unknown = [u for u in userids if not sim.org.active(u)]
    if unknown:
        raise ApiError(errors.CHAT_MEMBERS_INVALID, f"invalid userlist: {'|'.join(unknown)}")
    return list(dict.fromkeys(userids))


def _chat(sim: WeComSimulator, chatid: Any) -> AppChat:
    chat = sim.appchats.get(str(chatid or ""))
    if chat is None:
        raise ApiError(errors.CHAT_NOT_FOUND, "chatid not found")
    return chat


async def create(sim: WeComSimulator, req: ApiRequest) -> dict[str, Any]:
    body = req.body
    userlist = _members(sim, body.get("userlist"))
    if not 2 <= len(userlist) <= 2000:
        raise ApiError(errors.CHAT_MEMBERS_INVALID, "a group chat needs 2 to 2000 members")
    chatid = str(body.get("chatid") or secrets.token_hex(8))
    if not CHAT_ID_RE.match(chatid) or chatid in sim.appchats:
        raise ApiError(errors.CHAT_ID_INVALID, "invalid or duplicate chatid")
    owner = str(body.get("owner") or userlist[0])
    if owner not in userlist:
        raise ApiError(errors.CHAT_MEMBERS_INVALID, "owner must be a member")
    name = str(body.get("name") or "")
    if len(name) > 50:
        raise ApiError(errors.INVALID_PARAMETER, "invalid parameter: name longer than 50 characters")
    sim.appchats[chatid] = AppChat(chatid, name, owner, userlist)
    return ok(chatid=chatid)


async def update(sim: WeComSimulator, req: ApiRequest) -> dict[str, Any]:
    body = req.body
    chat = _chat(sim, body.get("chatid"))
    add = _members(sim, body.get("add_user_list", []))
    remove = set(body.get("del_user_list", []) or [])
    members = [u for u in [*chat.userlist, *add] if u not in remove]
    chat.userlist = list(dict.fromkeys(members))
    if body.get("name"):
        chat.name = str(body["name"])
    if body.get("owner"):
        if body["owner"] not in chat.userlist:
            raise ApiError(errors.CHAT_MEMBERS_INVALID, "owner must be a member")
        chat.owner = str(body["owner"])
    return ok()


async def get(sim: WeComSimulator, req: ApiRequest) -> dict[str, Any]:
    chat = _chat(sim, req.query.get("chatid"))
    return ok(chat_info={"chatid": chat.chatid, "name": chat.name, "owner": chat.owner,
                         "userlist": list(chat.userlist), "chat_type": 0})


async def send(sim: WeComSimulator, req: ApiRequest) -> dict[str, Any]:
    chat = _chat(sim, req.body.get("chatid"))
    msgtype, payload = validation.payload(req.body, validation.APPCHAT_TYPES, sim.media_valid)
    sim.record("appchat", list(chat.userlist), msgtype, payload, request=req.body, chatid=chat.chatid)
    sim.notify()
    return ok()


async def webhook_send(sim: WeComSimulator, req: ApiRequest) -> dict[str, Any]:
    robot = sim.robots.get(req.query.get("key", ""))
    if robot is None:
        raise ApiError(errors.WEBHOOK_KEY_INVALID, "invalid webhook url")
    now = sim.clock()
    robot.sent_at = [t for t in robot.sent_at if now - t < 60]
    if len(robot.sent_at) >= ROBOT_PER_MINUTE:
        raise ApiError(errors.FREQ_LIMIT, "api freq out of limit")
    msgtype, payload = validation.payload(req.body, validation.ROBOT_TYPES, sim.media_valid, cards=True,
                                          robot=True)
    robot.sent_at.append(now)
    mentioned = payload.get("mentioned_list", []) if isinstance(payload.get("mentioned_list"), list) else []
    sim.record("webhook", [str(u) for u in mentioned], msgtype, payload, request=req.body, robot=robot.key)
    sim.notify()
    return ok()


ROUTES = [
    Route("POST", "appchat/create", tokens.APP, create),
    Route("POST", "appchat/update", tokens.APP, update),
    Route("GET", "appchat/get", tokens.APP, get),
    Route("POST", "appchat/send", tokens.APP, send),
    Route("POST", "webhook/send", NO_TOKEN, webhook_send),
]
