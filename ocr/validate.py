"""Validity checks used to choose between OCR readings, not only to reject them."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from common.cn_money import cn_capital_to_decimal, decimal_to_cn_capital

# GB 32100-2015: the 31 characters allowed in a unified social credit code (no I, O, S, V, Z).
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
USCC_INDEX = {c: i for i, c in enumerate(USCC_ALPHABET)}
# What each of the first 17 positions may hold: the registration authority (1-9, A, N, Y), the
# kind of body (a digit), the administrative division (six digits), then the organisation code
# (GB 11714: eight characters and its own check, a digit or X).
USCC_POSITIONS = ("123456789ANY", "123456789", *["0123456789"] * 6, *[USCC_ALPHABET] * 8, "0123456789X")
ORG_BODY = slice(8, 16)  # the organisation code's eight characters; its check character follows
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
EARLIEST_DATE = date(2000, 1, 1)
CAPITAL_CHARS = "零壹贰叁参肆伍陆柒捌玖拾佰仟万亿圆元角分整"  # what a capital-letter amount is written with


def org_char_value(ch: str) -> int:
    """A character's value in the GB 11714 check: digits as such, letters A=10 ... Z=35."""
    return int(ch) if ch.isdigit() else ord(ch) - ord("A") + 10


def org_check_char(weighted_sum: int) -> str:
    """GB 11714's check character for the weighted sum of an organisation code's eight characters
    (the decoder keeps that sum as it goes)."""
    return "0123456789X0"[11 - weighted_sum % 11]


def org_code_check_char(body: str) -> str:
    """GB 11714's check character of an organisation code's eight characters."""
    return org_check_char(sum(org_char_value(c) * w for c, w in zip(body, ORG_WEIGHTS, strict=True)))


def uscc_check_char(first17: str) -> str | None:
    """The check character for the first 17 characters, or None if one is outside the alphabet."""
    if len(first17) != 17:
        return None
    total = 0
    for ch, weight in zip(first17, USCC_WEIGHTS, strict=True):
        idx = USCC_INDEX.get(ch)
        if idx is None:
            return None
        total += idx * weight
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(s: str) -> bool:
    """True when s is an 18-character unified social credit code as GB 32100 builds one: each
    position holds what it may, and both check characters (its own and its organisation code's) fit.

    A misread glyph passes one check by chance once in 31 (or 11) tries, both once in 341."""
    if not isinstance(s, str) or len(s) != 18 or uscc_check_char(s[:17]) != s[17]:
        return False
    if not all(ch in allowed for ch, allowed in zip(s, USCC_POSITIONS, strict=False)):
        return False
    return org_code_check_char(s[ORG_BODY]) == s[ORG_BODY.stop]


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
