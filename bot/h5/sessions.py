"""Who is looking at a page: WeCom OAuth2 (silent `snsapi_base`) and a short-lived signed cookie.

Without a session a page redirects to WeCom's authorize URL; the redirect back carries a single-use
`code`, `auth/getuserinfo` turns it into a userid, and an HMAC-signed cookie remembers it.

- A session holds only while the org mirror shows the member active: one who leaves or is disabled
  is signed out on their next request, not when the cookie expires.
- Every address handed out comes from the settings (`BOT_PUBLIC_URL`), never from the request's
  `Host`; cookies are `Secure` when that address is https (the bot usually sits behind a TLS proxy
  and sees plain http itself).
- Sessions are signed with a key derived from WECOM_SECRET; in demo mode that secret is the
  simulator's well-known one, so a demo signs with a random key of its own run instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import logging
import secrets
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlencode

from aiohttp import web

from bot.parts import Bot
from bot.wecom.client import WeComError
from storage.org import OrgRepo

log = logging.getLogger(__name__)

SESSION_COOKIE = "h5_session"
STATE_COOKIE = "h5_state"
SESSION_SECONDS = 30 * 60

ErrorPage = Callable[[str, str, int], web.Response]


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

    def seal(self, text: str) -> str:
        """`text` with a signature, for a page to hand back in its form (the confirm page's login)."""
        return f"{text}~{self._sign(f'seal|{text}')}"

    def unseal(self, sealed: str) -> str | None:
        text, _, sig = sealed.rpartition("~")
        return text if text and hmac.compare_digest(sig, self._sign(f"seal|{text}")) else None


class Sessions:
    """The signed-in member of a request, or the OAuth2 round trip that signs them in."""

    def __init__(self, bot: Bot, error_page: ErrorPage) -> None:
        self.bot = bot
        settings = bot.settings
        # one signer for all pages of the bot, so one login serves the whole workbench
        self.signer: SessionSigner = bot.extras.setdefault("h5_signer", SessionSigner(
            secrets.token_hex(32) if settings.demo else settings.wecom_secret.get_secret_value()))
        self.secure = settings.public_url.startswith("https://")
        self.error_page = error_page

    async def user(self, request: web.Request) -> str | None:
        """The member of a valid session who is still active in the org mirror."""
        user_id = self.signer.verify(self.token(request), self.bot.clock.now())
        return user_id if user_id is not None and await self.active(user_id) else None

    async def active(self, user_id: str) -> bool:
        async with self.bot.db.read() as tx:
            user = await tx.repo(OrgRepo).user(user_id)
        return user is not None and user.active

    @staticmethod
    def token(request: web.Request) -> str:
        return request.cookies.get(SESSION_COOKIE) or ""

    def csrf(self, request: web.Request) -> str:
        return self.signer.csrf(self.token(request))

    async def viewer(self, request: web.Request, back: str) -> str | web.Response:
        """The signed-in member; else log in through WeCom OAuth2 and come back to `back` (raises
        the redirect), or an error page when WeCom does not know the person."""
        user_id = await self.user(request)
        if user_id is not None:
            return user_id
        code = request.query.get("code")
        if code:
            return await self._login(request, code, back)
        raise self._to_wecom(back)

    async def fresh_login(self, request: web.Request, back: str) -> str | web.Response:
        """A new WeCom login made for this very request, whatever session the browser holds (second
        verification): without a code, off to WeCom; with one, the member it names (not remembered)."""
        code = request.query.get("code")
        if not code:
            raise self._to_wecom(back)
        return await self._identify(request, code, back)

    def _to_wecom(self, back: str) -> web.HTTPFound:
        state = secrets.token_hex(16)
        response = web.HTTPFound(self._authorize_url(state, back))
        response.set_cookie(STATE_COOKIE, state, max_age=600, path="/h5", httponly=True, samesite="Lax",
                            secure=self.secure)
        return response

    def _authorize_url(self, state: str, back: str) -> str:
        settings = self.bot.settings
        query = urlencode({
            "appid": settings.wecom_corp_id, "redirect_uri": f"{settings.public_url}{back}",
            "response_type": "code", "scope": "snsapi_base", "state": state, "agentid": settings.wecom_agent_id,
        })
        return f"{settings.wecom_oauth_base}/connect/oauth2/authorize?{query}#wechat_redirect"

    async def _identify(self, request: web.Request, code: str, back: str) -> str | web.Response:
        """The active member a WeCom OAuth2 code names, or the page that says why not."""
        state = request.cookies.get(STATE_COOKIE)
        if not state or not hmac.compare_digest(state, request.query.get("state", "")):
            return self.error_page("登录已失效", f'<p>请<a href="{html.escape(back)}">重新打开此页面</a>。</p>', 400)
        try:
            user_id = await self.bot.client.user_from_oauth_code(code)
        except WeComError as exc:
            log.info("page login failed: %s", exc)
            user_id = None
        if user_id is not None and not await self.active(user_id):
            user_id = None
        if user_id is None:
            return self.error_page("无法识别身份", "<p>只有企业成员可以使用，请在企业微信中打开此页面。</p>", 403)
        return user_id

    async def _login(self, request: web.Request, code: str, back: str) -> web.Response:
        bot = self.bot
        user_id = await self._identify(request, code, back)
        if isinstance(user_id, web.Response):
            return user_id
        response = web.HTTPFound(back)
        response.set_cookie(SESSION_COOKIE, self.signer.issue(user_id, bot.clock.now()), max_age=SESSION_SECONDS,
                            path="/h5", httponly=True, samesite="Lax", secure=self.secure)
        response.del_cookie(STATE_COOKIE, path="/h5")
        raise response
