"""Values inside a sentence: expense numbers, dates and amounts, wherever they stand.

Dates are found first (so 周五 is never read as 5 yuan), then amounts in what is left. A number is
money when it has a unit (元, 块, 毛, ¥, 万, k) or, in digits, when nothing marks it as a count
(三个人, 2张, 3晚, 5折, 3号线, 第2). A number in Chinese numerals without a unit is money only when it
is the whole message, or when it has a 十/百/千/万 and stands after a money word (花了, 报销, 一共 ...)
or ends the sentence (三个人吃饭二百五): the 一 of 一下 or 一起 never is. Several different amounts are never guessed
between: the caller asks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from dialogs.money import Reading, read_amount
from dialogs.parsing import CN_WEEKDAY, RELATIVE_DAYS, parse_date
from nlu.lexicon import Money, lexicon

NUMBER = re.compile(r"bx\d{8}-\d{4,}", re.IGNORECASE)

_EN_DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_DATE_PATTERNS = (
    r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*[日号]?",
    r"上个?月\d{1,2}\s*[日号]",
    r"(?<![\d.,])\d{1,2}\s*月\s*\d{1,2}\s*[日号]?",
    r"(?<![\d.,/])\d{1,2}/\d{1,2}(?![\d/.])",
    r"(?<![\d.,月])\d{1,2}\s*[日号](?![线楼房门机位座])",
    CN_WEEKDAY,
    rf"\b(?:(?:last|this|next|on)\s+)?(?:{_EN_DAYS})\b",
    "|".join(sorted((re.escape(w) for w in RELATIVE_DAYS), key=len, reverse=True)),
)
_DATES = re.compile("|".join(f"(?:{p})" for p in _DATE_PATTERNS), re.IGNORECASE)

_CN = "零〇一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟萬億"
_CN_SMALL = "零一二两三四五六七八九"
_ARABIC_AMOUNT = re.compile(
    r"(?<![A-Za-z0-9_./:-])(?<!\d,)("
    r"\d(?:[十百千万]\d?)+(?:块钱|元钱|块|元)?"  # 1万2, 3千5: digits said with Chinese units
    r"|-?(?:[¥￥$]\s*)?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
    r"(?:\s*(?:万|w|k|千)(?![A-Za-z]))?"
    r"(?:\s*(?:块钱|元钱|块|元|rmb|cny|yuan)(?:\s*\d\s*(?:角|毛)(?:\s*\d\s*分)?|\d(?:角|毛)?(?:\d分?)?)?"
    r"|(?:角|毛)(?:\d分?)?)?"
    r")(?![A-Za-z0-9_.:十百千万])",
    re.IGNORECASE,
)
_CN_AMOUNT = re.compile(
    rf"((?:负)?[{_CN}]+(?:点[{_CN_SMALL}]+)?"
    rf"(?:(?:块钱|元钱|块|元|圆)(?:[{_CN_SMALL}](?:角|毛)?(?:[{_CN_SMALL}]分?)?)?|(?:角|毛)(?:[{_CN_SMALL}]分?)?|分)?)"
)
_DATE_LIKE = re.compile(r"^(?:0?[1-9]|1[0-2])\.(?:0?[1-9]|[12]\d|3[01])$")
_UNIT = re.compile(r"[元块毛角分¥￥$万wk]|rmb|cny|yuan", re.IGNORECASE)


@dataclass(frozen=True)
class Found:
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class DateFound(Found):
    day: date | None


@dataclass(frozen=True)
class AmountFound(Found):
    reading: Reading
    marked: bool  # had a unit or currency sign: money beyond doubt
    total: bool = False  # said as the total (共, 合计): it wins over the others


def find_numbers(text: str) -> list[Found]:
    return [Found(m.start(), m.end(), m.group(0).upper()) for m in NUMBER.finditer(text)]


def find_dates(text: str, today: date) -> list[DateFound]:
    found = []
    for m in _DATES.finditer(text):
        found.append(DateFound(m.start(), m.end(), m.group(0), parse_date(m.group(0).strip(), today)))
    return found


def vague_date(text: str) -> Found | None:
    """A phrase that names a time but no single day (上周, 上个月), if the text has one."""
    lowered = text.lower()
    for word in sorted(lexicon().dates.vague, key=len, reverse=True):
        if (at := lowered.find(word)) >= 0:
            return Found(at, at + len(word), text[at:at + len(word)])
    return None


def find_amounts(text: str) -> list[AmountFound]:
    """Money in `text` (dates and numbers already blanked out)."""
    words = lexicon().money
    found: list[AmountFound] = []
    for m in _ARABIC_AMOUNT.finditer(text):
        raw = m.group(1).strip()
        read = read_amount(raw)
        marked = bool(_UNIT.search(raw))
        if read is None or ((not marked or raw[-1].isdigit()) and _counted(text, m.end(), words)) \
                or _after(text, m.start(), words.after):
            continue  # 2张, 35x2, 35元5人, 第3, 人均35
        if not marked and len(raw.lstrip("-").split(".")[0]) >= 8:
            continue  # a phone or invoice number
        if not marked and _DATE_LIKE.match(raw):
            read = Reading(read.value, sure=False)  # 11.20 may be a date: asked, never assumed
        found.append(AmountFound(m.start(), m.end(), raw, read, marked, _after(text, m.start(), words.total)))
    for m in _CN_AMOUNT.finditer(text):
        raw = m.group(1)
        read = read_amount(raw)
        marked = bool(_UNIT.search(raw.lstrip(_CN)))
        if read is None or ((not marked or raw[-1] in _CN) and _counted(text, m.end(), words)) \
                or _after(text, m.start(), words.after):
            continue
        alone = raw == text.strip()
        sized = any(c in raw for c in "十百千万拾佰仟萬") or len(raw) > 1  # 二百五 or 一二零, not the 一 of 一下
        last = not text[m.end():].strip(" ,.!?。，！？~")
        if marked or alone or (sized and (last or _after(text, m.start(), words.before))):
            found.append(AmountFound(m.start(), m.end(), raw, read, marked, _after(text, m.start(), words.total)))
    return sorted(found, key=lambda f: f.start)


def pick_amount(found: list[AmountFound]) -> tuple[AmountFound | None, list[Decimal]]:
    """The one amount meant, or None and the different candidates when it is not clear which.

    A total (共39) wins; then amounts with a unit over bare numbers; a bare number that may be a
    date (11.20) counts only when nothing else does.
    """
    totals = [f for f in found if f.total]
    marked = [f for f in found if f.marked]
    plain = [f for f in found if f.reading.sure] or found
    pool = totals or marked or plain
    values = list(dict.fromkeys(f.reading.value for f in pool))
    if len(values) == 1:
        return pool[0], values
    return None, values


def _counted(text: str, end: int, words: Money) -> bool:
    """The number ending at `end` counts things, or is rough, multiplied or a time (see lexicon)."""
    rest = text[end:].lstrip().lower()
    if any(rest.startswith(w) for w in words.not_counters):
        return False
    return any(rest.startswith(c) and not _glued(c, rest[len(c):len(c) + 1]) for c in words.counters)


def _after(text: str, start: int, words: tuple[str, ...]) -> bool:
    before = text[:start].rstrip().lower()
    return any(before.endswith(w) and not _glued(w, before[-len(w) - 1:-len(w)]) for w in words)


def _glued(word: str, neighbour: str) -> bool:
    """An English word that is part of a longer one (the x of fedex, the x of xiaomi) does not count."""
    return word[-1:].isascii() and word[-1:].isalpha() and neighbour.isascii() and neighbour.isalpha()
