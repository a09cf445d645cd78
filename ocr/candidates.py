"""Choose between several OCR readings of a field with the invoice's own redundancy.

A tax id carries a check character, amount + tax must equal the total, and the total is also
written in capitals; a reading that satisfies these beats a more confident one that does not.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from difflib import SequenceMatcher
from itertools import product

from common.cn_money import cn_capital_to_decimal, decimal_to_cn_capital
from ocr.validate import USCC_ALPHABET, capital_matches, is_valid_uscc

# Letters a USCC never contains, mapped to the character OCR most likely mistook for them.
_USCC_FIX = str.maketrans({"O": "0", "I": "1", "Z": "2", "S": "5", "V": "Y"})
# Characters OCR confuses with each other in Latin/digit text.
_CONFUSABLE: dict[str, str] = {
    "0": "DQUC8G", "1": "7TLJ", "2": "7", "3": "8JB", "4": "A", "5": "6", "6": "G58B", "7": "1T2",
    "8": "B360", "9": "QG", "A": "4", "B": "83RE", "C": "G0", "D": "0", "E": "FB", "F": "EP",
    "G": "6C0", "H": "NMW", "J": "31T", "K": "XR", "L": "1T", "M": "NHW", "N": "MH", "P": "RF",
    "Q": "09", "R": "PKB", "T": "71J", "U": "0W", "W": "MU", "X": "KY", "Y": "XT",
}
_USCC_RUN = re.compile(r"[0-9A-Z]{18}")
_SAME_CODE = 2 / 3  # share of positions two readings of one code share at least (misread glyphs aside)


@dataclass(frozen=True)
class Reading:
    """One reading of a field with the confidence of the OCR line it came from."""

    value: str
    score: float


def as_uscc_chars(text: str) -> str:
    """Upper case, letters a USCC never contains read as what OCR most likely mistook for them."""
    return text.upper().translate(_USCC_FIX)


def uscc_readings(text: str) -> list[str]:
    """18-character code candidates in a line of OCR text, after fixing letters a USCC cannot hold.

    Only unbroken letter/digit runs count (spaces aside): the 密码区 cipher lines mix digits with
    symbols and must not yield codes.
    """
    s = as_uscc_chars(re.sub(r"\s+", "", text))
    out: list[str] = []
    for m in re.finditer(r"[0-9A-Z]{18,}", s):
        run = m.group(0)
        if len(run) == 18:
            out.append(run)
        elif not run.isdigit():  # long digit runs are bank accounts or phone numbers
            windows = [run[i:i + 18] for i in range(len(run) - 17)]
            valid = [w for w in windows if is_valid_uscc(w)]
            out.extend(valid or [windows[-1]])  # glued to label debris: the code is at the end
    return out


def repair_uscc(code: str) -> list[tuple[str, int]]:
    """Valid codes one OCR confusion away from an invalid reading, with the confusion's rank (0 = likeliest)."""
    found: list[tuple[str, int]] = []
    for i, ch in enumerate(code):
        for rank, alt in enumerate(_CONFUSABLE.get(ch, "")):
            if alt in USCC_ALPHABET:
                cand = code[:i] + alt + code[i + 1:]
                if is_valid_uscc(cand):
                    found.append((cand, rank))
    return found


def _agreement(a: str, b: str) -> float:
    return sum(x == y for x, y in zip(a, b, strict=False)) / 18


