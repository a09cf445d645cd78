"""USCC check character, date sanity and amount consistency."""

import random
from datetime import date
from decimal import Decimal

import pytest

from ocr.validate import (
    amounts_consistent,
    capital_matches,
    is_sane_issue_date,
    is_valid_uscc,
    uscc_check_char,
    year_fits_series,
)
from simulator.invoice_art import make_uscc


def test_standard_example_is_valid() -> None:
    assert is_valid_uscc("91350100M000100Y43")  # the worked example of GB 32100-2015


def test_any_single_change_is_caught() -> None:
    code = "91350100M000100Y43"
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    for i in range(18):
        for ch in alphabet:
            if ch != code[i]:
                assert not is_valid_uscc(code[:i] + ch + code[i + 1:]), (i, ch)


def test_generated_codes_are_valid_and_shape_checked() -> None:
    rng = random.Random(7)
    for _ in range(200):
        assert is_valid_uscc(make_uscc(rng))
    assert not is_valid_uscc("91350100M000100Y4")
    assert not is_valid_uscc("91350100M000100O43")  # O is not in the alphabet
    assert not is_valid_uscc("")


def test_date_sanity() -> None:
    today = date(2025, 6, 1)
    assert is_sane_issue_date(date(2024, 2, 29), today)
    assert not is_sane_issue_date(date(1999, 12, 31), today)
    assert not is_sane_issue_date(date(2025, 6, 5), today)


def test_amount_checks() -> None:
    assert amounts_consistent(Decimal("100.00"), Decimal("13.00"), Decimal("113.00"))
    assert not amounts_consistent(Decimal("100.00"), Decimal("13.00"), Decimal("113.01"))
    assert not amounts_consistent(None, Decimal("13.00"), Decimal("113.00"))
    assert capital_matches("壹佰壹拾叁圆整", Decimal("113.00"))
    assert not capital_matches("壹佰壹拾叁圆整", Decimal("113.10"))


def test_the_issue_year_fits_the_year_in_the_code_or_number() -> None:
    day = date(2024, 3, 2)
    assert year_fits_series(day, None, "24312820064243311839")
    assert not year_fits_series(day, None, "21312820064243311839")
    assert year_fits_series(day, "3200249140", "10515551") and year_fits_series(day, "034002337304", "32216506")
    assert year_fits_series(day, "3200239140", "10515551")  # a form printed the year before is used up
    assert not year_fits_series(day, "3200259140", "10515551") and not year_fits_series(day, "034002537304", None)
    assert year_fits_series(day, None, None) and year_fits_series(day, "32002", None)


@pytest.mark.parametrize(("position", "char"), [(0, "0"), (1, "A"), (4, "B"), (12, "7")])
def test_a_code_that_passes_its_check_character_but_breaks_its_structure_is_not_valid(position: int, char: str) -> None:
    """An authority no register has, a kind that is no digit, a letter in the division code, or an
    organisation code (GB 11714) whose own check character does not fit: not a code GB 32100 builds."""
    first17 = "91350100M000100Y4"
    changed = first17[:position] + char + first17[position + 1:]
    code = changed + str(uscc_check_char(changed))
    assert uscc_check_char(code[:17]) == code[17] and not is_valid_uscc(code)
