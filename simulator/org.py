"""The org chart WeCom holds (departments, members, tags) and its JSON renderings for the contact APIs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Department:
    id: int
    name: str
    parent_id: int
    leaders: list[str] = field(default_factory=list)
    order: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "name_en": "", "department_leader": list(self.leaders),
            "parentid": self.parent_id, "order": self.order,
        }


@dataclass
class User:
    userid: str
    name: str
    departments: list[int]
    leader_in: list[int] = field(default_factory=list)
    direct_leader: list[str] = field(default_factory=list)
    status: int = 1
    position: str = ""

    @property
    def main_department(self) -> int:
        return self.departments[0] if self.departments else 1

    @property
    def is_leader_in_dept(self) -> list[int]:
        return [1 if d in self.leader_in else 0 for d in self.departments]

    def as_simple(self) -> dict[str, Any]:
        return {"userid": self.userid, "name": self.name, "department": list(self.departments),
                "open_userid": f"open_{self.userid}"}

    def as_json(self) -> dict[str, Any]:
        return {
            **self.as_simple(),
            "errcode": 0, "errmsg": "ok",
            "order": [0] * len(self.departments),
            "position": self.position,
            "is_leader_in_dept": self.is_leader_in_dept,
            "direct_leader": list(self.direct_leader),
            "main_department": self.main_department,
            "status": self.status,
            "alias": "", "telephone": "", "extattr": {"attrs": []},
        }


@dataclass
class Tag:
    tagid: int
    name: str
    users: list[str] = field(default_factory=list)
    parties: list[int] = field(default_factory=list)


class OrgChart:
    """In-memory org; the simulator's contact APIs and change_contact events read from here."""

    def __init__(self) -> None:
        self.departments: dict[int, Department] = {}
        self.users: dict[str, User] = {}
        self.tags: dict[int, Tag] = {}

    def add_department(self, id: int, name: str, parent_id: int, leaders: Iterable[str] = ()) -> Department:
        dept = Department(id, name, parent_id, list(leaders), order=len(self.departments))
        self.departments[id] = dept
        return dept

    def add_user(self, user: User) -> None:
        self.users[user.userid] = user
        for dept_id in user.leader_in:
            dept = self.departments.get(dept_id)
            if dept is not None and user.userid not in dept.leaders:
                dept.leaders.append(user.userid)

    def remove_user(self, userid: str) -> None:
        self.users.pop(userid)
        for dept in self.departments.values():
            if userid in dept.leaders:
                dept.leaders.remove(userid)
        for tag in self.tags.values():
            if userid in tag.users:
                tag.users.remove(userid)

    def subtree(self, root: int) -> list[int]:
        """root and all departments below it, parents before children."""
        result = [root]
        for dept_id in result:
            result.extend(d.id for d in self.departments.values() if d.parent_id == dept_id and d.id != dept_id)
        return result

    def members(self, dept_id: int, *, recursive: bool = False) -> list[User]:
        depts = set(self.subtree(dept_id)) if recursive else {dept_id}
        return [u for u in self.users.values() if depts.intersection(u.departments)]

    def active(self, userid: str) -> bool:
        user = self.users.get(userid)
        return user is not None and user.status == 1