def choose_uscc(readings: Iterable[Reading]) -> Reading | None:
    """The best tax id: valid readings voted by summed score; else the repair most readings support.

    A check character catches almost every single misread, so an invalid reading is certainly wrong,
    while a one-confusion repair that agrees with the other readings is usually right (but stays
    below the confidence threshold so a person confirms it).
    """
    readings = list(readings)
    if not readings:
        return None
    votes: dict[str, float] = {}
    for r in readings:
        if is_valid_uscc(r.value):
            votes[r.value] = votes.get(r.value, 0.0) + r.score
    if votes:
        best = max(votes, key=lambda v: votes[v])
        agree = sum(1 for r in readings if r.value == best)
        # Readings of another code speak against it, valid or not: a code valid by chance (one in 31)
        # that other passes read otherwise is a close call, not a fact.
        against = sum(r.score for r in readings if not is_valid_uscc(r.value) and _agreement(best, r.value) < _SAME_CODE)
        share = votes[best] / (sum(votes.values()) + against) if votes[best] else 0.0  # readings of no weight at all
        top = max(r.score for r in readings if r.value == best)
        return Reading(best, min(0.99, top * (0.97 + 0.02 * agree)) * share)
    repaired: dict[str, float] = {}
    for r in readings:
        for cand, rank in repair_uscc(r.value):
            support = sum(o.score * _agreement(cand, o.value) for o in readings)
            repaired[cand] = max(repaired.get(cand, 0.0), support - 0.05 * rank)
    if repaired:
        ranked = sorted(repaired.items(), key=lambda kv: -kv[1])
        margin = ranked[0][1] - (ranked[1][1] if len(ranked) > 1 else 0.0)
        return Reading(ranked[0][0], 0.7 if margin > 0.3 else 0.5)
    best_raw = max(readings, key=lambda r: r.score)
    return Reading(best_raw.value, 0.3 * best_raw.score)


def vote(readings: Iterable[Reading]) -> Reading | None:
    """Majority by summed score. Readings that agree are wrong together only if each is wrong,
    so the winner's confidence is 1 - prod(1 - score) over its readings, shared with dissent."""
    readings = list(readings)
    if not readings:
        return None
    totals: dict[str, float] = {}
    for r in readings:
        totals[r.value] = totals.get(r.value, 0.0) + r.score
    best = max(totals, key=lambda v: totals[v])
    conf = min(0.99, 1.0 - math.prod(1.0 - min(r.score, 0.99) for r in readings if r.value == best))
    if len(totals) > 1:
        conf *= totals[best] / sum(totals.values())
    return Reading(best, conf)


@dataclass(frozen=True)
class MoneyChoice:
    """Amount, tax and total chosen together, with confidences."""

    amount: Decimal | None
    tax: Decimal | None
    total: Decimal | None
    confidence: dict[str, float]


@dataclass(frozen=True)
class MoneyReading:
    """A money value and its confidence; above 1.0 marks a source stronger than OCR (the QR code)."""

    value: Decimal
    score: float


_OPTIONAL = (None,)
# A rival set of money readings scoring within this of the best (less than one check's worth) leaves
# the values they disagree on at _DOUBTED, below the threshold at which the bot asks.
_CLOSE_CALL = 1.0
_DOUBTED = 0.6


def capital_similarity(value: Decimal, capital_text: str | None) -> float:
    """How well an OCR'd capital-letter total spells value: 1.0 exact, lower for capitals read in part,
    0.0 when they spell a different amount in full."""
    if not capital_text:
        return 0.0
    if capital_matches(capital_text, value):
        return 1.0
    spelled = cn_capital_to_decimal(capital_text)
    if spelled is not None and capital_matches(capital_text, spelled):
        return 0.0  # the capitals spell another amount in full: they contradict value, however alike
    try:
        expected = decimal_to_cn_capital(value).replace("圆", "")
    except ValueError:  # beyond what capitals are written for
        return 0.0
    seen = capital_text.replace("圆", "").replace("元", "")
    return SequenceMatcher(None, expected, seen).ratio()


