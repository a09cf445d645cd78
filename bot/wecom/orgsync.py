"""Mirrors the org chart from WeCom's contact API (WeCom is the single source of truth).

A full sync runs at start and periodically; contact events update single users or departments in
between (handlers/contacts.py). Users who disappear or stop being active lose every right at once:
the sync marks them and queues an internal `user_deactivated` item so their pending approvals move.

A sync reads WeCom for seconds before it writes; a contact event handled meanwhile is newer than
what the sync read, so rows written after the sync started reading are left as the event wrote them.
A sync that would deactivate more people than `BOT_ORG_SYNC_MAX_DEACTIVATIONS` (or more than
`BOT_ORG_SYNC_MAX_DEACTIVATION_PERCENT` of those active) changes nothing: a cut visibility scope
looks exactly like a mass departure. Admins are asked in chat (`确认同步 N`); once one confirms,
the sync runs again and applies.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.wecom.client import WeComClient
from storage.db import Database
from storage.inbox import InboxItem, InboxRepo, internal_item
from storage.org import ACTIVE, Department, OrgRepo, OrgUser

log = logging.getLogger(__name__)

EXITED = 5
CONFIRMATION_VALID = timedelta(days=1)


@dataclass(frozen=True)
class DeactivationLimit:
    """The most a sync may deactivate without an admin's confirmation."""

    count: int = 10
    percent: int = 20

    def exceeded_by(self, deactivations: int, active: int) -> bool:
        return deactivations > self.count or deactivations * 100 > self.percent * active


def _ints(values: Any) -> tuple[int, ...]:
    if isinstance(values, str):
        values = [v for v in values.split(",") if v.strip()]
    return tuple(int(v) for v in values or ())


def user_from_api(data: dict[str, Any]) -> OrgUser:
    departments = _ints(data.get("department"))
    flags = _ints(data.get("is_leader_in_dept"))
    leader_in = tuple(d for d, flag in zip(departments, flags, strict=False) if flag)
    direct = data.get("direct_leader") or ()
    if isinstance(direct, str):
        direct = [d for d in direct.split(",") if d]
    return OrgUser(
        user_id=str(data["userid"]),
        name=str(data.get("name") or data["userid"]),
        status=int(data.get("status", ACTIVE)),
        departments=departments,
        leader_in=leader_in,
        main_department=int(data["main_department"]) if data.get("main_department") else None,
        direct_leaders=tuple(str(d) for d in direct),
        position=str(data.get("position") or ""),
    )


def department_from_api(data: dict[str, Any]) -> Department:
    return Department(
        id=int(data["id"]),
        name=str(data.get("name") or data["id"]),
        parent_id=int(data.get("parentid") or 0),
        leaders=tuple(str(u) for u in data.get("department_leader") or ()),
        order=int(data.get("order") or 0),
    )


def deactivation_item(user_id: str, now: datetime, reason: str) -> InboxItem:
    return internal_item("user_deactivated", f"{user_id}:{now.isoformat()}", now, user_id=user_id,
                         reason=reason)


class OrgSync:
    def __init__(
        self,
        db: Database,
        client: WeComClient,
        now: Callable[[], datetime],
        on_stored: Callable[[InboxItem], None],
        limit: DeactivationLimit | None = None,
    ) -> None:
        self.db = db
        self.client = client
        self.now = now
        self.on_stored = on_stored
        self.limit = limit or DeactivationLimit()

    async def full_sync(self) -> dict[str, int]:
        """Read everything first (slow, outside the transaction), then apply it in one transaction."""
        started = self.now()
        departments = [department_from_api(d) for d in await self.client.list_departments()]
        users: dict[str, OrgUser] = {}
        for dept in departments:
            for raw in await self.client.list_users(dept.id):
                user = user_from_api(raw)
                users.setdefault(user.user_id, user)
        tags = []
        for tag in await self.client.list_tags():
            detail = await self.client.get_tag(int(tag["tagid"]))
            members = [str(u["userid"]) for u in detail.get("userlist", [])]
            tags.append((int(tag["tagid"]), str(tag.get("tagname") or detail.get("tagname", "")), members))
        now = self.now()
        queued: list[InboxItem] = []
        async with self.db.transaction() as tx:
            org = tx.repo(OrgRepo)
            newer_users, newer_departments, newer_tags = await org.written_since(started)
            previously_active = await org.user_ids(active_only=True)
            still_active = {u.user_id for u in users.values() if u.active}
            leaving = sorted(previously_active - still_active - newer_users)
            confirmed = held = None
            if self.limit.exceeded_by(len(leaving), len(previously_active)):
                confirmed = await org.confirmed_sync(len(leaving), now - CONFIRMATION_VALID)
                if confirmed is None:
                    names = await org.names(leaving[:10])
                    held = await org.hold_sync(len(leaving), len(previously_active),
                                               [names.get(u, u) for u in leaving[:10]], now)
                    alert = await tx.repo(InboxRepo).add(internal_item("org_sync_held", str(held), now, hold=held))
                    queued.extend([alert] if alert else [])
                    log.warning("org sync held: it would deactivate %d of %d active users (hold #%d)",
                                len(leaving), len(previously_active), held)
            if held is None:
                known = await org.user_ids()
                for dept in departments:
                    if dept.id not in newer_departments:
                        await org.upsert_department(dept, now)
                for stale in await org.department_ids() - {d.id for d in departments} - newer_departments:
                    await org.delete_department(stale)
                for user in users.values():
                    if user.user_id not in newer_users:
                        await org.upsert_user(user, now)
                for gone in known - set(users) - newer_users:
                    await org.set_status(gone, EXITED, now)
                for tag_id, name, members in tags:
                    if tag_id not in newer_tags:
                        await org.replace_tag(tag_id, name, members, now)
                await org.delete_tags_except([t[0] for t in tags] + list(newer_tags))
                await org.close_sync_holds(confirmed)
                for user_id in leaving:
                    stored = await tx.repo(InboxRepo).add(deactivation_item(user_id, now, "sync"))
                    if stored is not None:
                        queued.append(stored)
        for item in queued:
            self.on_stored(item)
        counts = {"departments": len(departments), "users": len(users), "tags": len(tags),
                  "deactivated": 0 if held else len(queued), "held": held or 0}
        log.info("org sync: %s", counts)
        return counts
