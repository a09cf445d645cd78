"""`GET /api/v1/stats`: the known set's figures as JSON, as the OpenAPI document describes them."""

from __future__ import annotations

from tests.bot.finance.finance_support import api
from tests.bot.finance.test_api import assert_documented
from tests.handlers.approval_helpers import db_rows
from tests.handlers.insight_helpers import at, paid_world, play_known_set
from tests.world import World

__all__ = ["paid_world"]
HOUR = 3600


async def test_stats_endpoint_matches_the_data_and_the_document(paid_world: World) -> None:
    w = paid_world
    known = await play_known_set(w)
    w.clock.set(at(15))
    _, doc = await api(w, "GET", "/api/v1/openapi.json")
    status, body = await api(w, "GET", "/api/v1/stats?period=2026-11")
    assert status == 200, body
    assert_documented(doc, "GET", "/api/v1/stats", status, body)
    assert (body["period"], body["start"], body["end"], body["department_id"]) == (
        "2026-11", "2026-10-31T16:00:00Z", "2026-11-30T16:00:00Z", None)
    assert body["expenses"] == {
        "filed": {"count": 3, "amount": "2300.00"}, "approved": {"count": 1, "amount": "1200.00"},
        "rejected": {"count": 1, "amount": "800.00"}, "withdrawn": {"count": 0, "amount": "0.00"},
        "paid": {"count": 1, "amount": "1200.00"}}
    approval = body["approval"]

    def rounded(d: dict[str, int | None]) -> tuple[int | None, ...]:  # the clock flows: seconds to the hour
        return (d["count"], *(None if v is None else round(v / HOUR * 2) / 2 for v in
                              (d["average_seconds"], d["median_seconds"], d["p90_seconds"])))

    assert rounded(approval["per_step"]) == (3, 2, 2, 3)
    assert rounded(approval["end_to_end"]) == (2, 3, 3, 4)
    assert [(s["name"], *rounded(s)) for s in approval["by_step"]] == [("财务审核", 1, 3, 3, 3),
                                                                        ("部门负责人", 2, 1.5, 1.5, 2)]
    assert [(a["user_id"], a["pending"], rounded(a["decided"])) for a in approval["approvers"]] == [
        ("zhaolei", 1, (0, None, None, None)), ("wangfang", 0, (2, 1.5, 1.5, 2)), ("wuqiang", 0, (1, 3, 3, 3))]
    assert approval["approvers"][0]["oldest_pending_since"].startswith("2026-11-25T02:00")
    assert [(i["number"], i["approver"], i["step_name"], i["amount"]) for i in approval["waiting"]] == [
        (known.c, "zhaolei", "部门负责人", "300.00")]
    total = db_rows(w, "SELECT COUNT(*) FROM outbound")[0][0]
    assert body["delivery"] == {"total": total, "sent": total, "retried": 0, "parked": 0, "dropped": 0,
                                "pending": 0, "rate_percent": "100.0"}
    assert body["ocr"] == {"reads": 0, "unreadable": 0, "filed": 0, "filed_as_read": 0, "corrected": {},
                           "success_rate_percent": None}
    assert body["dialogs"] == {"started": 4, "outcomes": {"completed": 3, "cancelled": 1},
                               "completion_rate_percent": "75.0"}
    assert body["feedback"] == {"notes": 1, "ratings": 1, "scores": {"3": 1}, "average_rating": "3.00"}

    status, team = await api(w, "GET", "/api/v1/stats?period=2026-Q4&department_id=3")
    assert status == 200 and team["delivery"] is None and team["expenses"]["filed"]["count"] == 2
    assert_documented(doc, "GET", "/api/v1/stats", status, team)
    status, other = await api(w, "GET", "/api/v1/stats?period=2026-10")
    assert status == 200 and other["expenses"]["filed"]["count"] == 0 and other["delivery"]["total"] == 0
    for query, code in (("period=2026-13", 422), ("period=last", 422), ("department_id=0", 422),
                        ("department_id=99", 404)):
        status, answer = await api(w, "GET", f"/api/v1/stats?{query}")
        assert status == code, (query, answer)
        assert_documented(doc, "GET", "/api/v1/stats", status, answer)
    status, answer = await api(w, "GET", "/api/v1/stats", token="wrong")
    assert status == 401
