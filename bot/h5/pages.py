"""Mobile pages opened from WeCom: the upload page (`/h5/upload`), which brings PDF e-invoices and
photos into the expense chat, and the expense detail page (`/h5/expenses/BX…`, linked from cards).

Self-built apps never receive file messages, so the bot serves this page. The person is
identified by WeCom OAuth2 (silent `snsapi_base`): without a session the page redirects to the
authorize URL, the redirect back carries a single-use `code`, `auth/getuserinfo` turns it into a
userid, and a short-lived HMAC-signed cookie remembers it. An upload is stored and then goes
through the normal inbox as a `file` item from source `upload`, so the expense dialog continues
in the chat exactly as if the file had been sent there.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import logging
import secrets
from datetime import datetime
from urllib.parse import urlencode

from aiohttp import BodyPartReader, web

from bot.core import BOT, Bot
from bot.finance.api import api_context
from bot.wecom.client import WeComError
from handlers.status import status_text
from storage.inbox import InboxItem, InboxRepo
from storage.org import OrgRepo
from storage.uploads import UploadRepo

log = logging.getLogger(__name__)

PATH = "/h5/upload"
SESSION_COOKIE = "h5_session"
STATE_COOKIE = "h5_state"
SESSION_SECONDS = 30 * 60
MAX_UPLOAD = 10 * 1024 * 1024
REAL_API_BASE = "https://qyapi.weixin.qq.com"
REAL_AUTHORIZE_BASE = "https://open.weixin.qq.com"
MAGIC = ((b"%PDF-", "application/pdf"), (b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


def sniff(data: bytes) -> str | None:
    """The content type by magic bytes; the browser's claim is not trusted."""
    return next((kind for magic, kind in MAGIC if data.startswith(magic)), None)


class SessionSigner:
    """Signs `userid|expiry` with a key derived from the app secret (never the secret itself)."""

    def __init__(self, secret: str, seconds: int = SESSION_SECONDS) -> None:
        self.key = hmac.new(secret.encode(), b"wecom-finance-bot/h5-session", hashlib.sha256).digest()
        self.seconds = seconds

    def _sign(self, text: str) -> str:
        return hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()

    def issue(self, user_id: str, now: datetime) -> str:
        payload = f"{user_id}|{int(now.timestamp()) + self.seconds}"
        encoded = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
        return f"{encoded}.{self._sign(payload)}"

    def verify(self, token: str | None, now: datetime) -> str | None:
        """The userid in a valid, unexpired token; None otherwise."""
        if not token or "." not in token:
            return None
        encoded, sig = token.rsplit(".", 1)
        try:
            payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
            user_id, expiry = payload.rsplit("|", 1)
            expires = int(expiry)
        except (ValueError, UnicodeDecodeError):
            return None
        if not hmac.compare_digest(sig, self._sign(payload)) or expires < now.timestamp():
            return None
        return user_id

    def csrf(self, token: str) -> str:
        """A form token bound to the session, so another site cannot post in the user's name."""
        return self._sign(f"csrf|{token}")


def _page(title: str, body: str, status: int = 200) -> web.Response:
    doc = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: -apple-system, "PingFang SC", "Noto Sans CJK SC", sans-serif; margin: 0; padding: 24px 18px;
       background: #f5f6f8; color: #1f2329; }}
