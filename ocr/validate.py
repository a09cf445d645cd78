"""Validity checks used to choose between OCR readings, not only to reject them."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from common.cn_money import cn_capital_to_decimal, decimal_to_cn_capital

# GB 32100-2015: the 31 characters allowed in a unified social credit code (no I, O, S, V, Z).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_INDEX = {c: i for i, c in enumerate(USCC_ALPHABET)}
EARLIEST_DATE = date(2000, 1, 1)
CAPITAL_CHARS = "零壹贰叁参肆伍陆柒捌玖拾佰仟万亿圆元角分整"  # what a capital-letter amount is written with


def uscc_check_char(first17: str) -> str | None:
    """The check character for the first 17 characters, or None if one is outside the alphabet."""
    if len(first17) != 17:
        return None
    total = 0
    for ch, weight in zip(first17, _USCC_WEIGHTS, strict=True):
        idx = _USCC_INDEX.get(ch)
        if idx is None:
            return None
        total += idx * weight
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(s: str) -> bool:
    """True when s is an 18-character unified social credit code with a correct check character."""
    if not isinstance(s, str) or len(s) != 18:
        return False
    return uscc_check_char(s[:17]) == s[17]


def is_sane_issue_date(d: date, today: date | None = None) -> bool:
    """Invoices are not from the far past, nor (when the caller knows today) more than a day ahead.

    OCR itself never reads the calendar: the bot refuses future dates with its own clock.
    """
    return d >= EARLIEST_DATE and (today is None or d <= today + timedelta(days=1))


def year_fits_series(issued: date, code: str | None, number: str | None) -> bool:
    """The issue date's year fits the year an invoice's own numbers carry.

    A 全电发票's 20-digit number starts with the two last digits of the year it was issued; a paper
    invoice's code (10 digits: 5th-6th, 12 digits: 6th-7th) holds the year its form was printed,
    which no issue date can precede. A date or number that breaks this had a glyph misread.
    """
    if number and len(number) == 20 and number.isdigit():
        return issued.year % 100 == int(number[:2])
    year = {10: slice(4, 6), 12: slice(5, 7)}.get(len(code or ""))
    if code and year and code.isdigit():
        return issued.year % 100 >= int(code[year])
    return True


def amounts_consistent(amount: Decimal | None, tax: Decimal | None, total: Decimal | None) -> bool:
    """amount + tax == total to the fen."""
    if amount is None or tax is None or total is None:
        return False
    return amount + tax == total


def capital_matches(total_cn: str | None, total: Decimal | None) -> bool:
    """The capital-letter total spells exactly the numeric total.

    Exactly, not just by value: a lenient parse of capitals with a glyph lost (陆佰拾柒 for
    陆佰壹拾柒) still yields an amount, a wrong one that must not confirm a misread total.
    """
    if not total_cn or total is None:
        return False
    try:
        expected = decimal_to_cn_capital(total)
    except ValueError:  # beyond what capitals are written for
        return False
    seen = "".join(ch for ch in total_cn if ch in CAPITAL_CHARS)
    return len(seen) == len(expected) and cn_capital_to_decimal(seen) == total
