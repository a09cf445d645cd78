"""Mirrors the org chart from WeCom's contact API (WeCom is the single source of truth).

A full sync runs at start and periodically; contact events update single users or departments in
between (handlers/contacts.py). Users who disappear or stop being active lose every right at once:
the sync marks them and queues an internal `user_deactivated` item so their pending approvals move.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.wecom.client import WeComClient
from storage.db import Database
from storage.inbox import InboxItem, InboxRepo, internal_item
from storage.org import ACTIVE, Department, OrgRepo, OrgUser

log = logging.getLogger(__name__)

EXITED = 5


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
    ) -> None:
        self.db = db
        self.client = client
        self.now = now
        self.on_stored = on_stored

    async def full_sync(self) -> dict[str, int]:
        """Read everything first (slow, outside the transaction), then apply it in one transaction."""
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
            previously_active = await org.user_ids(active_only=True)
            known = await org.user_ids()
            for dept in departments:
                await org.upsert_department(dept, now)
            for stale in await org.department_ids() - {d.id for d in departments}:
                await org.delete_department(stale)
            for user in users.values():
                await org.upsert_user(user, now)
            for gone in known - set(users):
                await org.set_status(gone, EXITED, now)
            for tag_id, name, members in tags:
                await org.replace_tag(tag_id, name, members)
            await org.delete_tags_except([t[0] for t in tags])
            still_active = {u.user_id for u in users.values() if u.active}
            for user_id in sorted(previously_active - still_active):
                stored = await tx.repo(InboxRepo).add(deactivation_item(user_id, now, "sync"))
                if stored is not None:
                    queued.append(stored)
        for item in queued:
            self.on_stored(item)
        counts = {"departments": len(departments), "users": len(users), "tags": len(tags), "deactivated": len(queued)}
        log.info("org sync: %s", counts)
        return counts
