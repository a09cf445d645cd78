"""The finance platform API end to end: auth, budgets, expenses, payment, notifications, OpenAPI match."""

from __future__ import annotations

import re
from typing import Any

from tests.bot.finance.finance_support import TOKEN, api, approved_expense, file_expense
from tests.world import World

BUDGET = {"department_id": 3, "period": "2026-Q4", "category": None, "amount": "10000.00", "owner": "wangfang",
          "alert_chat_id": "rd-group", "robot_key": None}


# a small JSON Schema validator for what pydantic emits (enough to hold responses to the document)
def check(schema: dict[str, Any], value: Any, doc: dict[str, Any], where: str = "$") -> list[str]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return check(doc["components"]["schemas"][name], value, doc, where)
    if "anyOf" in schema:
        options = [check(s, value, doc, where) for s in schema["anyOf"]]
        return [] if any(not o for o in options) else [f"{where}: matches no anyOf option: {options}"]
    errors: list[str] = []
    kinds = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}
    kind = schema.get("type")
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = kind is None or isinstance(value, kinds[kind])
    if not ok:
        return [f"{where}: {value!r} is not {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{where}: {value!r} != {schema['const']!r}")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        errors += [f"{where}: missing {k}" for k in schema.get("required", []) if k not in value]
        for key, item in value.items():
            if key in props:
                errors += check(props[key], item, doc, f"{where}.{key}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{where}: unexpected {key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors += check(schema["items"], item, doc, f"{where}[{i}]")
    return errors


def assert_documented(doc: dict[str, Any], method: str, template: str, status: int, body: Any) -> None:
    op = doc["paths"][template][method.lower()]
    assert str(status) in op["responses"], f"{method} {template} answered {status}, not documented"
    schema = op["responses"][str(status)]["content"]["application/json"]["schema"]
    assert check(schema, body, doc) == [], (method, template, status, body)


async def test_api_is_off_without_a_token(bare_world: World) -> None:
    await bare_world.start_bot()
    for path in ("/api/v1/budgets", "/api/v1/openapi.json", "/api/v1/expenses/BX20261128-0001"):
        status, _ = await api(bare_world, "GET", path)
        assert status == 404


async def test_tokens_bodies_budgets_and_the_openapi_document(bare_world: World) -> None:
    world = bare_world
    await world.start_bot(finance_api_token=TOKEN)
    status, doc = await api(world, "GET", "/api/v1/openapi.json", token=None)
    assert status == 200 and doc["openapi"].startswith("3.")
    seen: set[tuple[str, str, int]] = set()

    async def call(method: str, path: str, template: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        status, answer = await api(world, method, path, body, **kw)
        assert_documented(doc, method, template, status, answer)
        seen.add((method, template, status))
        return status, answer

    # tokens: none, wrong, almost right
    for token in (None, "wrong", TOKEN + "x", TOKEN[:-1]):
        status, answer = await call("GET", "/api/v1/budgets", "/api/v1/budgets", token=token)
        assert status == 401 and answer["error"] == "unauthorized"
    status, _ = await call("PUT", "/api/v1/budgets/fe-q4", "/api/v1/budgets/{budget_id}", BUDGET, token="nope")
    assert status == 401

    # upsert: 201 then 200, numbers as JSON numbers too, defaults from the rules
    status, created = await call("PUT", "/api/v1/budgets/fe-q4", "/api/v1/budgets/{budget_id}", BUDGET)
    assert status == 201
    assert (created["amount"], created["used"], created["pending"], created["remaining"], created["percent"]) == (
        "10000.00", "0.00", "0.00", "10000.00", "0.0")
    assert created["thresholds"] == [80, 100] and created["period"] == "2026-Q4"
    status, updated = await call("PUT", "/api/v1/budgets/fe-q4", "/api/v1/budgets/{budget_id}",
                                 {**BUDGET, "amount": 12000.5, "thresholds": [50, 90]})
    assert status == 200 and updated["amount"] == "12000.50" and updated["thresholds"] == [50, 90]
    assert updated["created_at"] == created["created_at"]
    status, same = await call("PUT", "/api/v1/budgets/fe-q4", "/api/v1/budgets/{budget_id}",
                              {**BUDGET, "amount": 12000.5, "thresholds": [50, 90]})
    assert status == 200 and same["amount"] == "12000.50"
    await call("PUT", "/api/v1/budgets/mkt-2026", "/api/v1/budgets/{budget_id}",
               {**BUDGET, "department_id": 4, "period": "2026", "category": "差旅", "owner": "zhaolei"})

    # bad bodies: each names the field and the reason; nothing changes
    bad = [
        ({**BUDGET, "amount": "12.345"}, "amount"),
        ({**BUDGET, "amount": "-5"}, "amount"),
        ({**BUDGET, "amount": "abc"}, "amount"),
        ({**BUDGET, "period": "2026-13"}, "period"),
        ({**BUDGET, "period": "Q4"}, "period"),
        ({**BUDGET, "department_id": "研发部"}, "department_id"),
        ({**BUDGET, "thresholds": [0, 80]}, "thresholds"),
        ({**BUDGET, "colour": "red"}, "colour"),
        ({k: v for k, v in BUDGET.items() if k != "owner"}, "owner"),
    ]
    for body, field in bad:
        status, answer = await call("PUT", "/api/v1/budgets/fe-q4", "/api/v1/budgets/{budget_id}", body)
        assert status == 422, body
        assert answer["error"] == "validation" and any(d["field"] == field and d["reason"] for d in answer["detail"])
    status, answer = await call("PUT", "/api/v1/budgets/fe-q4", "/api/v1/budgets/{budget_id}", raw=b"{not json")
    assert status == 422 and answer["detail"]
    status, answer = await call("PUT", "/api/v1/budgets/bad%20id", "/api/v1/budgets/{budget_id}", BUDGET)
    assert status == 422 and answer["detail"][0]["field"] == "path.budget_id"
    status, kept = await call("GET", "/api/v1/budgets/fe-q4", "/api/v1/budgets/{budget_id}")
    assert status == 200 and kept["amount"] == "12000.50"

    # list with filters; unknown ids
    status, listed = await call("GET", "/api/v1/budgets", "/api/v1/budgets")
    assert status == 200 and [b["id"] for b in listed["items"]] == ["fe-q4", "mkt-2026"] and listed["total"] == 2
    status, listed = await call("GET", "/api/v1/budgets?department_id=4&period=2026", "/api/v1/budgets")
    assert [b["id"] for b in listed["items"]] == ["mkt-2026"]
    status, listed = await call("GET", "/api/v1/budgets?period=2026-11", "/api/v1/budgets")
    assert listed["items"] == []
    status, answer = await call("GET", "/api/v1/budgets?period=soon", "/api/v1/budgets")
    assert status == 422 and answer["detail"][0]["field"] == "query.period"
    status, _ = await call("GET", "/api/v1/budgets/nope", "/api/v1/budgets/{budget_id}")
    assert status == 404
    status, _ = await call("GET", "/api/v1/payables/nope", "/api/v1/payables/{payable_id}")
    assert status == 404
    status, _ = await call("GET", "/api/v1/expenses/BX20990101-0001", "/api/v1/expenses/{number}")
    assert status == 404
    status, _ = await call("POST", "/api/v1/expenses/BX20990101-0001/payment", "/api/v1/expenses/{number}/payment",
                           {"reference": "P-1"})
    assert status == 404
    status, _ = await call("POST", "/api/v1/events/00000000-0000-0000-0000-000000000000/retry",
                           "/api/v1/events/{event_id}/retry")
    assert status == 404

    # notifications: users, a department (with those below it), a tag, a group chat; bad ones refused
    after = len(world.sim.messages)
    note = {"to": {"users": ["zhoumin", "ghost"], "departments": [3], "tags": ["财务审核"], "chat_id": "rd-group"},
            "msgtype": "card", "title": "月末结账", "content": "请在 30 日前提交本月报销", "url": "https://fin.example/close"}
    status, answer = await call("POST", "/api/v1/notifications", "/api/v1/notifications", note)
    assert status == 202 and answer["unknown_users"] == ["ghost"]
    assert answer["recipients"] == 4  # zhoumin, wangfang, liuyang (前端组), wuqiang (财务审核)
    for user in ("zhoumin", "wangfang", "liuyang", "wuqiang"):
        await world.sim.wait_for_message(to=user, contains="月末结账", after=after)
    await world.sim.wait_for_message(chat="rd-group", contains="月末结账", after=after)
    for body in ({**note, "to": {}}, {**note, "url": ""}, {**note, "msgtype": "voice"}):
        status, answer = await call("POST", "/api/v1/notifications", "/api/v1/notifications", body)
        assert status == 422 and answer["detail"]

    # every change is audited; refused requests left nothing behind
    actions = [r["action"] for r in world.rows("SELECT action FROM audit_log WHERE actor = 'finance-platform'")]
    assert actions.count("budget.created") == 2 and actions.count("budget.updated") == 2
    assert actions.count("notification.sent") == 1
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert {(m, p) for m, p, _ in seen} <= documented


async def test_expenses_listing_timeline_and_payment(bare_world: World) -> None:
    world = bare_world
    await world.start_bot(finance_api_token=TOKEN)
    _, doc = await api(world, "GET", "/api/v1/openapi.json")
    number = await approved_expense(world)
    pending = await file_expense(world, "chenjing", "88.50", "餐饮")

    status, one = await api(world, "GET", f"/api/v1/expenses/{number}")
    assert status == 200
    assert_documented(doc, "GET", "/api/v1/expenses/{number}", status, one)
    assert (one["number"], one["status"], one["amount"], one["currency"], one["category"], one["submitter"],
            one["department_id"]) == (number, "approved", "1000.00", "CNY", "交通", "liuyang", 3)
    approvers = [s["approvers"] for s in one["route"]]
    assert ["wangfang"] in approvers and any("wuqiang" in a for a in approvers)
    assert all(s["decision"] == "approved" for s in one["route"] if s.get("status") != "skipped")
    actors = [e["actor"] for e in one["timeline"]]
    assert actors[0] == "liuyang" and "wangfang" in actors and "wuqiang" in actors
    assert all(e["time"].endswith("Z") for e in one["timeline"])

    status, page = await api(world, "GET", "/api/v1/expenses?status=approved")
    assert_documented(doc, "GET", "/api/v1/expenses", status, page)
    assert [e["number"] for e in page["items"]] == [number] and page["total"] == 1
    status, page = await api(world, "GET", "/api/v1/expenses?department_id=2&limit=1")
    assert [e["number"] for e in page["items"]] == [pending] and page["total"] == 1
    status, page = await api(world, "GET", "/api/v1/expenses?limit=1&offset=1")
    assert [e["number"] for e in page["items"]] == [number] and page["total"] == 2
    status, page = await api(world, "GET", "/api/v1/expenses?submitter=liuyang&date_from=2000-01-01&date_to=2000-12-31")
    assert page["items"] == [] and page["total"] == 0
    status, answer = await api(world, "GET", "/api/v1/expenses?status=lost&date_from=yesterday")
    assert status == 422 and {d["field"] for d in answer["detail"]} == {"query.status", "query.date_from"}
    assert_documented(doc, "GET", "/api/v1/expenses", status, answer)

    # payment: only approved ones; the submitter hears of it; paying twice changes nothing
    status, answer = await api(world, "POST", f"/api/v1/expenses/{pending}/payment", {"reference": "P-9"})
    assert status == 409 and answer["error"] == "conflict"
    after = len(world.sim.messages)
    status, paid = await api(world, "POST", f"/api/v1/expenses/{number}/payment", {"reference": "PAY-001"})
    assert status == 200 and paid["status"] == "paid" and paid["timeline"][-1]["action"] == "paid"
    assert_documented(doc, "POST", "/api/v1/expenses/{number}/payment", status, paid)
    told = await world.sim.wait_for_message(to="liuyang", contains="已付款", after=after)
    assert number in told.text() and "PAY-001" in told.text()
    status, again = await api(world, "POST", f"/api/v1/expenses/{number}/payment", {"reference": "PAY-002"})
    assert status == 200 and again["timeline"] == paid["timeline"]
    status, answer = await api(world, "POST", f"/api/v1/expenses/{number}/payment", {"reference": 7})
    assert status == 422 and answer["detail"][0]["field"] == "reference"
    await world.idle()
    assert len(world.sim.find_messages(to="liuyang", contains="已付款", after=after)) == 1
