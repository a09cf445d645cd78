"""The classifier on its own: intents, values found anywhere, and what it refuses to guess."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from handlers.rules import DEFAULT_CATEGORIES
from nlu import Understanding, understand
from nlu.lexicon import lexicon
from nlu.segment import words

CATEGORIES = tuple((c.name, tuple(c.aliases)) for c in DEFAULT_CATEGORIES)
WEDNESDAY = date(2026, 11, 25)


def read(text: str) -> Understanding:
    return understand(text, WEDNESDAY, CATEGORIES)


@pytest.mark.parametrize(("text", "intent"), [
    ("我要报销差旅费", "expense"),
    ("帮我看看预算", "budget"),
    ("我的报销到哪了", "status"),
    ("有什么要我审批的", "todo"),
    ("通过 BX20261101-0001", "approve"),
    ("好的，同意", "approve"),
    ("不同意，发票抬头不对", "reject"),
    ("撤回", "withdraw"),
    ("重新提交", "resubmit"),
    ("怎么报销", "help"),
    ("谢谢", "smalltalk"),
    ("hi", "smalltalk"),
    ("what's my bugdet", "budget"),  # an English typo is forgiven
    ("报消 打车 28 今天", "expense"),  # so is a common Chinese one
    ("BX20261101-0001", "status"),
])
def test_intents(text: str, intent: str) -> None:
    assert read(text).intent == intent


def test_values_anywhere_in_the_sentence() -> None:
    found = read("报个销，上周五请客户吃饭 860")
    assert (found.amount.value, found.day, found.category, found.description) == (
        Decimal(860), date(2026, 11, 20), "招待", "请客户吃饭")
    found = read("昨天打车花了35块5")
    assert (found.amount.value, found.day, found.category) == (Decimal("35.5"), date(2026, 11, 24), "交通")
    found = read("上周三去杭州出差住了两晚酒店1200")  # 两晚 counts nights, 上周三 stays a date
    assert (found.amount.value, found.day, found.category) == (Decimal(1200), date(2026, 11, 18), "差旅")
    found = read("报销两万五 设备采购")
    assert (found.amount.value, found.amount.words, found.description) == (Decimal(25000), True, "设备采购")


def test_it_does_not_guess() -> None:
    assert read("打车35 地铁4").amount is None and read("打车35 地铁4").amounts == (Decimal(35), Decimal(4))
    assert read("帮我报一下昨天的滴滴 45").amount.value == 45  # the 一 of 一下 is no amount
    assert read("一起吃饭").intent is None and read("一起吃饭").closest == "expense"
    assert read("三个人吃饭").amount is None
    assert read("上周去杭州出差 1200").vague_day == "上周" and read("上周去杭州出差 1200").day is None
    assert read("明天打车 30").day == date(2026, 11, 26)  # said, so the caller can refuse it with the reason
    assert read("报销 -50").amount.value == -50


def test_explicit_category_word_is_not_description() -> None:
    found = read("报销 58.5 交通 2026-11-20 打车去客户")
    assert (found.category, found.description, found.day) == ("交通", "打车去客户", date(2026, 11, 20))


def test_the_lexicon_is_consistent_and_segmented() -> None:
    lex = lexicon()
    assert set(lex.intents) >= {"expense", "budget", "status", "mine", "todo", "approve", "reject", "withdraw",
                                "resubmit", "help", "smalltalk"}
    assert "待审批" in words("有待审批的吗") or "有待审批" in words("有待审批的吗")
    assert words("不同意") == ["不同意"]


@pytest.mark.parametrize(("text", "amount"), [
    ("打车35，地铁4，共39", "39"),  # the total wins
    ("午餐 2份 每份25 共50", "50"),
    ("打车 ¥35 小费5", "35"),  # a unit beats a bare number
    ("打车 35 元 5 角", "35.5"),
    ("报销 打车 3公里 15", "15"),
    ("下午14:30打车 35", "35"),
    ("滴滴 31块 昨天晚上", "31"),  # 晚上 is the evening, not a count of nights
    ("报销 11.20 打车 35", "35"),  # 11.20 may be a date: it yields to a real amount
    ("打车花了三十多", None),  # rough amounts are asked, never rounded
    ("花了一百多打车", None),
    ("两三百的打车费", None),
    ("大概50左右的打车", None),
    ("人均35 一共4人 吃饭", None),  # a price per person is not the total
    ("打车 35x2", None),
    ("35元5人吃饭", None),
])
def test_amounts_in_sentences_are_right_or_absent(text: str, amount: str | None) -> None:
    found = read(text).amount
    assert (found.value if found else None) == (Decimal(amount) if amount else None)


def test_a_date_like_number_alone_is_read_but_confirmed() -> None:
    found = read("报销 11.20 打车").amount
    assert found is not None and found.value == Decimal("11.20") and not found.sure


@pytest.mark.parametrize(("text", "intent"), [
    ("我的报销通过了没", "status"),  # a decision word asked as a question
    ("报销批下来没", "status"),
    ("不予通过", "reject"),  # a decision word negated
    ("怎么撤回报销", "help"),  # asking how is not doing
])
def test_decision_words_in_context(text: str, intent: str) -> None:
    assert read(text).intent == intent
