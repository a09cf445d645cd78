"""WeComSimulator: a local WeCom that speaks the real protocol in both directions.

State clock: every expiry WeCom enforces (tokens, response codes, media, OAuth codes, robot rate)
and every timestamp it writes into callbacks (CreateTime, the signed `timestamp`) comes from the
injected `clock`, so a test that shares one fake clock with the bot sees consistent time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import aiohttp
from aiohttp import web
from defusedxml import ElementTree

from simulator import (
    api_auth,
    api_chat,
    api_contacts,
    api_media,
    api_menu,
    api_messages,
    callback_xml,
    cards,
    demo,
)
from simulator.crypto import CallbackCipher, random_prefix
from simulator.delivery import DeliveryPolicy, deliver
from simulator.errors import SYSTEM_BUSY
from simulator.models import AppChat, CallbackResult, Card, Media, ResponseCode, Robot, SentMessage
from simulator.org import OrgChart, Tag, User
from simulator.server import Fault, FaultPlan, build_app
from simulator.tokens import TokenStore

DEFAULT_AES_KEY = "SimulatorAesKey0123456789abcdefghijklmnopqr"
MEDIA_TTL = api_media.MEDIA_TTL


class WeComSimulator:
    """Fake WeCom for one corp and one self-built app, plus the contact-sync callback."""

    def __init__(
        self, *, corp_id: str = "wwsimcorp0001", agent_id: int = 1000002, secret: str = "sim-secret",
        token: str = "simtoken", aes_key: str = DEFAULT_AES_KEY, contact_secret: str = "sim-contact-secret",
        contact_token: str | None = None, contact_aes_key: str | None = None, token_ttl: int = 7200,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.corp_id = corp_id
        self.agent_id = agent_id
        self.secret = secret
        self.token = token
        self.aes_key = aes_key
        self.contact_secret = contact_secret
        self.contact_token = contact_token
        self.contact_aes_key = contact_aes_key
        self.clock = clock
        self.org = OrgChart()
        self.tokens = TokenStore(token_ttl, clock)
        self.calls: Counter[str] = Counter()
        self.faults = FaultPlan()
        self.messages: list[SentMessage] = []
        self.cards: dict[str, Card] = {}
        self.media: dict[str, Media] = {}
        self.appchats: dict[str, AppChat] = {}
        self.robots: dict[str, Robot] = {}
        self.oauth_codes: dict[str, tuple[str, float]] = {}
        self.deliveries: list[tuple[str, str, CallbackResult]] = []
        self.bot_callback_url: str | None = None
        self.bot_contact_url: str | None = None
        self.bot_public_url: str | None = None
        self.callback_timeout = 5.0
        self.redelivery_count = 3
        self.redelivery_interval = 0.0
        self.verify_timeout = 1.0
        self.last_echo = ""
        self.demo_inputs: list[demo.DemoInput] = []
        self.per_user_minute_limit: int | None = 30
        self.menu: list[dict[str, Any]] | None = None  # the app's custom menu, once menu/create set it
        self.recent_requests: dict[str, float] = {}
        self.dropped: list[tuple[str, str, str]] = []
        self.base_url = ""
        self._next_msg_id = 7_000_000_000_000_000_000 + secrets.randbelow(10**15)
        self._tick = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        routes = [*api_auth.ROUTES, *api_messages.ROUTES, *api_chat.ROUTES, *api_media.ROUTES,
                  *api_contacts.ROUTES, *api_menu.ROUTES]
        self.app: web.Application = build_app(self, routes)
        self.app.router.add_get("/connect/oauth2/authorize", api_auth.authorize)
        self.app.router.add_get("/sim/pic/{media_id}", api_media.picture)
        demo.setup(self.app)

    # ---- lifecycle -------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0]
        self.base_url = f"http://{bound[0]}:{bound[1]}"
        return self.base_url

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    # ---- org chart -------------------------------------------------------------------------------

    def add_department(self, id: int, name: str, parent_id: int, leaders: Iterable[str] = ()) -> None:
        self.org.add_department(id, name, parent_id, leaders)

    def add_user(self, userid: str, name: str, departments: list[int], *, leader_in: Iterable[int] = (),
                 direct_leader: Iterable[str] = (), status: int = 1, position: str = "") -> None:
        self.org.add_user(User(userid, name, list(departments), list(leader_in), list(direct_leader),
                               status, position))

    def update_user(self, userid: str, **changes: Any) -> None:
        """Change a member's record (e.g. name, departments, leader_in, status); sends no event."""
        user = self.org.users[userid]
        for key, value in changes.items():
            if not hasattr(user, key):
                raise AttributeError(f"users have no field {key!r}")
            setattr(user, key, list(value) if isinstance(value, tuple) else value)
        for dept in self.org.departments.values():
            if userid in dept.leaders and dept.id not in user.leader_in:
                dept.leaders.remove(userid)
            elif dept.id in user.leader_in and userid not in dept.leaders:
                dept.leaders.append(userid)

    def remove_user(self, userid: str) -> None:
        self.org.remove_user(userid)

    def add_tag(self, tagid: int, name: str, users: Iterable[str]) -> None:
        self.org.tags[tagid] = Tag(tagid, name, list(users))

    def add_robot(self, key: str, name: str) -> None:
        self.robots[key] = Robot(key, name)

    def add_appchat(self, chatid: str, name: str, owner: str, users: Iterable[str]) -> None:
        """Put a group chat in the store as if the app had created it earlier."""
        self.appchats[chatid] = AppChat(chatid, name, owner, list(users))

    # ---- observation -----------------------------------------------------------------------------

    def record(self, channel: str, touser: list[str], msgtype: str, payload: dict[str, Any], *,
               request: dict[str, Any], chatid: str | None = None, robot: str | None = None,
               log: bool = True) -> SentMessage:
        """Create the record of an outbound message; `log=False` for one WeCom accepted but delivered
        to nobody (it gets a msgid but never appears in `messages`)."""
        sent = SentMessage(len(self.messages), channel, touser, msgtype, payload, self.clock(),
                           secrets.token_urlsafe(16), chatid, robot, request)
        if log:
            self.messages.append(sent)
        return sent

    def notify(self) -> None:
        """Wake every waiter; they re-check their condition."""
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0, poll: float = 0.05) -> Any:
        """Wait until predicate() returns something truthy and return it.

        Wakes at once on any simulator change (message sent, card updated) and also every `poll`
        seconds, so predicates over outside state (the bot's database, say) work too.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = predicate()
            if found:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError("condition not met in time")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._tick.wait(), min(remaining, poll))

    def find_messages(self, *, to: str | None = None, chat: str | None = None, contains: str | None = None,
                      msgtype: str | None = None, after: int = 0, channel: str | None = None) -> list[SentMessage]:
        def match(m: SentMessage) -> bool:
            return (
                (to is None or to in m.touser)
                and (chat is None or m.chatid == chat)
                and (msgtype is None or m.msgtype == msgtype)
                and (channel is None or m.channel == channel)
                and (contains is None or contains in json.dumps(m.payload, ensure_ascii=False))
            )
        return [m for m in self.messages[after:] if match(m)]

    async def wait_for_message(self, *, to: str | None = None, chat: str | None = None,
                               contains: str | None = None, msgtype: str | None = None,
                               timeout: float = 5.0, after: int = 0, channel: str | None = None) -> SentMessage:
        """First message at index >= after matching every given filter; TimeoutError lists what arrived."""
        def first() -> SentMessage | None:
            found = self.find_messages(to=to, chat=chat, contains=contains, msgtype=msgtype, after=after,
                                       channel=channel)
            return found[0] if found else None
        try:
            return await self.wait_for(first, timeout)
        except TimeoutError:
            seen = [(m.channel, m.touser, m.chatid, m.msgtype, m.text()[:80]) for m in self.messages[after:]]
            raise TimeoutError(
                f"no message to={to} chat={chat} contains={contains!r} msgtype={msgtype}; got {seen}"
            ) from None

    def messages_to(self, userid: str) -> list[SentMessage]:
        return [m for m in self.messages if userid in m.touser and m.channel in ("app", "passive")]

    # ---- state helpers used by the API handlers --------------------------------------------------

    def issue_response_code(self, card: Card, *, source: str, userid: str | None = None) -> ResponseCode:
        code = ResponseCode("RC" + secrets.token_urlsafe(24), card.task_id, self.clock(), source, userid)
        card.codes.append(code)
        return code

    def media_valid(self, media_id: str) -> bool:
        media = self.media.get(media_id)
        return media is not None and self.clock() - media.created_at < MEDIA_TTL

    def store_media(self, kind: str, filename: str, data: bytes, content_type: str | None = None) -> Media:
        return api_media.store(self, kind, filename, data, content_type)

    def issue_oauth_code(self, userid: str) -> str:
        return api_auth.issue_code(self, userid)

    # ---- fault injection -------------------------------------------------------------------------

    def fail_next(self, path: str, n: int = 1, *, errcode: int | None = None, http_status: int | None = None,
                  delay: float = 0, late: bool = False) -> None:
        """Make the next n calls of an API path fail: errcode (default -1), an HTTP status, or only a
        delay; `late=True` delays the answer after the call took effect (a caller that times out
        never learns that WeCom did the work)."""
        if errcode is None and http_status is None and not delay:
            errcode = SYSTEM_BUSY
        self.faults.add(path, Fault(errcode, http_status, delay, late), n)

    def expire_tokens(self) -> None:
        self.tokens.expire_all()

    def invalidate_tokens(self) -> None:
        self.tokens.revoke_all()

    # ---- driving the bot -------------------------------------------------------------------------

    def _msg_id(self) -> int:
        self._next_msg_id += 1
        return self._next_msg_id

    def _now(self) -> int:
        return int(self.clock())

    def _message(self, userid: str, msgtype: str, **fields: callback_xml.XmlValue) -> str:
        return callback_xml.message(self.corp_id, userid, self._now(), msgtype, self._msg_id(), self.agent_id,
                                    **fields)

    def text_message(self, userid: str, content: str) -> str:
        """The plaintext callback of a text message from `userid` (to deliver to any URL)."""
        return self._message(userid, "text", Content=content)

    async def send_text(self, userid: str, content: str) -> CallbackResult:
        return await self.deliver(self.text_message(userid, content))

    async def send_image(self, userid: str, data: bytes, filename: str = "invoice.jpg") -> CallbackResult:
        return await self.send_stored_image(userid, self.store_media("image", filename, data))

    async def send_stored_image(self, userid: str, media: Media) -> CallbackResult:
        pic_url = f"{self.base_url}/sim/pic/{media.media_id}"
        return await self.deliver(self._message(userid, "image", PicUrl=pic_url, MediaId=media.media_id))

    async def send_location_report(self, userid: str, lat: float, lng: float,
                                   precision: float = 30.0) -> CallbackResult:
        return await self.send_event(userid, "LOCATION", Latitude=lat, Longitude=lng, Precision=precision)

    async def send_event(self, userid: str, event: str, **fields: callback_xml.XmlValue) -> CallbackResult:
        if event in ("enter_agent", "click", "view") and "EventKey" not in fields:
            fields = {"EventKey": "", **fields}
        xml = callback_xml.event(self.corp_id, userid, self._now(), event, self.agent_id, fields)
        return await self.deliver(xml)

    async def click_menu(self, userid: str, key: str) -> CallbackResult:
        """The member taps a `click` item of the app's custom menu: WeCom sends a `click` event with its key."""
        if key not in api_menu.click_keys(self.menu):
            raise ValueError(f"the app menu has no click item {key!r}")
        return await self.send_event(userid, "click", EventKey=key)

    async def click_card(self, userid: str, task_id: str, key: str, *,
                         selected: Mapping[str, list[str]] | None = None) -> CallbackResult:
        """The user taps a button, submit or menu action on a card; the event carries a fresh
        ResponseCode. Raises CardNotClickable when the real client would not let the user click."""
        card, xml = cards.click_xml(self, userid, task_id, key, selected or {})
        result = await self.deliver(xml)
        if result.reply is not None and cards.apply_passive_update(card, userid, result.reply, self.clock()):
            self.notify()
        return result

    def _contact_defaults(self, change_type: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Fill a change_contact event from current org state; explicit fields win."""
        if change_type in ("create_user", "update_user") and fields.get("UserID") in self.org.users:
            user = self.org.users[fields["UserID"]]
            return {
                "UserID": user.userid, "Name": user.name, "Department": user.departments,
                "MainDepartment": user.main_department, "IsLeaderInDept": user.is_leader_in_dept,
                "DirectLeader": user.direct_leader, "Position": user.position, "Status": user.status,
            }
        if change_type in ("create_party", "update_party") and fields.get("Id") in self.org.departments:
            dept = self.org.departments[fields["Id"]]
            return {"Id": dept.id, "Name": dept.name, "ParentId": dept.parent_id, "Order": dept.order}
        return {}

    async def change_contact(self, change_type: str, *, via: str = "contacts", **fields: Any) -> CallbackResult:
        """Send a change_contact event (FromUserName `sys`) to the contact-sync or the app callback URL.

        Field names are the XML element names (UserID, Id, TagId, AddUserItems...); lists become
        comma-separated values; member/party fields not given are filled from the org chart.
        """
        merged = {**self._contact_defaults(change_type, fields), **fields}
        values: dict[str, callback_xml.XmlValue] = {"ChangeType": change_type}
        for name, value in merged.items():
            values[name] = ",".join(str(v) for v in value) if isinstance(value, list | tuple) else value
        if via == "contacts":
            xml = callback_xml.event(self.corp_id, "sys", self._now(), "change_contact", None, values)
            return await self.deliver(xml, url=self.bot_contact_url or self.bot_callback_url,
                                      token=self.contact_token or self.token,
                                      aes_key=self.contact_aes_key or self.aes_key, with_agent=False)
        if via == "app":
            xml = callback_xml.event(self.corp_id, "sys", self._now(), "change_contact", self.agent_id, values)
            return await self.deliver(xml)
        raise ValueError("via must be 'contacts' or 'app'")

    def _cipher(self, token: str | None, aes_key: str | None) -> CallbackCipher:
        return CallbackCipher(token or self.token, aes_key or self.aes_key, self.corp_id)

    async def deliver(self, plaintext_xml: str, *, url: str | None = None, token: str | None = None,
                      aes_key: str | None = None, timestamp: str | None = None, nonce: str | None = None,
                      retries: int | None = None, timeout: float | None = None,
                      with_agent: bool = True) -> CallbackResult:
        """Encrypt, sign and POST any plaintext callback, redelivering like WeCom on timeout/non-200.

        token/aes_key override the keys (to test a bot rejecting bad crypto); timestamp/nonce pin the
        signed query values for every attempt. `with_agent=False` omits AgentID from the envelope,
        as contact-sync callbacks do.
        """
        target = url or self.bot_callback_url
        if not target:
            raise RuntimeError("bot_callback_url is not set")
        policy = DeliveryPolicy(
            timeout=self.callback_timeout if timeout is None else timeout,
            retries=self.redelivery_count if retries is None else retries,
            interval=self.redelivery_interval,
        )
        result = await deliver(
            self._client(), target, self._cipher(token, aes_key), plaintext_xml,
            agent_id=self.agent_id if with_agent else None, policy=policy,
            clock=self.clock, timestamp=timestamp, nonce=nonce,
        )
        self.deliveries.append((target, plaintext_xml, result))
        if result.reply is not None:
            self._record_passive(result.reply)
        return result

    def _record_passive(self, reply_xml: str) -> None:
        root = ElementTree.fromstring(reply_xml)
        fields = {child.tag: (child.text or "") for child in root}
        msgtype = fields.get("MsgType", "")
        payload: dict[str, Any] = {"content": fields["Content"]} if "Content" in fields else {"xml": reply_xml}
        self.record("passive", [fields.get("ToUserName", "")], msgtype, payload, request={"xml": reply_xml})
        self.notify()

    async def verify_url(self, url: str | None = None, *, echo: str | None = None,
                         contact: bool = False) -> tuple[int, str]:
        """GET URL verification as the admin console does it; the bot must echo `echo` within 1 s.
        `contact=True` verifies the contact-sync URL with the contact token and key."""
        target = url or (self.bot_contact_url if contact else self.bot_callback_url)
        if not target:
            raise RuntimeError("callback URL is not set")
        plain = echo if echo is not None else str(secrets.randbelow(10**19))
        self.last_echo = plain
        cipher = (self._cipher(self.contact_token, self.contact_aes_key) if contact
                  else self._cipher(None, None))
        echostr = cipher.encrypt(plain, random_prefix())
        timestamp, nonce = str(self._now()), str(secrets.randbelow(10**9))
        params = {"msg_signature": cipher.signature(timestamp, nonce, echostr), "timestamp": timestamp,
                  "nonce": nonce, "echostr": echostr}
        try:
            async with self._client().get(target, params=params,
                                          timeout=aiohttp.ClientTimeout(total=self.verify_timeout)) as resp:
                return resp.status, await resp.text()
        except (TimeoutError, aiohttp.ClientError):
            return 0, ""
