"""The second verification's confirm page (`/h5/verify/<token>`): a held action is applied only here.

Opening the link always goes through a new WeCom OAuth2 login, whatever session the browser holds;
the page then carries that login (who, when, for which token) sealed in its form, and the POST
applies the action only while the login is at most `fresh_login_minutes` old and the token is
unspent and unexpired (`handlers.verification.confirm` spends it in the same transaction). Anyone
else's link, a spent or an expired one changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import web

from bot.h5.shell import PagePlugin, esc, notices, page_shell
from bot.parts import BOT, Bot
from handlers import verification
from storage.verifications import Verification, VerificationRepo

TOKEN = r"{token:[A-Za-z0-9_\-]{16,64}}"


def _page(title: str, body: str, status: int = 200) -> web.Response:
    return page_shell(title, "二次验证", f"<section>{body}</section>", status)


def _gone(held: Verification | None, viewer: str, now: datetime) -> web.Response | None:
    """Why this link cannot be confirmed by this person now; None when it can."""
    if held is None or held.user_id != viewer:
        return _page("链接无效", "<p>这个确认链接无效，或不是发给你的。未做任何更改。</p>", 404)
    if held.used_at is not None:
        return _page("链接已使用", "<p>这个确认链接已经用过了，不能再次使用。未做任何更改。</p>", 410)
    if now >= held.expires_at:
        return _page("链接已过期", "<p>这个确认链接已过期，未做任何更改。请在聊天中重新操作以获取新的链接。</p>", 410)
    return None


class VerifyPage(PagePlugin):
    """Plugin: the confirm page of held actions."""

    def routes(self, app: web.Application) -> None:
        app.router.add_get(f"{verification.PATH}{TOKEN}", self.show)
        app.router.add_post(f"{verification.PATH}{TOKEN}", self.confirm)

    async def show(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        viewer = await self.sessions.fresh_login(request, f"{verification.PATH}{token}")
        if isinstance(viewer, web.Response):
            return viewer
        bot = request.app[BOT]
        now = bot.clock.now()
        async with bot.db.read() as tx:
            held = await tx.repo(VerificationRepo).by_token(token)
        gone = _gone(held, viewer, now)
        if gone is not None or held is None:
            return gone or _page("链接无效", "", 404)
        login = self.sessions.signer.seal(f"{viewer}|{token}|{int(now.timestamp())}")
        what = verification.WHAT_ZH.get(held.action, held.action)
        minutes = bot.services.rules.verification.fresh_login_minutes
        return _page(f"确认{what}", (
            f"<p>你刚刚重新登录了企业微信。确认后才会执行：</p><p><b>{esc(held.params.get('what', held.subject))}</b></p>"
            f'<p class="note">请在 {minutes} 分钟内确认；链接只能使用一次。</p>'
            f'<form method="post" action="{verification.PATH}{esc(token)}">'
            f'<input type="hidden" name="login" value="{esc(login)}">'
            f'<div class="actions"><button type="submit">确认执行</button></div></form>'))

    async def confirm(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        bot = request.app[BOT]
        form = await request.post()
        login = form.get("login")
        viewer = self._fresh(bot, login if isinstance(login, str) else "", token)
        if viewer is None or not await self.sessions.active(viewer):
            return _page("请重新登录", f'<p>确认需要 {bot.services.rules.verification.fresh_login_minutes} 分钟内的新登录。'
                                    f'请<a href="{verification.PATH}{esc(token)}">重新打开链接</a>。未做任何更改。</p>', 403)
        async with bot.db.transaction() as tx:
            held = await tx.repo(VerificationRepo).by_token(token)
            gone = _gone(held, viewer, bot.clock.now())
            if gone is not None or held is None:
                return gone or _page("链接无效", "", 404)
            ctx = bot.context(tx, "h5_verify", user_id=viewer, source="h5")
            ctx.page = []
            if not await verification.confirm(ctx, held):
                return _page("链接已失效", "<p>这个确认链接已经用过或已过期。未做任何更改。</p>", 410)
        return _page("已确认", notices(ctx.page) or "<p>已执行。</p>")

    def _fresh(self, bot: Bot, login: str, token: str) -> str | None:
        """The member of a login sealed on this page for this token, while it is fresh enough."""
        text = self.sessions.signer.unseal(login)
        if text is None:
            return None
        viewer, sealed_token, at = text.rsplit("|", 2)
        when = datetime.fromtimestamp(int(at), UTC)
        fresh = timedelta(minutes=bot.services.rules.verification.fresh_login_minutes)
        return viewer if sealed_token == token and bot.clock.now() - when <= fresh else None
