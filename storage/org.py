"""The org chart mirrored from WeCom (the source of truth): departments, users, leaders, tags."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from storage.codec import dumps, loads, to_db_time
from storage.db import Row, Tx

ACTIVE = 1


@dataclass(frozen=True, slots=True)
class Department:
    id: int
    name: str
    parent_id: int
    leaders: tuple[str, ...] = ()
    order: int = 0


@dataclass(frozen=True, slots=True)
class OrgUser:
    user_id: str
    name: str
    status: int
    departments: tuple[int, ...] = ()
    leader_in: tuple[int, ...] = ()
    main_department: int | None = None
    direct_leaders: tuple[str, ...] = ()
    position: str = ""
    tags: tuple[str, ...] = field(default=())

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    @property
    def department_id(self) -> int | None:
        return self.main_department or (self.departments[0] if self.departments else None)


@dataclass(frozen=True, slots=True)
class SyncHold:
    """A full sync that waits for an admin: it would deactivate this many of the active users."""

    id: int
    deactivations: int
    active: int
    sample: tuple[str, ...]
    status: str


def _department(row: Row) -> Department:
    return Department(row["id"], row["name"], row["parent_id"], tuple(loads(row["leaders"])), row["sort_order"])


class OrgRepo:
    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    # departments -------------------------------------------------------------------------------
    async def upsert_department(self, dept: Department, now: datetime) -> None:
        await self.tx.execute(
            "INSERT INTO departments (id, name, parent_id, sort_order, leaders, synced_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET name = excluded.name, parent_id = excluded.parent_id,"
            " sort_order = excluded.sort_order, leaders = excluded.leaders, synced_at = excluded.synced_at",
            (dept.id, dept.name, dept.parent_id, dept.order, dumps(list(dept.leaders)), to_db_time(now)),
        )

    async def delete_department(self, dept_id: int) -> None:
        await self.tx.execute("DELETE FROM departments WHERE id = ?", (dept_id,))
        await self.tx.execute("DELETE FROM user_departments WHERE department_id = ?", (dept_id,))

    async def mirrored(self) -> bool:
        """The org chart has been read from WeCom at least once."""
        return await self.tx.fetchone("SELECT 1 FROM departments LIMIT 1") is not None

    async def department(self, dept_id: int) -> Department | None:
        row = await self.tx.fetchone("SELECT * FROM departments WHERE id = ?", (dept_id,))
        return None if row is None else _department(row)

    async def departments(self) -> list[Department]:
        return [_department(r) for r in await self.tx.fetchall("SELECT * FROM departments ORDER BY id")]

    async def department_by_name(self, name: str) -> Department | None:
        row = await self.tx.fetchone("SELECT * FROM departments WHERE name = ? ORDER BY id LIMIT 1", (name,))
        return None if row is None else _department(row)

    async def department_ids(self) -> set[int]:
        return {r[0] for r in await self.tx.fetchall("SELECT id FROM departments")}

    async def ancestors(self, dept_id: int) -> list[Department]:
        """The department's parents, nearest first (the department itself excluded)."""
        chain: list[Department] = []
        seen = {dept_id}
        current = await self.department(dept_id)
        while current is not None and current.parent_id and current.parent_id not in seen:
            seen.add(current.parent_id)
            current = await self.department(current.parent_id)
            if current is not None:
                chain.append(current)
        return chain

    async def descendants(self, dept_id: int) -> set[int]:
        """The department and every department below it."""
        rows = await self.tx.fetchall(
            "WITH RECURSIVE tree(id) AS (SELECT CAST(? AS BIGINT) UNION SELECT d.id FROM departments d JOIN tree t"
            " ON d.parent_id = t.id) SELECT id FROM tree",
            (dept_id,),
        )
        return {r[0] for r in rows}

    async def leaders_of(self, dept_id: int) -> list[str]:
        """Active leaders: the department's `department_leader` list plus members flagged as leader."""
        dept = await self.department(dept_id)
        listed = list(dept.leaders) if dept else []
        rows = await self.tx.fetchall(
            "SELECT ud.user_id FROM user_departments ud JOIN users u ON u.user_id = ud.user_id"
            " WHERE ud.department_id = ? AND ud.is_leader = 1 AND u.status = ? ORDER BY ud.user_id",
            (dept_id, ACTIVE),
        )
        flagged = [r[0] for r in rows]
        active = await self.active_ids(listed)
        return [u for u in listed if u in active] + [u for u in flagged if u not in listed]

    # users -------------------------------------------------------------------------------------
    async def upsert_user(self, user: OrgUser, now: datetime) -> None:
        await self.tx.execute(
            "INSERT INTO users (user_id, name, status, main_department, direct_leaders, position, synced_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET name = excluded.name,"
            " status = excluded.status, main_department = excluded.main_department,"
            " direct_leaders = excluded.direct_leaders, position = excluded.position, synced_at = excluded.synced_at",
            (
                user.user_id,
                user.name,
                user.status,
                user.main_department,
                dumps(list(user.direct_leaders)),
                user.position,
                to_db_time(now),
            ),
        )
        await self.tx.execute("DELETE FROM user_departments WHERE user_id = ?", (user.user_id,))
        await self.tx.executemany(
            "INSERT INTO user_departments (user_id, department_id, is_leader) VALUES (?, ?, ?)",
            [(user.user_id, d, int(d in user.leader_in)) for d in dict.fromkeys(user.departments)],
        )

    async def set_status(self, user_id: str, status: int, now: datetime) -> bool:
        cur = await self.tx.execute(
            "UPDATE users SET status = ?, synced_at = ? WHERE user_id = ?", (status, to_db_time(now), user_id)
        )
        return cur.rowcount == 1

    async def user(self, user_id: str) -> OrgUser | None:
        row = await self.tx.fetchone("SELECT * FROM users WHERE user_id = ?", (user_id,))
        if row is None:
            return None
        links = await self.tx.fetchall(
            "SELECT department_id, is_leader FROM user_departments WHERE user_id = ? ORDER BY department_id",
            (user_id,),
        )
        tags = await self.tx.fetchall(
            "SELECT t.name FROM tag_users tu JOIN tags t ON t.id = tu.tag_id WHERE tu.user_id = ? ORDER BY t.id",
            (user_id,),
        )
        return OrgUser(
            user_id=row["user_id"],
            name=row["name"],
            status=row["status"],
            departments=tuple(r[0] for r in links),
            leader_in=tuple(r[0] for r in links if r[1]),
            main_department=row["main_department"],
            direct_leaders=tuple(loads(row["direct_leaders"])),
            position=row["position"],
            tags=tuple(r[0] for r in tags),
        )

    async def names(self, user_ids: Iterable[str]) -> dict[str, str]:
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = await self.tx.fetchall(f"SELECT user_id, name FROM users WHERE user_id IN ({marks})", ids)
        return {r[0]: r[1] for r in rows}

    async def active_ids(self, user_ids: Iterable[str]) -> set[str]:
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return set()
        marks = ",".join("?" * len(ids))
        rows = await self.tx.fetchall(
            f"SELECT user_id FROM users WHERE status = ? AND user_id IN ({marks})", [ACTIVE, *ids]
        )
        return {r[0] for r in rows}

    async def user_ids(self, *, active_only: bool = False) -> set[str]:
        sql = "SELECT user_id FROM users" + (" WHERE status = 1" if active_only else "")
        return {r[0] for r in await self.tx.fetchall(sql)}

    async def members_of(self, dept_id: int) -> list[str]:
        rows = await self.tx.fetchall(
            "SELECT ud.user_id FROM user_departments ud JOIN users u ON u.user_id = ud.user_id"
            " WHERE ud.department_id = ? AND u.status = ? ORDER BY ud.user_id",
            (dept_id, ACTIVE),
        )
        return [r[0] for r in rows]

    # tags --------------------------------------------------------------------------------------
    async def replace_tag(self, tag_id: int, name: str, user_ids: Iterable[str], now: datetime) -> None:
        await self.tx.execute(
            "INSERT INTO tags (id, name, synced_at) VALUES (?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET name = excluded.name, synced_at = excluded.synced_at",
            (tag_id, name, to_db_time(now)),
        )
        await self.tx.execute("DELETE FROM tag_users WHERE tag_id = ?", (tag_id,))
        await self.tx.executemany(
            "INSERT INTO tag_users (tag_id, user_id) VALUES (?, ?)", [(tag_id, u) for u in dict.fromkeys(user_ids)]
        )

    async def delete_tags_except(self, keep: Iterable[int]) -> None:
        ids = list(keep)
        where = f" WHERE tag_id NOT IN ({','.join('?' * len(ids))})" if ids else ""
        await self.tx.execute(f"DELETE FROM tag_users{where}", ids)
        await self.tx.execute(f"DELETE FROM tags{where.replace('tag_id', 'id')}", ids)

    async def tag_members(self, tag_name: str) -> list[str]:
        rows = await self.tx.fetchall(
            "SELECT tu.user_id FROM tag_users tu JOIN tags t ON t.id = tu.tag_id JOIN users u"
            " ON u.user_id = tu.user_id WHERE t.name = ? AND u.status = ? ORDER BY tu.user_id",
            (tag_name, ACTIVE),
        )
        return [r[0] for r in rows]

    # ordering a full sync with contact events -----------------------------------------------------
    async def written_since(self, when: datetime) -> tuple[set[str], set[int], set[int]]:
        """Users, departments and tags written after `when` (by contact events while a sync read)."""
        at = (to_db_time(when),)
        users = {r[0] for r in await self.tx.fetchall("SELECT user_id FROM users WHERE synced_at > ?", at)}
        departments = {r[0] for r in await self.tx.fetchall("SELECT id FROM departments WHERE synced_at > ?", at)}
        tags = {r[0] for r in await self.tx.fetchall("SELECT id FROM tags WHERE synced_at > ?", at)}
        return users, departments, tags

    # accidental-delete prevention ----------------------------------------------------------------
    async def hold_sync(self, deactivations: int, active: int, sample: list[str], now: datetime) -> int:
        """The question for the admins; a later sync that is still held updates the open one."""
        row = await self.tx.fetchone("SELECT id FROM org_sync_holds WHERE status = 'waiting' ORDER BY id DESC LIMIT 1")
        if row is not None:
            await self.tx.execute(
                "UPDATE org_sync_holds SET deactivations = ?, active = ?, sample = ? WHERE id = ?",
                (deactivations, active, dumps(sample), row[0]),
            )
            return int(row[0])
        return await self.tx.insert(
            "INSERT INTO org_sync_holds (created_at, deactivations, active, sample) VALUES (?, ?, ?, ?)",
            (to_db_time(now), deactivations, active, dumps(sample)),
        )

    async def sync_hold(self, hold_id: int) -> SyncHold | None:
        row = await self.tx.fetchone("SELECT * FROM org_sync_holds WHERE id = ?", (hold_id,))
        if row is None:
            return None
        return SyncHold(row["id"], row["deactivations"], row["active"], tuple(loads(row["sample"])), row["status"])

    async def confirm_sync(self, hold_id: int, by: str, now: datetime) -> bool:
        cur = await self.tx.execute(
            "UPDATE org_sync_holds SET status = 'confirmed', decided_by = ?, decided_at = ?"
            " WHERE id = ? AND status = 'waiting'",
            (by, to_db_time(now), hold_id),
        )
        return cur.rowcount == 1

    async def confirmed_sync(self, deactivations: int, since: datetime) -> int | None:
        """A recent admin confirmation covering this many deactivations, if there is one."""
        row = await self.tx.fetchone(
            "SELECT id FROM org_sync_holds WHERE status = 'confirmed' AND deactivations >= ? AND decided_at > ?"
            " ORDER BY id DESC LIMIT 1",
            (deactivations, to_db_time(since)),
        )
        return None if row is None else int(row[0])

    async def close_sync_holds(self, applied: int | None) -> None:
        """A sync went through: the confirmation it used is spent, older questions are moot."""
        await self.tx.execute(
            "UPDATE org_sync_holds SET status = CASE WHEN id = ? THEN 'applied' ELSE 'superseded' END"
            " WHERE status IN ('waiting', 'confirmed')",
            (applied,),
        )
