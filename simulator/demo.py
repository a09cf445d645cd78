"""The demo chat page (/demo/) and its JSON API: a person picks who they are and talks to the bot
through the simulator, exactly as a WeCom client would (callbacks in, message/send out)."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import BodyPartReader, web
from pydantic import BaseModel, ValidationError

from simulator.invoice_art import render_invoice_pdf, render_invoice_png, sample_fields
from simulator.server import SIM_KEY

if TYPE_CHECKING:
    from simulator.core import WeComSimulator
    from simulator.models import CallbackResult, SentMessage

PAGE = Path(__file__).with_name("static") / "demo.html"
MAX_UPLOAD = 10 * 2**20
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")


def is_image(data: bytes) -> bool:
    """Only pictures can be sent into an app chat; PDFs go through the bot's upload page."""
    return data.startswith(IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


@dataclass
class DemoInput:
    """Something the person typed or uploaded, kept so the page can show both sides of the chat."""

    user: str
    kind: str
    text: str
    time: float
    media_id: str | None = None
    status: int = 0


class SendBody(BaseModel):
    user: str
    text: str


B = TypeVar("B", bound=BaseModel)


class MenuBody(BaseModel):
    user: str
    key: str


class ClickBody(BaseModel):
    user: str
    task_id: str
    key: str
    selected: dict[str, list[str]] = {}


def _sim(request: web.Request) -> WeComSimulator:
    return request.app[SIM_KEY]


def _dept_names(sim: WeComSimulator, dept_ids: list[int]) -> list[str]:
    return [sim.org.departments[d].name for d in dept_ids if d in sim.org.departments]


def _bot_message(sim: WeComSimulator, msg: SentMessage, userid: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "dir": "out", "seq": msg.seq, "channel": msg.channel, "msgtype": msg.msgtype, "payload": msg.payload,
        "time": msg.time, "recalled": msg.recalled, "chatid": msg.chatid, "robot": msg.robot,
    }
    task_id = msg.payload.get("task_id") if msg.msgtype == "template_card" else None
    card = sim.cards.get(str(task_id)) if task_id else None
    if card is not None and userid is not None and userid in card.views and card.msgid == msg.msgid:
        view = card.view(userid)
        item["payload"] = view.card
        item["card"] = {"task_id": card.task_id, "replace_name": view.replace_name, "clickable": view.clickable}
    return item


async def page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(PAGE, headers={"Cache-Control": "no-store"})


async def users(request: web.Request) -> web.Response:
    sim = _sim(request)
    return web.json_response({
        "users": [
            {"userid": u.userid, "name": u.name, "position": u.position,
             "departments": _dept_names(sim, u.departments)}
            for u in sim.org.users.values() if u.status == 1
        ],
        "bot_upload_url": f"{sim.bot_public_url.rstrip('/')}/h5/upload" if sim.bot_public_url else None,
        # signs the previous persona out first, so the workbench opens as the one chosen now
        "bot_workbench_url": f"{sim.bot_public_url.rstrip('/')}/h5/logout?next=/h5/mine" if sim.bot_public_url
        else None,
    })


async def messages(request: web.Request) -> web.Response:
    sim = _sim(request)
    userid = request.query.get("user", "")
    after = int(request.query.get("after", "-1"))
    items = [_bot_message(sim, m, userid) for m in sim.messages_to(userid) if m.seq > after]
    mine = [
        {"dir": "in", "kind": i.kind, "text": i.text, "time": i.time, "media_id": i.media_id, "status": i.status}
        for i in sim.demo_inputs if i.user == userid
    ]
    timeline = sorted([*mine, *items], key=lambda item: item["time"])
    last = sim.messages[-1].seq if sim.messages else -1
    return web.json_response({"items": timeline, "last": last})


def _remember(sim: WeComSimulator, entry: DemoInput, result: CallbackResult) -> dict[str, Any]:
    entry.status = result.status
    sim.demo_inputs.append(entry)
    return {"status": result.status, "attempts": result.attempts}


def _no_bot(sim: WeComSimulator) -> web.Response | None:
    if sim.bot_callback_url:
        return None
    return web.json_response({"error": "机器人未连接（bot_callback_url 未设置）"}, status=503)


def _bad_request(reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=400)


async def send(request: web.Request) -> web.Response:
    sim = _sim(request)
    try:
        body = SendBody.model_validate(await request.json())
    except (ValueError, ValidationError) as exc:
        return _bad_request(str(exc))
    if not sim.org.active(body.user) or not body.text.strip():
        return _bad_request("unknown user or empty text")
    if (unavailable := _no_bot(sim)) is not None:
        return unavailable
    entry = DemoInput(body.user, "text", body.text, sim.clock())
    result = await sim.send_text(body.user, body.text)
    return web.json_response(_remember(sim, entry, result))


async def upload(request: web.Request) -> web.Response:
    sim = _sim(request)
    reader = await request.multipart()
    user, data, filename = "", b"", "invoice.jpg"
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "user":
            user = (await part.text()).strip()
        elif part.name == "file":
            filename = part.filename or filename
            data = bytes(await part.read(decode=False))
    if not sim.org.active(user) or not data or len(data) > MAX_UPLOAD:
        return _bad_request("unknown user, empty file or file too large")
    if not is_image(data):
        return _bad_request("只能发送图片；PDF 请用“上传PDF发票”")
    if (unavailable := _no_bot(sim)) is not None:
        return unavailable
    stored = sim.store_media("image", filename, data)
    entry = DemoInput(user, "image", filename, sim.clock(), media_id=stored.media_id)
    result = await sim.send_stored_image(user, stored)
    return web.json_response(_remember(sim, entry, result))


async def _tap(request: web.Request, model: type[B], act: Callable[[WeComSimulator, B], Awaitable[CallbackResult]]
               ) -> web.Response:
    """A tap on the page (a card button, a menu item) delivered as WeCom would; 409 when not possible."""
    sim = _sim(request)
    try:
        body = model.model_validate(await request.json())
    except (ValueError, ValidationError) as exc:
        return _bad_request(str(exc))
    if (unavailable := _no_bot(sim)) is not None:
        return unavailable
    try:
        result = await act(sim, body)
    except ValueError as exc:
        return web.json_response({"error": str(exc)}, status=409)
    return web.json_response({"status": result.status, "attempts": result.attempts})


async def click(request: web.Request) -> web.Response:
    return await _tap(request, ClickBody,
                      lambda sim, b: sim.click_card(b.user, b.task_id, b.key, selected=b.selected))


async def app_menu(request: web.Request) -> web.Response:
    """The custom menu the bot set with menu/create (empty until it did)."""
    return web.json_response({"button": _sim(request).menu or []})


async def menu_click(request: web.Request) -> web.Response:
    return await _tap(request, MenuBody, lambda sim, b: sim.click_menu(b.user, b.key))


async def chats(request: web.Request) -> web.Response:
    sim = _sim(request)
    groups = [
        {"chatid": c.chatid, "name": c.name, "members": [sim.org.users[u].name for u in c.userlist
                                                         if u in sim.org.users],
         "messages": [_bot_message(sim, m, None) for m in sim.find_messages(chat=c.chatid, channel="appchat")]}
        for c in sim.appchats.values()
    ]
    robots = [
        {"key": r.key, "name": r.name,
         "messages": [_bot_message(sim, m, None) for m in sim.messages if m.robot == r.key]}
        for r in sim.robots.values()
    ]
    return web.json_response({"groups": groups, "robots": robots})


async def media(request: web.Request) -> web.StreamResponse:
    item = _sim(request).media.get(request.match_info["media_id"])
    if item is None:
        raise web.HTTPNotFound()
    return web.Response(body=item.data, content_type=item.content_type)


async def to_page(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/demo/")


async def sample_invoice(request: web.Request) -> web.Response:
    """A freshly drawn VAT invoice (new numbers each time) to try the photo and PDF paths with."""
    fields = sample_fields(secrets.randbelow(10**9))
    if request.match_info["kind"] == "pdf":
        return web.Response(body=render_invoice_pdf(fields), content_type="application/pdf",
                            headers={"Content-Disposition": 'attachment; filename="sample-invoice.pdf"'})
    return web.Response(body=render_invoice_png(fields), content_type="image/png",
                        headers={"Content-Disposition": 'attachment; filename="sample-invoice.png"'})


def setup(app: web.Application) -> None:
    app.router.add_get("/demo", to_page)
    app.router.add_get("/demo/", page)
    app.router.add_get("/demo/api/users", users)
    app.router.add_get("/demo/api/messages", messages)
    app.router.add_post("/demo/api/send", send)
    app.router.add_post("/demo/api/upload", upload)
    app.router.add_post("/demo/api/click", click)
    app.router.add_get("/demo/api/menu", app_menu)
    app.router.add_post("/demo/api/menu", menu_click)
    app.router.add_get("/demo/api/chats", chats)
    app.router.add_get("/demo/api/media/{media_id}", media)
    app.router.add_get("/demo/sample-invoice.{kind:png|pdf}", sample_invoice)
