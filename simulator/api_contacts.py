"""Contact reads: user/*, department/*, tag/*."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulator import errors, tokens
from simulator.errors import ApiError
from simulator.server import ANY_TOKEN, ApiRequest, Route, ok

if TYPE_CHECKING:
    from simulator.core import WeComSimulator


def _int(value: Any, errcode: int, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ApiError(errcode, f"invalid {what}") from exc


def _department(sim: WeComSimulator, value: Any) -> int:
    dept_id = _int(value, errors.DEPT_NOT_FOUND, "department id")
    if dept_id not in sim.org.departments:
        raise ApiError(errors.DEPT_NOT_FOUND, "department not found")
    return dept_id


async def user_get(sim: WeComSimulator, req: ApiRequest) -> dict[str, Any]:
    user = sim.org.users.get(req.query.get("userid", ""))
    if user is None:
        raise ApiError(errors.USER_NOT_FOUND, "invalid userid")
    return user.as_json()


def _dept_users(sim: WeComSimulator, req: ApiRequest) -> list[Any]:
    dept_id = _department(sim, req.query.get("department_id"))
    return sim.org.members(dept_id, recursive=req.query.get("fetch_child") == "1")


async def user_simplelist(sim: WeComSimulator, req: ApiRequest) -> dict[str, Any]:
    return ok(userlist=[u.as_simple() for u in _dept_users(sim, req)])


async def user_list(sim: WeComSimulator, req: ApiRequest) -> dict[str, Any]:
    users = []
    for user in _dept_users(sim, req):
        record = user.as_json()
        record.pop("errcode")
        record.pop("errmsg")
        users.append(record)
    return ok(userlist=users)


async def user_list_id(sim: WeComSimulator, req: ApiRequest) -> dict[str, Any]:
    limit = min(_int(req.body.get("limit", 10000), errors.INVALID_PARAMETER, "limit"), 10000)
    start = _int(req.body.get("cursor") or 0, errors.INVALID_PARAMETER, "cursor")
    rows = [{"userid": u.userid, "department": d} for u in sim.org.users.values() for d in u.departments]
    page = rows[start:start + limit]
    next_cursor = str(start + limit) if start + limit < len(rows) else ""
    return ok(next_cursor=next_cursor, dept_user=page)


def _subtree(sim: WeComSimulator, req: ApiRequest) -> list[int]:
    if req.query.get("id"):
        return sim.org.subtree(_department(sim, req.query["id"]))
    return list(sim.org.departments)


async def department_list(sim: WeComSimulator, req: ApiRequest) -> dict[str, Any]:
    return ok(department=[sim.org.departments[d].as_json() for d in _subtree(sim, req)])


async def department_simplelist(sim: WeComSimulator, req: ApiRequest) -> dict[str, Any]:
    depts = [sim.org.departments[d] for d in _subtree(sim, req)]
    return ok(department_id=[{"id": d.id, "parentid": d.parent_id, "order": d.order} for d in depts])


async def department_get(sim: WeComSimulator, req: ApiRequest) -> dict[str, Any]:
    dept_id = _department(sim, req.query.get("id"))
    return ok(department=sim.org.departments[dept_id].as_json())


async def tag_list(sim: WeComSimulator, req: ApiRequest) -> dict[str, Any]:
    return ok(taglist=[{"tagid": t.tagid, "tagname": t.name} for t in sim.org.tags.values()])


async def tag_get(sim: WeComSimulator, req: ApiRequest) -> dict[str, Any]:
    tag = sim.org.tags.get(_int(req.query.get("tagid"), errors.INVALID_TAG_ID, "tagid"))
    if tag is None:
        raise ApiError(errors.INVALID_TAG_ID, "invalid tagid")
    users = [{"userid": u, "name": sim.org.users[u].name} for u in tag.users if u in sim.org.users]
    return ok(tagname=tag.name, userlist=users, partylist=list(tag.parties))


ROUTES = [
    Route("GET", "user/get", ANY_TOKEN, user_get),
    Route("GET", "user/simplelist", ANY_TOKEN, user_simplelist),
    Route("GET", "user/list", ANY_TOKEN, user_list),
    Route("POST", "user/list_id", tokens.CONTACT, user_list_id),
    Route("GET", "department/list", ANY_TOKEN, department_list),
    Route("GET", "department/simplelist", ANY_TOKEN, department_simplelist),
    Route("GET", "department/get", ANY_TOKEN, department_get),
    Route("GET", "tag/list", ANY_TOKEN, tag_list),
    Route("GET", "tag/get", ANY_TOKEN, tag_get),
]
