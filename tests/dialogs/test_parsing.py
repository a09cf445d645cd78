from datetime import date
from decimal import Decimal

import pytest

from dialogs.parsing import (
    Invalid,
    category_match,
    is_cancel,
    is_skip,
    is_yes,
    match_category,
    money,
    parse_amount,
    parse_date,
)
from handlers.rules import DEFAULT_CATEGORIES

CATEGORIES = [(c.name, c.aliases) for c in DEFAULT_CATEGORIES]
SATURDAY = date(2026, 11, 28)


@pytest.mark.parametrize(("text", "expected"), [
    ("58.5", "58.5"),
    ("¥1,234.56", "1234.56"),
    ("￥１２３４．５", "1234.5"),
    ("1234.5元", "1234.5"),
    ("RMB 88", "88"),
    ("1.2万", "12000"),
    ("12元5角", "12.5"),
    ("一千二百三十四元五角", "1234.5"),
    ("壹仟贰佰叁拾肆元伍角陆分", "1234.56"),
    ("伍拾捌元伍角", "58.5"),
    ("两百", "200"),
    ("两千零八十元整", "2080"),
    ("一万零五十", "10050"),
    ("一百〇五元", "105"),
    ("十五元", "15"),
    ("三块五", "3.5"),
    ("三元五", "3.5"),
])
def test_amounts_as_people_write_them(text: str, expected: str) -> None:
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["交通", "三人", "abc", "1.2.3", "元", "", "11/20"])
def test_non_amounts(text: str) -> None:
    assert parse_amount(text) is None


def test_money_bounds_and_places() -> None:
    assert money("58.5", Decimal("1000")) == Decimal("58.50")
    assert str(money("58.5", Decimal("1000"))) == "58.50"
    for bad in ("0", "0.00", "-50", "负50", "58.555", "1000.01", "abc"):
        with pytest.raises(Invalid):
            money(bad, Decimal("1000"))
    with pytest.raises(Invalid, match="大于 0"):
        money("-50", Decimal("1000"))
    with pytest.raises(Invalid) as info:
        money("2000", Decimal("1000"))
    assert "1,000.00" in info.value.zh and "1,000.00" in info.value.en


@pytest.mark.parametrize(("text", "expected"), [
    ("今天", date(2026, 11, 28)),
    ("today", date(2026, 11, 28)),
    ("昨天", date(2026, 11, 27)),
    ("前天", date(2026, 11, 26)),
    ("上周五", date(2026, 11, 20)),
    ("周五", date(2026, 11, 27)),
    ("星期一", date(2026, 11, 23)),
    ("上周日", date(2026, 11, 22)),
    ("last friday", date(2026, 11, 20)),
    ("11月20日", date(2026, 11, 20)),
    ("11月20号", date(2026, 11, 20)),
    ("2026-11-20", date(2026, 11, 20)),
    ("2026/11/20", date(2026, 11, 20)),
    ("11/20", date(2026, 11, 20)),
    ("2026年11月20日", date(2026, 11, 20)),
    ("20261120", date(2026, 11, 20)),
    ("12/30", date(2025, 12, 30)),  # no year and still ahead this year: last December
    ("20号", date(2026, 11, 20)),
])
def test_dates(text: str, expected: date) -> None:
    assert parse_date(text, SATURDAY) == expected


def test_weeks_run_monday_to_sunday() -> None:
    sunday = date(2026, 11, 29)
    assert parse_date("周五", sunday) == date(2026, 11, 27)
    assert parse_date("上周五", sunday) == date(2026, 11, 20)
    monday = date(2026, 11, 30)
    assert parse_date("周五", monday) == date(2026, 11, 27)  # the most recent Friday, never one ahead
    assert parse_date("上周五", monday) == date(2026, 11, 27)
    assert parse_date("上上周五", monday) == date(2026, 11, 20)
    assert parse_date("这周五", monday) == date(2026, 12, 4)  # said so: this week's, ahead (refused by callers)
    assert parse_date("下周一", monday) == date(2026, 12, 7)
    assert parse_date("周一", monday) == monday
    assert parse_date("friday", monday) == date(2026, 11, 27)
    assert parse_date("this friday", monday) == date(2026, 12, 4)


def test_future_and_last_month_days() -> None:
    assert parse_date("明天", SATURDAY) == date(2026, 11, 29)
    assert parse_date("后天", SATURDAY) == date(2026, 11, 30)
    assert parse_date("tomorrow", SATURDAY) == date(2026, 11, 29)
    assert parse_date("上个月20号", SATURDAY) == date(2026, 10, 20)
    assert parse_date("上月31日", date(2026, 12, 5)) is None  # November has 30 days
    assert parse_date("30号", date(2026, 12, 5)) == date(2026, 11, 30)  # not ahead: last month's


@pytest.mark.parametrize("text", ["2月30日", "2026-13-01", "58.5", "交通", "明年", ""])
def test_non_dates(text: str) -> None:
    assert parse_date(text, SATURDAY) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("交通", "交通"), ("Transport", "交通"), ("打车", "交通"), ("打车费", "交通"), ("transprot", "交通"),
    ("酒店", "差旅"), ("meals", "餐饮"), ("办工", "办公"), ("其它", "其他"),
])
def test_categories_with_aliases_and_typos(text: str, expected: str) -> None:
    assert match_category(text, CATEGORIES) == expected


def test_category_match_says_how() -> None:
    assert category_match("交通", CATEGORIES) == ("交通", "exact")
    assert category_match("打车去客户", CATEGORIES) == ("交通", "contains")
    assert category_match("transprot", CATEGORIES) == ("交通", "typo")
    assert match_category("打车去客户", CATEGORIES, loose=False) is None
    assert match_category("完全无关", CATEGORIES) is None


def test_words() -> None:
    assert is_yes("确认") and is_yes("OK") and is_yes("confirm!") and not is_yes("确认一下金额")
    assert is_cancel("取消") and is_cancel("Cancel") and not is_cancel("取消订单的费用")
    assert is_skip("无") and is_skip("skip") and not is_skip("无线网卡")
