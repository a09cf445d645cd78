"""Contact changes from WeCom: keep the org mirror current and take rights away at once.

Events may carry only ids (contact-sync callbacks configured after 2022-08 do), so the prepare
step re-reads the user, department or tag from WeCom; the handler applies what WeCom says now.
"""

from __future__ import annotations

from typing import Any

from chat.context import Context, Gateway
from chat.message import Inbound
from chat.router import Priority, Router
from handlers.roles import admins, is_admin
from storage.org import OrgRepo

router = Router("contacts")

EXITED = 5
USER_CHANGES = ("create_user", "update_user")


def _is_contact_change(msg: Inbound) -> bool:
    return msg.event == "change_contact"


@router.prepare_when(_is_contact_change)
async def reread(msg: Inbound, gateway: Gateway) -> Any:
    change = msg.change_type
    if change in USER_CHANGES:
        return await gateway.fetch_user(msg.field("NewUserID") or msg.field("UserID"))
    if change in ("create_party", "update_party"):
        return await gateway.fetch_department(int(msg.field("Id")))
    if change == "update_tag":
        return await gateway.fetch_tag(int(msg.field("TagId")))
    return None


@router.event("change_contact")
async def apply_change(ctx: Context) -> None:
    if isinstance(ctx.prepared, Exception):
        raise ctx.prepared  # WeCom unreachable: fail the item; the periodic full sync repairs it
    org = ctx.repo(OrgRepo)
    change = ctx.msg.change_type
    if change in USER_CHANGES:
        old_id = ctx.msg.field("UserID")
        before = await org.user(old_id)
        fresh = ctx.prepared
        if fresh is None:
            await _deactivate(ctx, old_id, "not found in WeCom")
            return
        if old_id and fresh.user_id != old_id and before is not None:
            await org.set_status(old_id, EXITED, ctx.now)
        await org.upsert_user(fresh, ctx.now)
        await ctx.audit("org.user_synced", f"user:{fresh.user_id}", {"change": change, "status": fresh.status},
                        actor="wecom")
        if before is not None and before.active and not fresh.active:
            await ctx.emit("user.deactivated", {"user_id": fresh.user_id, "reason": f"status {fresh.status}"})
    elif change == "delete_user":
        await _deactivate(ctx, ctx.msg.field("UserID"), "deleted in WeCom")
    elif change in ("create_party", "update_party"):
        if ctx.prepared is not None:
            await org.upsert_department(ctx.prepared, ctx.now)
    elif change == "delete_party":
        await org.delete_department(int(ctx.msg.field("Id")))
    elif change == "update_tag" and ctx.prepared is not None:
        name, members = ctx.prepared
        await org.replace_tag(int(ctx.msg.field("TagId")), name, members, ctx.now)


async def _deactivate(ctx: Context, user_id: str, reason: str) -> None:
    org = ctx.repo(OrgRepo)
    before = await org.user(user_id)
    if before is None:
        return
    await org.set_status(user_id, EXITED, ctx.now)
    await ctx.audit("org.user_deactivated", f"user:{user_id}", {"reason": reason}, actor="wecom")
    if before.active:
        await ctx.emit("user.deactivated", {"user_id": user_id, "reason": reason})


@router.internal("user_deactivated")
async def deactivated_by_sync(ctx: Context) -> None:
    """The full sync found someone gone; the mirror is already updated, the consequences run here."""
    user_id = ctx.msg.user_id
    await ctx.audit("org.user_deactivated", f"user:{user_id}", {"reason": ctx.msg.field("reason")}, actor="wecom")
    await ctx.emit("user.deactivated", {"user_id": user_id, "reason": ctx.msg.field("reason")})


@router.internal("org_sync_held")
async def sync_held(ctx: Context) -> None:
    """A full sync would have deactivated too many people and changed nothing: ask the admins."""
    hold = await ctx.repo(OrgRepo).sync_hold(int(ctx.msg.field("hold")))
    if hold is None:
        return
    await ctx.audit("org.sync_held", f"org_sync:{hold.id}",
                    {"deactivations": hold.deactivations, "active": hold.active}, actor="bot")
    sample = "、".join(hold.sample) + ("等" if hold.deactivations > len(hold.sample) else "")
    await ctx.send_text(await admins(ctx), (
        f"⚠️ 通讯录同步将停用 {hold.deactivations} 人（现有在职 {hold.active} 人），超过上限，本次同步已暂停，"
        f"没有做任何改动。涉及：{sample}。\n"
        f"如果他们确实已离开，请发送「确认同步 {hold.id}」；如果是应用的可见范围被误改，请在企业微信管理后台恢复，"
        "下次同步会自动恢复正常。"))


@router.command("确认同步", "confirm-sync", priority=Priority.GLOBAL)
async def confirm_sync(ctx: Context) -> None:
    """An admin confirms a held full sync; it runs again at once and applies (audited)."""
    if not is_admin(ctx, await ctx.user()):
        await ctx.reply(ctx.t("只有财务管理员可以确认通讯录同步。", "Only finance admins can confirm an org sync."))
        return
    arg = ctx.args.strip().lstrip("#")
    if not arg.isdigit() or not await ctx.repo(OrgRepo).confirm_sync(int(arg), ctx.msg.user_id, ctx.now):
        await ctx.reply(ctx.t(f"没有等待确认的同步 #{arg}。", f"No org sync #{arg} is waiting for confirmation."))
        return
    await ctx.audit("org.sync_confirmed", f"org_sync:{arg}", {})
    ctx.tx.after_commit(ctx.services.sync_org)
    await ctx.reply(ctx.t(f"已确认同步 #{arg}，正在重新同步通讯录。", f"Confirmed org sync #{arg}; syncing again now."))