h1 {{ font-size: 20px; margin: 0 0 12px; }}
p {{ line-height: 1.6; color: #4e5969; }}
.card {{ background: #fff; border-radius: 12px; padding: 20px; box-shadow: 0 1px 3px rgba(0,0,0,.06); }}
input[type=file] {{ display: block; width: 100%; margin: 16px 0; font-size: 16px; }}
button {{ width: 100%; padding: 14px; font-size: 17px; border: 0; border-radius: 8px; background: #07c160;
         color: #fff; }}
</style></head><body><div class="card"><h1>{html.escape(title)}</h1>{body}</div></body></html>"""
    return web.Response(text=doc, content_type="text/html", status=status)


def _form(csrf: str) -> web.Response:
    body = f"""<p>选择 PDF 电子发票或发票照片（JPG/PNG，最大 10 MB）。上传后回到聊天确认报销。</p>
<form method="post" action="{PATH}" enctype="multipart/form-data">
<input type="hidden" name="csrf" value="{html.escape(csrf)}">
<input type="file" name="file" accept="application/pdf,image/jpeg,image/png" required>
<button type="submit">上传</button></form>"""
    return _page("上传发票", body)


class UploadPage:
    """Plugin: the upload page and the expense detail page (linked from approval cards)."""

    def routes(self, app: web.Application) -> None:
        app.router.add_get(PATH, self.show)
        app.router.add_post(PATH, self.receive)
        app.router.add_get(r"/h5/expenses/{number:BX\d{8}-\d{4}}", self.expense)

    async def start(self, bot: Bot) -> None:
        return None

    async def stop(self) -> None:
        return None

    # GET: session, or OAuth redirect, or the redirect back --------------------------------------
    async def show(self, request: web.Request) -> web.StreamResponse:
        bot = request.app[BOT]
        signer = SessionSigner(bot.settings.wecom_secret)
        viewer = await self._viewer(request, bot, signer, PATH)
        if isinstance(viewer, web.Response):
            return viewer
        return _form(signer.csrf(request.cookies.get(SESSION_COOKIE) or ""))

    async def expense(self, request: web.Request) -> web.StreamResponse:
        """An expense's timeline, shown with the same visibility rules as `进度` in the chat."""
        bot = request.app[BOT]
        number = request.match_info["number"]
        viewer = await self._viewer(request, bot, SessionSigner(bot.settings.wecom_secret), request.path)
        if isinstance(viewer, web.Response):
            return viewer
        async with bot.db.read() as tx:
            text = await status_text(api_context(bot, tx, "h5_expense", user_id=viewer, source="h5"), number)
        return _page(number, f"<pre style=\"white-space:pre-wrap\">{html.escape(text)}</pre>")

    async def _viewer(self, request: web.Request, bot: Bot, signer: SessionSigner, back: str) -> str | web.Response:
        """The signed-in member; else log in through WeCom OAuth2 and come back to `back` (raises
        the redirect), or an error page when WeCom does not know the person."""
        user_id = signer.verify(request.cookies.get(SESSION_COOKIE) or "", bot.clock.now())
        if user_id is not None:
            return user_id
        code = request.query.get("code")
        if code:
            return await self._login(request, bot, signer, code, back)
        state = secrets.token_hex(16)
        response = web.HTTPFound(self._authorize_url(request, bot, state, back))
        response.set_cookie(STATE_COOKIE, state, max_age=600, path="/h5", httponly=True, samesite="Lax",
                            secure=request.secure)
        raise response

    def _authorize_url(self, request: web.Request, bot: Bot, state: str, back: str) -> str:
        settings = bot.settings
        base = settings.wecom_api_base
        if base.rstrip("/") == REAL_API_BASE:
            base = REAL_AUTHORIZE_BASE
        query = urlencode({
            "appid": settings.wecom_corp_id, "redirect_uri": self._self_url(request, bot, back),
            "response_type": "code", "scope": "snsapi_base", "state": state, "agentid": settings.wecom_agent_id,
        })
        return f"{base}/connect/oauth2/authorize?{query}#wechat_redirect"

    @staticmethod
    def _self_url(request: web.Request, bot: Bot, back: str) -> str:
        """Where WeCom sends the user back: the configured public URL, else the address they used."""
        origin = bot.settings.bot_public_url or str(request.url.origin())
        return f"{origin}{back}"

    async def _login(self, request: web.Request, bot: Bot, signer: SessionSigner, code: str,
                     back: str) -> web.Response:
        state = request.cookies.get(STATE_COOKIE)
        if not state or not hmac.compare_digest(state, request.query.get("state", "")):
            return _page("登录已失效", f'<p>请<a href="{back}">重新打开此页面</a>。</p>', status=400)
        try:
            user_id = await bot.client.user_from_oauth_code(code)
        except WeComError as exc:
            log.info("upload page login failed: %s", exc)
            user_id = None
        if user_id is not None:
            async with bot.db.read() as tx:
                user = await tx.repo(OrgRepo).user(user_id)
            if user is None or not user.active:
                user_id = None
        if user_id is None:
            return _page("无法识别身份", "<p>只有企业成员可以上传发票，请在企业微信中打开此页面。</p>", status=403)
        response = web.HTTPFound(back)
        response.set_cookie(SESSION_COOKIE, signer.issue(user_id, bot.clock.now()), max_age=SESSION_SECONDS,
                            path="/h5", httponly=True, samesite="Lax", secure=request.secure)
        response.del_cookie(STATE_COOKIE, path="/h5")
        raise response

    # POST: store the file and hand it to the chat ------------------------------------------------
    async def receive(self, request: web.Request) -> web.Response:
        bot = request.app[BOT]
        signer = SessionSigner(bot.settings.wecom_secret)
        token = request.cookies.get(SESSION_COOKIE) or ""
        user_id = signer.verify(token, bot.clock.now())
        if user_id is None:
            return _page("登录已过期", f'<p>请重新打开<a href="{PATH}">上传页面</a>。</p>', status=401)
        try:
            csrf, filename, data = await self._read_form(request)
        except _TooLarge:
            return _page("文件太大", f'<p>文件不能超过 10 MB。<a href="{PATH}">重新选择</a></p>', status=413)
        if not hmac.compare_digest(csrf, signer.csrf(token)):
            return _page("页面已过期", f'<p>请<a href="{PATH}">刷新页面</a>后重新上传。</p>', status=403)
        content_type = sniff(data)
        if content_type is None:
            return _page("文件类型不支持", f'<p>只支持 PDF、JPG、PNG。<a href="{PATH}">重新选择</a></p>', status=415)
        item = await self._store(bot, user_id, filename, content_type, data)
        bot.dispatcher.dispatch(item)
        return _page("已收到，请回到聊天确认", "<p>发票已收到，识别结果会发到企业微信聊天中，请回到聊天确认报销。</p>")

    async def _read_form(self, request: web.Request) -> tuple[str, str, bytes]:
        """Stream the multipart body (the app's small body limit does not apply), capped at 10 MB."""
        csrf, filename, data = "", "upload", b""
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == "csrf":
                csrf = (await part.read(decode=True)).decode(errors="replace")[:200]
            elif part.name == "file":
                filename = (part.filename or filename)[:200]
                chunks: list[bytes] = []
                size = 0
                while chunk := await part.read_chunk(64 * 1024):
                    size += len(chunk)
                    if size > MAX_UPLOAD:
                        raise _TooLarge
                    chunks.append(chunk)
                data = b"".join(chunks)
        return csrf, filename, data

    @staticmethod
    async def _store(bot: Bot, user_id: str, filename: str, content_type: str, data: bytes) -> InboxItem:
        now = bot.clock.now()
        async with bot.db.transaction() as tx:
            upload_id = await tx.repo(UploadRepo).add(user_id, filename, content_type, data, now)
            item = await tx.repo(InboxRepo).add(InboxItem(
                dedupe_key=f"upload:{upload_id}", source="upload", user_id=user_id, msg_type="file", event=None,
                payload={"upload_id": upload_id, "filename": filename, "content_type": content_type},
                received_at=now,
            ))
        assert item is not None  # the upload id is new, so its key is too
        return item


class _TooLarge(Exception):
    """The upload passed the 10 MB cap."""
