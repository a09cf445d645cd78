"""Hostile input to /api/v1 is refused with 422 and changes nothing; never a 500."""

from __future__ import annotations

from tests.bot.finance.finance_support import TOKEN, api
from tests.world import World

HUGE = str(2**63)
BUDGET = {"department_id": 3, "period": "2026-11", "amount": "100.00", "owner": "wangfang"}


async def test_oversized_integers_and_trailing_newlines_are_refused(bare_world: World) -> None:
    world = bare_world
    await world.start_bot(finance_api_token=TOKEN)
    queries = [
        ("/api/v1/expenses?offset=" + HUGE, "query.offset"),
        ("/api/v1/expenses?department_id=" + HUGE, "query.department_id"),
        ("/api/v1/expenses?department_id=" + "9" * 40, "query.department_id"),
        ("/api/v1/budgets?offset=" + HUGE, "query.offset"),
        ("/api/v1/budgets?department_id=" + HUGE, "query.department_id"),
        ("/api/v1/events?after=" + HUGE, "query.after"),
        ("/api/v1/expenses?offset=-1", "query.offset"),
    ]
    for path, field in queries:
        status, answer = await api(world, "GET", path)
        assert status == 422, (path, status, answer)
        assert [d["field"] for d in answer["detail"]] == [field]
    bodies = [
        ("PUT", "/api/v1/budgets/big", {**BUDGET, "department_id": 2**63}, "department_id"),
        ("PUT", "/api/v1/budgets/big", {**BUDGET, "thresholds": [80, 2**64]}, "thresholds"),
        ("POST", "/api/v1/notifications", {"to": {"departments": [2**63]}, "content": "hi"}, "to.departments.0"),
    ]
    for method, path, body, field in bodies:
        status, answer = await api(world, method, path, body)
        assert status == 422, (path, status, answer)
        assert field in [d["field"] for d in answer["detail"]], answer
    for method, path, body in (("PUT", "/api/v1/budgets/abc%0A", BUDGET), ("GET", "/api/v1/budgets/abc%0A", None),
                               ("GET", "/api/v1/expenses/BX20261125-0001%0A", None),
                               ("PUT", "/api/v1/payables/p1%0A", None)):
        status, answer = await api(world, method, path, body)
        assert status == 422 and answer["detail"][0]["field"].startswith("path."), (path, status, answer)
    assert world.value("SELECT COUNT(*) FROM budgets") == 0
    assert world.value("SELECT COUNT(*) FROM outbound") == 0
