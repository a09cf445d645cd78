"""Admin commands: see and re-queue outbound messages that finally failed."""

from __future__ import annotations

from chat.context import Context
from chat.router import Priority, Router
from handlers.roles import is_admin
from storage.outbound import OutboundRepo

router = Router("admin")


@router.command("失败消息", "failed", priority=Priority.GLOBAL)
async def failed_messages(ctx: Context) -> None:
    if not is_admin(ctx, await ctx.user()):
        await ctx.reply(ctx.t("只有财务管理员可以查看发送失败的消息。", "Only finance admins can see failed messages."))
        return
    arg = ctx.args.strip()
    repo = ctx.repo(OutboundRepo)
    if arg.isdigit():
        ok = await repo.requeue(int(arg), ctx.now)
        await ctx.audit("outbound.requeued", f"outbound:{arg}", {"ok": ok})
        await ctx.reply(ctx.t(f"已重新排队 #{arg}。" if ok else f"#{arg} 不是失败的消息。",
                              f"Re-queued #{arg}." if ok else f"#{arg} is not a failed message."))
        return
    rows = await repo.failed(limit=20)
    if not rows:
        await ctx.reply(ctx.t("没有发送失败的消息。", "No failed messages."))
        return
    lines = [ctx.t("发送失败的消息（发送「失败消息 编号」重试）：", "Failed messages (say \"failed N\" to retry):")]
    for row in rows:
        lines.append(f"#{row.id} {row.channel} → {row.order_key} · {ctx.fmt_time(row.created_at)} · {row.last_error}")
    await ctx.reply("\n".join(lines))
