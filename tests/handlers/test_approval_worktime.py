"""Working-time arithmetic behind approval reminders."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from handlers.approval.worktime import add_working_hours
from handlers.rules import ApprovalRules

ZONE = ZoneInfo("Asia/Shanghai")
WEEK = (1, 2, 3, 4, 5)


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=ZONE)


@pytest.mark.parametrize(("start", "hours", "due"), [
    (local(2026, 11, 30, 10, 0), 24, local(2026, 12, 2, 16, 0)),   # Monday → Wednesday
    (local(2026, 12, 4, 17, 0), 2, local(2026, 12, 7, 10, 0)),     # Friday evening → Monday
    (local(2026, 12, 5, 11, 0), 1, local(2026, 12, 7, 10, 0)),     # Saturday counts from Monday 9:00
    (local(2026, 12, 1, 7, 30), 9, local(2026, 12, 1, 18, 0)),     # before hours: from 9:00
    (local(2026, 12, 1, 20, 0), 0.5, local(2026, 12, 2, 9, 30)),   # after hours: next morning
])
def test_add_working_hours(start: datetime, hours: float, due: datetime) -> None:
    got = add_working_hours(start.astimezone(UTC), hours, ZONE, WEEK, (9, 18))
    assert got == due
    assert got.tzinfo == UTC


def test_round_the_clock_window() -> None:
    start = local(2026, 12, 5, 23, 0)
    assert add_working_hours(start, 2, ZONE, (1, 2, 3, 4, 5, 6, 7), (0, 24)) == local(2026, 12, 6, 1, 0)


def test_rules_refuse_nonsense_times() -> None:
    for bad in ({"working_hours": (18, 9)}, {"working_days": (0, 8)}, {"remind_after_hours": 50}):
        with pytest.raises(ValueError):
            ApprovalRules.model_validate(bad)
