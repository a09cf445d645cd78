"""Messages the finance platform pushes to people, departments, tags or a group chat."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from chat.context import Context
from storage.org import OrgRepo


@dataclass(frozen=True, slots=True)
class Notification:
    msgtype: Literal["text", "markdown", "card"]
    content: str
    title: str = ""
    url: str = ""
    button: str = "详情"
    users: tuple[str, ...] = ()
    departments: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()
    chat_id: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    recipients: list[str]
    unknown_users: list[str]
    chat_id: str | None


async def notify(ctx: Context, note: Notification) -> Delivery:
    """Resolve departments (with those below them) and tags to active members, then queue the sends."""
    org = ctx.repo(OrgRepo)
    known = await org.active_ids(note.users)
    recipients = [u for u in note.users if u in known]
    for dept_id in note.departments:
        for sub in sorted(await org.descendants(dept_id)):
            recipients.extend(await org.members_of(sub))
    for tag in note.tags:
        recipients.extend(await org.tag_members(tag))
    recipients = list(dict.fromkeys(recipients))
    if recipients:
        if note.msgtype == "text":
            await ctx.send_text(recipients, note.content)
        elif note.msgtype == "markdown":
            await ctx.send_markdown(recipients, note.content)
        else:
            await ctx.send_textcard(recipients, note.title, note.content, note.url, button=note.button)
    if note.chat_id:
        if note.msgtype == "card":
            card = {"title": note.title, "description": note.content, "url": note.url, "btntxt": note.button}
            await ctx.send_group(note.chat_id, "textcard", card)
        else:
            await ctx.send_group(note.chat_id, note.msgtype, {"content": note.content})
    unknown = [u for u in note.users if u not in known]
    await ctx.audit("notification.sent", "notification", {
        "msgtype": note.msgtype, "recipients": len(recipients), "chat_id": note.chat_id, "unknown_users": unknown,
    })
    return Delivery(recipients, unknown, note.chat_id)
