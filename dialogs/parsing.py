"""Values as people type them in chat: amounts, dates, categories, yes/no.

Pure functions over text; the caller supplies 'today' (in the business time zone) so relative
dates are testable and never depend on the machine's clock or zone.
"""

from __future__ import annotations

import calendar
import difflib
import re
import unicodedata
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from common.cn_money import cn_capital_to_decimal

CENT = Decimal("0.01")


class Invalid(ValueError):
    """Input that does not fit the question; `zh`/`en` tell the person what was wrong."""

    def __init__(self, zh: str, en: str | None = None) -> None:
        super().__init__(zh)
        self.zh = zh
        self.en = en or zh

    def text(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


def normalize(text: str) -> str:
    """Full-width digits and punctuation (common on phone keyboards) become ASCII."""
    return unicodedata.normalize("NFKC", text).strip()


# amounts -----------------------------------------------------------------------------------------

_CURRENCY_PREFIX = re.compile(r"^(?:¥|￥|rmb|cny|人民币)\s*", re.IGNORECASE)
_CURRENCY_SUFFIX = re.compile(r"\s*(?:元整|元|块钱|块|rmb|cny|yuan)$", re.IGNORECASE)
_ARABIC = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_ARABIC_WAN = re.compile(r"^(\d+(?:\.\d+)?)万$")
_ARABIC_YUAN_JIAO = re.compile(r"^(\d+)元(?:(\d)角)?(?:(\d)分)?$")
_CN_DIGITS = "零〇一二两三四五六七八九壹贰叁肆伍陆柒捌玖貳參陸"
_CN_CHARS = re.compile(rf"^[{_CN_DIGITS}十百千万亿拾佰仟萬億元圆圓角分整正块毛]+$")
_CN_HAS_DIGIT = re.compile(rf"[{_CN_DIGITS}十拾]")
_CN_SPOKEN_JIAO = re.compile(rf"元([{_CN_DIGITS}])$")


def parse_amount(text: str) -> Decimal | None:
    """A money amount written in digits or Chinese numerals/capitals; None if it is not one.

    Accepts `58.5`, `¥1,234.56`, `1234.5元`, `1.2万`, `12元5角`, `一千二百三十四元五角`,
    `壹仟贰佰叁拾肆元伍角陆分`, `两百`, `三块五`. Range checks are the caller's (see `money`).
    """
    s = normalize(text).replace(" ", "")
    s = _CURRENCY_PREFIX.sub("", s)
    if m := _ARABIC_YUAN_JIAO.match(s):
        jiao, fen = int(m.group(2) or 0), int(m.group(3) or 0)
        return Decimal(m.group(1)) + Decimal(jiao) / 10 + Decimal(fen) / 100
    bare = _CURRENCY_SUFFIX.sub("", s)
    if _ARABIC.match(bare):
        try:
            return Decimal(bare.replace(",", ""))
        except InvalidOperation:
            return None
    if m := _ARABIC_WAN.match(bare):
        return Decimal(m.group(1)) * 10_000
    return _parse_cn_amount(s)


def _parse_cn_amount(s: str) -> Decimal | None:
    s = s.replace("块钱", "元").replace("块", "元").replace("毛", "角")
    if not _CN_CHARS.match(s) or not _CN_HAS_DIGIT.search(s):
        return None
    s = _CN_SPOKEN_JIAO.sub(r"元\1角", s)  # 三元五 is said for 3.5
    return cn_capital_to_decimal(s)


def money(text: str, max_amount: Decimal) -> Decimal:
    """An amount for an expense: > 0, at most two decimal places, at most `max_amount`."""
    value = parse_amount(text)
    if value is None:
        raise Invalid("没看懂这个金额。", "That does not look like an amount.")
    if value <= 0:
        raise Invalid("金额必须大于 0。", "The amount must be more than 0.")
    if value != value.quantize(CENT):
        raise Invalid("金额最多两位小数（到分）。", "Use at most two decimal places.")
    if value > max_amount:
        raise Invalid(f"金额不能超过 {max_amount:,.2f} 元。", f"The amount cannot exceed {max_amount:,.2f}.")
    return value.quantize(CENT)


def format_money(value: Decimal) -> str:
    return f"¥{value.quantize(CENT):,.2f}"


# dates -------------------------------------------------------------------------------------------

_WEEKDAY_CN = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6,
               "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
_WEEKDAY_EN = {name.lower(): i for i, name in enumerate(calendar.day_name)} | {
    name.lower(): i for i, name in enumerate(calendar.day_abbr)
}
_RELATIVE = {"今天": 0, "今日": 0, "today": 0, "昨天": 1, "昨日": 1, "yesterday": 1, "前天": 2, "大前天": 3}
_CN_WEEKDAY = re.compile(r"^(上|本|这)?(?:个)?(?:周|星期|礼拜)([一二三四五六日天七1-7])$")
_EN_WEEKDAY = re.compile(r"^(last |this )?([a-z]+)$")
_FULL = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$")
_COMPACT = re.compile(r"^(20\d{2})(\d{2})(\d{2})$")
_MONTH_DAY = re.compile(r"^(\d{1,2})\s*(?:[-/]|月)\s*(\d{1,2})\s*[日号]?$")
_DAY = re.compile(r"^(\d{1,2})\s*[日号]$")


def parse_date(text: str, today: date) -> date | None:
    """A calendar date as people write it, relative to `today` (business time zone); None if not one.

    Weeks run Monday to Sunday: `周五` is this week's Friday, `上周五` the previous week's. A date
    written without a year is the most recent such day (a December date typed in January means
    last December).
    """
    s = normalize(text).lower()
    if s in _RELATIVE:
        return today - timedelta(days=_RELATIVE[s])
    if m := _CN_WEEKDAY.match(s):
        return _weekday(today, _WEEKDAY_CN[m.group(2)], previous=m.group(1) == "上")
    if (m := _EN_WEEKDAY.match(s)) and m.group(2) in _WEEKDAY_EN:
        return _weekday(today, _WEEKDAY_EN[m.group(2)], previous=m.group(1) == "last ")
    for pattern in (_FULL, _COMPACT):
        if m := pattern.match(s):
            return _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m := _MONTH_DAY.match(s):
        return _recent(today, int(m.group(1)), int(m.group(2)))
    if m := _DAY.match(s):
        day = int(m.group(1))
        found = _safe_date(today.year, today.month, day)
        if found is not None and found > today:
            prev = today.replace(day=1) - timedelta(days=1)
            found = _safe_date(prev.year, prev.month, day)
        return found
    return None


def _weekday(today: date, weekday: int, *, previous: bool) -> date:
    monday = today - timedelta(days=today.weekday())
    if previous:
        monday -= timedelta(days=7)
    return monday + timedelta(days=weekday)


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _recent(today: date, month: int, day: int) -> date | None:
    found = _safe_date(today.year, month, day)
    if found is not None and found > today:
        found = _safe_date(today.year - 1, month, day)
    return found


# categories --------------------------------------------------------------------------------------


def match_category(text: str, categories: Iterable[tuple[str, Iterable[str]]], *, loose: bool = True,
                   cutoff: float = 0.6) -> str | None:
    """The category `text` names: exact name or alias; if `loose`, containment (打车费 → 打车), then typos."""
    found = category_match(text, categories, cutoff=cutoff)
    if found is None or (not loose and found[1] != "exact"):
        return None
    return found[0]


def category_match(text: str, categories: Iterable[tuple[str, Iterable[str]]], *,
                   cutoff: float = 0.6) -> tuple[str, str] | None:
    """(category, how) with how one of 'exact', 'contains' (a word inside the text) or 'typo'."""
    s = normalize(text).lower()
    if not s:
        return None
    names: dict[str, str] = {}
    for name, aliases in categories:
        for word in (name, *aliases):
            names.setdefault(normalize(word).lower(), name)
    if s in names:
        return names[s], "exact"
    for word, name in sorted(names.items(), key=lambda item: -len(item[0])):
        if len(word) >= 2 and word in s:
            return name, "contains"
    close = difflib.get_close_matches(s, list(names), n=1, cutoff=cutoff)
    if close:
        return names[close[0]], "typo"
    # short Chinese words: one wrong character (办工 for 办公) is a typo when only one category fits
    near = {name for word, name in names.items()
            if len(word) == len(s) >= 2 and sum(a != b for a, b in zip(word, s, strict=True)) == 1
            and not word.isascii()}
    return (near.pop(), "typo") if len(near) == 1 else None


# words -------------------------------------------------------------------------------------------

YES = frozenset({"确认", "确定", "是", "是的", "对", "对的", "好", "好的", "提交", "可以", "没问题", "ok", "okay",
                 "yes", "y", "confirm", "submit", "correct", "right"})
CANCEL = frozenset({"取消", "放弃", "退出", "算了", "不报了", "cancel", "quit", "stop", "abort"})
SKIP = frozenset({"无", "没有", "跳过", "不用", "不需要", "略", "-", "skip", "none", "no", "n/a"})


def _word(text: str) -> str:
    return normalize(text).lower().rstrip("。.!！~")


def is_yes(text: str) -> bool:
    return _word(text) in YES


def is_cancel(text: str) -> bool:
    return _word(text) in CANCEL


def is_skip(text: str) -> bool:
    return _word(text) in SKIP
