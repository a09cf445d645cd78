"""The WeCom callback endpoints: verify, decrypt, parse, de-duplicate, persist, then ack.

Everything slow happens after the ack, in the inbox workers. Any request that fails a check is
answered with a 4xx and one log line, and nothing of it is stored or processed.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import WeChatSigner

from bot.ops import metrics
from bot.runtime.clock import Clock
from bot.runtime.inbox import InboxWriter
from bot.wecom.events import MAX_DEPTH, PayloadError, dedupe_key, message_class, parse_payload
from bot.wecom.xmlread import XmlError, read_xml
from config import Settings
from storage.inbox import InboxItem

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
MAX_CLOCK_SKEW = 600
TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: str.isdigit() also accepts '²' and '١'
READ_CHUNK = 64 * 1024


class Refused(Exception):
    """A callback that must be refused; carries the HTTP status and the reason for the log."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class CallbackCrypto:
    """wechatpy's callback crypto for one URL: the AES cipher is built once, not once per message,
    and the signature is compared in constant time."""

    def __init__(self, token: str, aes_key: str, corp_id: str) -> None:
        self.token = token
        self.corp_id = corp_id
        self._prp = PrpCrypto(WeChatCrypto(token, aes_key, corp_id).key)

    def open(self, encrypted: str, signature: str, timestamp: str, nonce: str) -> str:
        """The plaintext of a message or echostr whose signature is right and that names our corp."""
        signer = WeChatSigner()
        signer.add_data(self.token, timestamp, nonce, encrypted)
        if not hmac.compare_digest(signer.signature.encode(), signature.encode()):
            raise InvalidSignatureException()
        return str(self._prp.decrypt(encrypted, self.corp_id))


@dataclass(frozen=True)
class CallbackConfig:
    """One callback URL: its crypto and what its messages are called in the inbox."""

    name: str
    token: str
    aes_key: str
    corp_id: str

    def crypto(self) -> CallbackCrypto:
        return CallbackCrypto(self.token, self.aes_key, self.corp_id)


