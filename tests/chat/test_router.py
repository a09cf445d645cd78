"""Routing rules: command words with Chinese and English aliases, and the quiet-hours window."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from chat.context import quiet_end
from chat.router import split_command

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("报销", ""),
        ("报销 58.5 交通", "58.5 交通"),
        ("报销58.5", "58.5"),
        ("  Expense 12 taxi ", "12 taxi"),
        ("报销单", None),
        ("helpful", None),
        ("我的报销", None),
    ],
)
def test_split_command(text: str, rest: str | None) -> None:
    assert split_command(text, ["报销", "expense"]) == rest


def test_longest_alias_wins() -> None:
    assert split_command("我的报销", ["我的报销", "我的"]) == ""


@pytest.mark.parametrize(
    ("local", "expected_end"),
    [
        (datetime(2026, 11, 27, 23, 30), datetime(2026, 11, 28, 8, 0)),
        (datetime(2026, 11, 28, 7, 59), datetime(2026, 11, 28, 8, 0)),
        (datetime(2026, 11, 28, 8, 0), None),
        (datetime(2026, 11, 28, 15, 0), None),
        (datetime(2026, 11, 28, 22, 0), datetime(2026, 11, 29, 8, 0)),
    ],
)
def test_quiet_hours_wrap_midnight(local: datetime, expected_end: datetime | None) -> None:
    when = local.replace(tzinfo=SHANGHAI).astimezone(UTC)
    end = quiet_end(when, (time(22, 0), time(8, 0)), SHANGHAI)
    assert end == (None if expected_end is None else expected_end.replace(tzinfo=SHANGHAI))


def test_daytime_quiet_window_and_disabled() -> None:
    noon = datetime(2026, 11, 28, 12, 30, tzinfo=SHANGHAI)
    assert quiet_end(noon, (time(12, 0), time(13, 0)), SHANGHAI) == datetime(2026, 11, 28, 13, 0, tzinfo=SHANGHAI)
    assert quiet_end(noon, None, SHANGHAI) is None
