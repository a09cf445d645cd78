"""Chinese capital-letter money conversion, both directions."""

import random
from decimal import Decimal

import pytest

from common.cn_money import cn_capital_to_decimal, decimal_to_cn_capital


@pytest.mark.parametrize(("value", "text"), [
    ("36771.51", "叁万陆仟柒佰柒拾壹圆伍角壹分"),
    ("116380.74", "壹拾壹万陆仟叁佰捌拾圆柒角肆分"),
    ("52301.40", "伍万贰仟叁佰零壹圆肆角"),
    ("18271.00", "壹万捌仟贰佰柒拾壹圆整"),
    ("2091.07", "贰仟零玖拾壹圆零柒分"),
    ("30380.55", "叁万零叁佰捌拾圆伍角伍分"),
    ("105106.75", "壹拾万伍仟壹佰零陆圆柒角伍分"),
    ("100000.05", "壹拾万圆零伍分"),
    ("100010001.10", "壹亿零壹万零壹圆壹角"),
    ("0.07", "柒分"),
    ("0.00", "零圆整"),
])
def test_known_amounts(value: str, text: str) -> None:
    assert decimal_to_cn_capital(Decimal(value)) == text
    assert cn_capital_to_decimal(text) == Decimal(value)


def test_round_trip_random_amounts() -> None:
    rng = random.Random(20240601)
    for _ in range(2000):
        value = Decimal(rng.randint(0, 10**11)) / 100
        assert cn_capital_to_decimal(decimal_to_cn_capital(value)) == value


@pytest.mark.parametrize("text", ["ⓧ壹仟圆整", "壹仟元整", "⊗ 壹 仟 圆 整", "人民币壹仟圆"])
def test_parse_tolerates_marks_and_variants(text: str) -> None:
    assert cn_capital_to_decimal(text) == Decimal("1000")


@pytest.mark.parametrize("text", ["", "合计", "壹贰圆", "伍角角", "壹仟圆伍"])
def test_parse_rejects_non_amounts(text: str) -> None:
    assert cn_capital_to_decimal(text) is None


def test_negative_rejected() -> None:
    with pytest.raises(ValueError):
        decimal_to_cn_capital(Decimal("-1"))