class CallbackEndpoint:
    def __init__(
        self,
        config: CallbackConfig,
        writer: InboxWriter,
        *,
        timestamp: Callable[[], float] = time.time,
        now: Callable[[], datetime],
    ) -> None:
        self.config = config
        self.crypto = config.crypto()
        self.writer = writer
        self.timestamp = timestamp
        self.now = now
        self._outcomes = {o: metrics.CALLBACKS.labels(config.name, o) for o in
                          ("accepted", "duplicate", "ignored", "refused")}

    async def verify_url(self, request: web.Request) -> web.Response:
        """URL verification: echo the decrypted echostr, bare, within WeCom's 1 s."""
        try:
            signature, ts, nonce = self._query(request)
            echostr = request.query.get("echostr")
            if not echostr:
                raise Refused(400, "missing echostr")
            plain = self._decrypt_echo(signature, ts, nonce, echostr)
        except Refused as refused:
            return self._refuse(refused)
        return web.Response(text=plain, content_type="text/plain")

    async def receive(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        try:
            item = await self._accept(request)
        except Refused as refused:
            return self._refuse(refused)
        except Exception as exc:  # a request no check foresaw is still the sender's fault, never a 500
            return self._refuse(Refused(400, f"unreadable request ({type(exc).__name__})"))
        if item is None:
            self._outcomes["ignored"].inc()
            return web.Response(status=200)
        try:
            stored = await self.writer.submit(item)
        except Exception:
            # not stored, so not acknowledged: WeCom delivers it again
            log.exception("could not store a %s callback; answering 503 so WeCom retries", self.config.name)
            return web.Response(status=503)
        self._outcomes["accepted" if stored else "duplicate"].inc()
        metrics.ACK_SECONDS.observe(time.perf_counter() - started)
        return web.Response(status=200)

    async def _accept(self, request: web.Request) -> InboxItem | None:
        signature, ts, nonce = self._query(request)
        body = await _read_body(request)
        encrypt, to_user = _envelope(body)
        if to_user and to_user != self.config.corp_id:
            raise Refused(403, "wrong corp id in envelope")
        try:
            plaintext = self.crypto.open(encrypt, signature, ts, nonce)
        except InvalidSignatureException:
            raise Refused(403, "bad signature") from None
        except InvalidCorpIdException:
            raise Refused(403, "wrong corp id") from None
        except Exception as exc:  # bad base64, bad padding, bad length: the ciphertext is garbage
            raise Refused(400, f"undecryptable payload ({type(exc).__name__})") from None
        try:
            data = parse_payload(plaintext)
        except PayloadError as exc:
            raise Refused(400, str(exc)) from None
        if message_class(data) is None:
            log.info("ignored unsupported %s callback type=%r event=%r", self.config.name,
                     str(data.get("MsgType"))[:64], str(data.get("Event"))[:64])
            return None
        msg_type = str(data.get("MsgType", "")).lower()
        event = str(data["Event"]).lower() if msg_type == "event" and data.get("Event") else None
        return InboxItem(
            dedupe_key=dedupe_key(data),
            source=self.config.name,
            user_id=str(data.get("FromUserName") or "sys"),
            msg_type=msg_type,
            event=event,
            payload=data,
            received_at=self.now(),
        )

    def _query(self, request: web.Request) -> tuple[str, str, str]:
        signature = request.query.get("msg_signature", "")
        ts = request.query.get("timestamp", "")
        nonce = request.query.get("nonce", "")
        if not signature or not nonce or not TIMESTAMP.fullmatch(ts):
            raise Refused(400, "missing or malformed msg_signature/timestamp/nonce")
        if abs(self.timestamp() - int(ts)) > MAX_CLOCK_SKEW:
            raise Refused(403, "stale timestamp")
        return signature, ts, nonce

    def _decrypt_echo(self, signature: str, ts: str, nonce: str, echostr: str) -> str:
        try:
            return self.crypto.open(echostr, signature, ts, nonce)
        except InvalidSignatureException:
            raise Refused(403, "bad signature") from None
        except InvalidCorpIdException:
            raise Refused(403, "wrong corp id") from None
        except Exception as exc:
            raise Refused(400, f"undecryptable echostr ({type(exc).__name__})") from None

    def _refuse(self, refused: Refused) -> web.Response:
        self._outcomes["refused"].inc()
        log.warning("refused %s callback: %s (%d)", self.config.name, refused.reason, refused.status)
        return web.Response(status=refused.status, text=refused.reason)


async def _read_body(request: web.Request) -> bytes:
    """The whole body up to the cap, however it arrives (split across segments, or chunked)."""
    length = request.content_length
    if length is not None:
        if length > MAX_BODY:
            raise Refused(413, "body too large")
        return await request.content.readexactly(length)  # however many segments it comes in
    body = bytearray()
    while chunk := await request.content.read(READ_CHUNK):
        body += chunk
        if len(body) > MAX_BODY:
            raise Refused(413, "body too large")
    return bytes(body)


def _envelope(body: bytes) -> tuple[str, str]:
    """Read Encrypt and ToUserName from the outer XML (UTF-8, as WeCom sends it; no DTD)."""
    try:
        root = read_xml(body.decode("utf-8"), max_depth=MAX_DEPTH).get("xml")
    except (XmlError, UnicodeDecodeError) as exc:
        raise Refused(400, f"malformed XML ({type(exc).__name__})") from None
    fields = root if isinstance(root, dict) else {}
    encrypt, to_user = fields.get("Encrypt"), fields.get("ToUserName")
    if not isinstance(encrypt, str):
        raise Refused(400, "no Encrypt element")
    return encrypt, to_user if isinstance(to_user, str) else ""


class CallbackRoutes:
    """Routes must exist before start-up; the endpoints behind them are built once the bot runs."""

    def __init__(self, settings: Settings, clock: Clock, writer: Callable[[], InboxWriter]) -> None:
        self.writer = writer
        corp = settings.wecom_corp_id
        self.configs = {
            "app": CallbackConfig("app", settings.wecom_token.get_secret_value(),
                                  settings.wecom_aes_key.get_secret_value(), corp),
            "contacts": CallbackConfig(
                "contacts",
                (settings.wecom_contact_token or settings.wecom_token).get_secret_value(),
                (settings.wecom_contact_aes_key or settings.wecom_aes_key).get_secret_value(),
                corp,
            ),
        }
        self.clock = clock
        self._endpoints: dict[str, CallbackEndpoint] = {}

    def _endpoint(self, name: str) -> CallbackEndpoint:
        if name not in self._endpoints:
            self._endpoints[name] = CallbackEndpoint(
                self.configs[name], self.writer(), timestamp=self.clock.timestamp, now=self.clock.now
            )
        return self._endpoints[name]

    async def app_verify(self, request: web.Request) -> web.Response:
        return await self._endpoint("app").verify_url(request)

    async def app_receive(self, request: web.Request) -> web.Response:
        return await self._endpoint("app").receive(request)

    async def contacts_verify(self, request: web.Request) -> web.Response:
        return await self._endpoint("contacts").verify_url(request)

    async def contacts_receive(self, request: web.Request) -> web.Response:
        return await self._endpoint("contacts").receive(request)
