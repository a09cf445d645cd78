"""Who may do what: finance roles come from WeCom tags plus the BOT_* lists; inactive users have none."""

from __future__ import annotations

from chat.context import Context
from storage.org import OrgRepo, OrgUser


async def finance_reviewers(ctx: Context) -> list[str]:
    """Active members of the reviewer tag plus BOT_FINANCE_REVIEWERS, in a stable order."""
    org = ctx.repo(OrgRepo)
    tagged = await org.tag_members(ctx.settings.bot_finance_reviewer_tag)
    listed = await org.active_ids(ctx.settings.bot_finance_reviewers)
    return sorted(set(tagged) | listed)


async def admins(ctx: Context) -> list[str]:
    org = ctx.repo(OrgRepo)
    tagged = await org.tag_members(ctx.settings.bot_admin_tag)
    listed = await org.active_ids(ctx.settings.bot_admins)
    return sorted(set(tagged) | listed)


def _in_role(user: OrgUser | None, tag: str, listed: tuple[str, ...]) -> bool:
    return user is not None and user.active and (tag in user.tags or user.user_id in listed)


def is_finance_reviewer(ctx: Context, user: OrgUser | None) -> bool:
    return _in_role(user, ctx.settings.bot_finance_reviewer_tag, ctx.settings.bot_finance_reviewers)


def is_admin(ctx: Context, user: OrgUser | None) -> bool:
    return _in_role(user, ctx.settings.bot_admin_tag, ctx.settings.bot_admins)


def is_finance(ctx: Context, user: OrgUser | None) -> bool:
    return is_finance_reviewer(ctx, user) or is_admin(ctx, user)
