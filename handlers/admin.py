"""Admin commands: see and re-queue outbound messages that finally failed, and replay inbox items
whose handling failed (after the cause is fixed). Every re-queue and replay is audited. Also the
alerts the bot raises about its own WeCom connection."""

from __future__ import annotations

from datetime import datetime

from chat.context import Context
from chat.router import Priority, Router
from handlers import verification
from handlers.roles import admins, is_admin
from storage.inbox import InboxRepo
from storage.outbound import OutboundRepo
from storage.verifications import Verification

router = Router("admin")


async def _admin_only(ctx: Context, what_zh: str, what_en: str) -> bool:
    if is_admin(ctx, await ctx.user()):
        return True
    await ctx.reply(ctx.t(f"只有财务管理员可以{what_zh}。", f"Only finance admins can {what_en}."))
    return False


@router.command("失败消息", "failed", priority=Priority.GLOBAL)
async def failed_messages(ctx: Context) -> None:
    if not await _admin_only(ctx, "查看发送失败的消息", "see failed messages"):
        return
    arg = ctx.args.strip()
    repo = ctx.repo(OutboundRepo)
    if arg.isdigit():
        if verification.required(ctx, "resend_failed"):
            await verification.hold(ctx, "resend_failed", f"outbound:{arg}", {"id": int(arg)},
                                    ctx.t(f"重发失败消息 #{arg}", f"Re-sending failed message #{arg}"))
            return
        await _requeue(ctx, int(arg))
        return
    rows = await repo.failed(limit=20)
    if not rows:
        await ctx.reply(ctx.t("没有发送失败的消息。", "No failed messages."))
        return
    lines = [ctx.t("发送失败的消息（发送「失败消息 编号」重试）：", "Failed messages (say \"failed N\" to retry):")]
    for row in rows:
        held = ctx.t("⏸ 暂停，凭据恢复后自动重发 · ", "⏸ held until the secret works · ") if row.status == "held" else ""
        lines.append(f"#{row.id} {row.channel} → {row.order_key} · {ctx.fmt_time(row.created_at)} · {held}"
                     f"{row.last_error}")
    await ctx.reply("\n".join(lines))


async def _requeue(ctx: Context, row_id: int) -> None:
    ok = await ctx.repo(OutboundRepo).requeue(row_id, ctx.now)
    await ctx.audit("outbound.requeued", f"outbound:{row_id}", {"ok": ok, "verified": verification.is_verified(ctx)})
    await ctx.reply(ctx.t(f"已重新排队 #{row_id}。" if ok else f"#{row_id} 不是失败的消息。",
                          f"Re-queued #{row_id}." if ok else f"#{row_id} is not a failed message."))


@verification.verified("resend_failed")
async def requeue_verified(ctx: Context, held: Verification) -> None:
    """Confirmed on the page: still an admin, then the same re-queue."""
    if await _admin_only(ctx, "重发发送失败的消息", "re-send failed messages"):
        await _requeue(ctx, int(held.params["id"]))


@router.command("处理失败", "replay", priority=Priority.GLOBAL)
async def failed_inbox(ctx: Context) -> None:
    """Received messages and events whose handling failed: list them, or handle one again."""
    if not await _admin_only(ctx, "重新处理失败的消息", "replay failed messages"):
        return
    arg = ctx.args.strip().lstrip("#")
    repo = ctx.repo(InboxRepo)
    if arg.isdigit():
        item = await repo.requeue(int(arg))
        await ctx.audit("inbox.replayed", f"inbox:{arg}",
                        {"ok": item is not None, "error": item.error if item else None})
        if item is None:
            await ctx.reply(ctx.t(f"#{arg} 不是处理失败的消息。", f"#{arg} is not a failed item."))
            return
        ctx.tx.after_commit(lambda: ctx.services.replay_inbox(item))
        await ctx.reply(ctx.t(f"已重新处理 #{arg}。", f"Replaying #{arg}."))
        return
    items = await repo.failed(limit=20)
    if not items:
        await ctx.reply(ctx.t("没有处理失败的消息。", "No failed items."))
        return
    lines = [ctx.t("处理失败的消息（修正原因后发送「处理失败 编号」重新处理）：",
                   "Items whose handling failed (fix the cause, then say \"replay N\"):")]
    for item in items:
        kind = item.event or item.msg_type
        lines.append(f"#{item.id} {item.source}/{kind} · {item.user_id} · {ctx.fmt_time(item.received_at)}"
                     f" · {(item.error or '')[:120]}")
    await ctx.reply("\n".join(lines))


@router.internal("wecom_bad_secret")
async def bad_secret(ctx: Context) -> None:
    """gettoken said 40001: messages are held meanwhile. Admins read this once the secret works again
    (it is held like every other message), so it says what happened and what was done about it."""
    since = datetime.fromisoformat(ctx.msg.field("since"))
    await ctx.audit("wecom.bad_secret", "wecom:secret", {"since": since.isoformat()}, actor="bot")
    await ctx.send_text(await admins(ctx), (
        f"⚠️ 企业微信从 {ctx.fmt_time(since)} 起拒绝了应用的 Secret（gettoken 40001），期间的消息已暂停发送，"
        "Secret 恢复后自动重发。请核对 WECOM_SECRET；发送「失败消息」查看仍在暂停的消息。"))
