"""Second verification: sensitive actions are held until the person confirms them on an H5 page.

The rules file names the actions (`[verification]`: approving a large expense, re-sending failed
messages, marking a payable paid). Whatever the channel (card, text, page), such an action is not
applied: a held row gets a single-use token, and the person gets a link to the confirm page
(`/h5/verify/<token>`), which asks for a fresh WeCom login. Only then is the action applied, by the
function its capability registered with `@verified("<action>")`, which checks everything again;
the audit log records the confirmation and the action as verified. An expired or spent token
changes nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from chat.context import Context
from handlers.rules import VerifiedAction
from storage.verifications import Verification, VerificationRepo

Apply = Callable[[Context, Verification], Awaitable[None]]
_APPLY: dict[str, Apply] = {}
PATH = "/h5/verify/"
WHAT_ZH = {"approve": "同意报销", "resend_failed": "重发失败消息", "payable_paid": "确认应付款已付"}


def verified(action: VerifiedAction) -> Callable[[Apply], Apply]:
    """Register how a held action is applied once confirmed (it checks everything again)."""

    def register(fn: Apply) -> Apply:
        _APPLY[action] = fn
        return fn

    return register


def required(ctx: Context, action: VerifiedAction, amount: Decimal | None = None) -> bool:
    """Whether the rules hold this action for a second verification (never when confirming one)."""
    if ctx.msg.data.get("verification"):
        return False
    for rule in ctx.rules.verification.actions:
        if rule.action != action:
            continue
        if rule.amount_at_least is None or (amount is not None and amount >= rule.amount_at_least):
            return True
    return False


def is_verified(ctx: Context) -> bool:
    """True inside the context that applies a confirmed action (its audit rows say so)."""
    return bool(ctx.msg.data.get("verification"))


async def hold(ctx: Context, action: VerifiedAction, subject: str, params: dict[str, Any], what: str) -> None:
    """Keep the action for later and answer with the confirm link; nothing else changes now."""
    token = secrets.token_urlsafe(24)
    minutes = ctx.rules.verification.link_minutes
    held = await ctx.repo(VerificationRepo).hold(token, ctx.msg.user_id, action, subject, {**params, "what": what},
                                                 ctx.now, ctx.now + timedelta(minutes=minutes))
    await ctx.audit("verification.held", f"verification:{held}", {"action": action, "subject": subject, **params})
    url = f"{ctx.settings.public_url}{PATH}{token}"
    await ctx.reply(ctx.t(
        f"🔐 {what}需要二次验证，尚未生效。请在 {minutes} 分钟内打开下面的链接，重新登录企业微信后确认：\n{url}",
        f"🔐 {what} needs a second verification and has not been applied. Within {minutes} minutes, open this "
        f"link, sign in to WeCom again and confirm:\n{url}",
    ))


async def confirm(ctx: Context, held: Verification) -> bool:
    """Spend the token and apply the action in this transaction; False when the token no longer works."""
    if held.user_id != ctx.msg.user_id or not await ctx.repo(VerificationRepo).use(held.id, ctx.now):
        return False
    ctx.msg = ctx.msg.model_copy(update={"data": {**ctx.msg.data, "verification": held.id}})
    await ctx.audit("verification.confirmed", f"verification:{held.id}",
                    {"action": held.action, "subject": held.subject})
    await _APPLY[held.action](ctx, held)
    return True