def choose_money(amounts: list[MoneyReading], taxes: list[MoneyReading], totals: list[MoneyReading],
                 capital_text: str | None) -> MoneyChoice:
    """Pick amount/tax/total that add up and agree with the capital-letter total, deriving one if missing.

    Every combination of readings is scored by its OCR confidence plus a large bonus for each check
    it passes, so a consistent set of slightly less confident readings wins over a loud wrong one.
    A reading fills one role at most, and a value derived by arithmetic must still be plausible.
    """
    capital_total = cn_capital_to_decimal(capital_text) if capital_text else None
    scored: list[tuple[float, MoneyChoice]] = []
    for a, t, s in product([*amounts, *_OPTIONAL], [*taxes, *_OPTIONAL], [*totals, *_OPTIONAL]):
        used = [r for r in (a, t, s) if r is not None]
        if len({id(r) for r in used}) < len(used):
            continue
        av = a.value if a else None
        tv = t.value if t else None
        sv = s.value if s else None
        derived = ""
        # The capitals stand in for an unread total only where arithmetic cannot: with amount and tax
        # read, their sum is the total and the capitals check it (a lost capital glyph is no total).
        # A total taken from the capitals may win, but they do not make it certain: they check nothing.
        from_capitals = (sv is None and capital_total is not None and (av is None or tv is None)
                         and all(v is None or v <= capital_total for v in (av, tv)))
        if from_capitals:
            sv, derived = capital_total, "total"
        if [av, tv, sv].count(None) == 1:
            if av is None:
                av, derived = sv - tv, "amount"
            elif tv is None:
                tv, derived = sv - av, "tax"
            elif sv is None:
                sv, derived = av + tv, "total"
        if any(v is not None and v < 0 for v in (av, tv, sv)):
            continue
        if sv is not None and any(v is not None and v > sv for v in (av, tv)):
            continue  # a total below one of its parts (capitals read only in part: 肆角玖分)
        if derived and av is not None and tv is not None and (tv == 0 or tv > av * Decimal("0.2")):
            continue  # arithmetic alone never invents a zero or implausibly large tax
        score = sum(min(r.score, 1.0) + (r.score > 1.0) for r in used)
        complete = av is not None and tv is not None and sv is not None and av + tv == sv
        cap = capital_similarity(sv, capital_text) if sv is not None else 0.0
        plausible_rate = av is not None and tv is not None and av > 0 and tv <= av * Decimal("0.2")
        # Three readings that add up check each other; so do two that add up to the capitals'
        # total. Any other derived value rests on unchecked readings and stays uncertain.
        checked = complete and (not derived or (derived == "total" and cap == 1.0))
        score += (3.0 if checked else 1.5 if complete else 0.0)
        score += 2.0 * cap * (cap >= 0.7) + 0.5 * plausible_rate
        conf_sum = 0.97 if checked else (0.7 if complete else 0.5)
        confidence = {
            name: _money_conf(reading, conf_sum, derived == name or (from_capitals and name == "total"))
            for name, reading in (("amount", a), ("tax", t), ("total", s))
        }
        if cap == 1.0 and not from_capitals and (complete or av is None or tv is None):  # they confirm a read total
            confidence["total"] = min(0.99, max(confidence["total"], 0.9) + 0.05)
        scored.append((score, MoneyChoice(av, tv, sv, confidence)))
    return _doubt_close_calls(scored)  # never empty: reading nothing at all is always a choice


def _doubt_close_calls(scored: list[tuple[float, MoneyChoice]]) -> MoneyChoice:
    """The best-scoring choice, with every value that a nearly as good choice reads otherwise kept
    below certainty: two sets of readings that each pass a check do not make either one sure."""
    best_score, best = max(scored, key=lambda sc: sc[0])
    confidence = dict(best.confidence)
    for name in ("amount", "tax", "total"):
        value = getattr(best, name)
        rivals = [sc for sc, choice in scored if getattr(choice, name) not in (None, value)]
        if value is not None and rivals and best_score - max(rivals) < _CLOSE_CALL:
            confidence[name] = min(confidence.get(name, 0.0), _DOUBTED)
    return MoneyChoice(best.amount, best.tax, best.total, confidence)


def _money_conf(reading: MoneyReading | None, base: float, derived: bool) -> float:
    """A read value keeps part of its OCR score; a derived one rests on the checks alone."""
    if reading is not None:
        return min(0.99, base * (0.5 + 0.5 * min(reading.score, 1.0)) + 0.03)
    return base * 0.9 if derived else 0.0
