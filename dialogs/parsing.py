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
from decimal import Decimal

from dialogs.money import read_amount

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


def parse_amount(text: str) -> Decimal | None:
    """A money amount written in digits, Chinese numerals or capitals (see dialogs.money); None if not one."""
    read = read_amount(text)
    return None if read is None else read.value


def checked_money(value: Decimal, max_amount: Decimal) -> Decimal:
    """An amount fit for an expense: > 0, at most two decimal places, at most `max_amount`."""
    if value <= 0:
        raise Invalid("金额必须大于 0。", "The amount must be more than 0.")
    if value != value.quantize(CENT):
        raise Invalid("金额最多两位小数（到分）。", "Use at most two decimal places.")
    if value > max_amount:
        raise Invalid(f"金额不能超过 {max_amount:,.2f} 元。", f"The amount cannot exceed {max_amount:,.2f}.")
    return value.quantize(CENT)


def money(text: str, max_amount: Decimal) -> Decimal:
    """`text` as an expense amount (see `checked_money`); Invalid with the reason otherwise."""
    value = parse_amount(text)
    if value is None:
        raise Invalid("没看懂这个金额。", "That does not look like an amount.")
    return checked_money(value, max_amount)


def format_money(value: Decimal) -> str:
    return f"¥{value.quantize(CENT):,.2f}"


# dates -------------------------------------------------------------------------------------------

_WEEKDAY_CN = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6,
               "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
_WEEKDAY_EN = {name.lower(): i for i, name in enumerate(calendar.day_name)} | {
    name.lower(): i for i, name in enumerate(calendar.day_abbr)
}
# days back from today; negative ones are in the future (said, then refused by the caller)
RELATIVE_DAYS = {"今天": 0, "今日": 0, "今早": 0, "今晚": 0, "today": 0, "tonight": 0,
                 "昨天": 1, "昨日": 1, "昨晚": 1, "昨儿": 1, "yesterday": 1, "前天": 2, "前日": 2, "前晚": 2,
                 "大前天": 3, "明天": -1, "明日": -1, "明早": -1, "明晚": -1, "tomorrow": -1, "后天": -2, "大后天": -3}
# week offsets: no word is the most recent such day that is not in the future
_WEEK_WORDS = {"上上": -2, "上": -1, "本": 0, "这": 0, "下": 1, "last ": -1, "this ": 0, "next ": 1}
CN_WEEKDAY = r"(上上|上|本|这|下)?(?:个)?(?:周|星期|礼拜)([一二三四五六日天七1-7])"
_CN_WEEKDAY = re.compile(rf"^{CN_WEEKDAY}$")
_EN_WEEKDAY = re.compile(r"^(last |this |next |on )?([a-z]+)$")
_FULL = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$")
_COMPACT = re.compile(r"^(20\d{2})(\d{2})(\d{2})$")
_MONTH_DAY = re.compile(r"^(\d{1,2})\s*(?:[-/]|月)\s*(\d{1,2})\s*[日号]?$")
_LAST_MONTH_DAY = re.compile(r"^(?:上个?月)(\d{1,2})\s*[日号]$")
_DAY = re.compile(r"^(\d{1,2})\s*[日号]$")


def parse_date(text: str, today: date) -> date | None:
    """A calendar date as people write it, relative to `today` (business time zone); None if not one.

    Weeks run Monday to Sunday. `周五` alone is the most recent Friday not after today; `上周五` the
    previous week's, `这周五` this week's (which may lie ahead). A date without a year, or a day
    without a month, is the most recent such day. Future dates are returned as such: refusing them,
    with that reason, is the caller's job.
    """
    s = normalize(text).lower()
    if s in RELATIVE_DAYS:
        return today - timedelta(days=RELATIVE_DAYS[s])
    if m := _CN_WEEKDAY.match(s):
        return weekday_date(today, _WEEKDAY_CN[m.group(2)], m.group(1))
    if (m := _EN_WEEKDAY.match(s)) and m.group(2) in _WEEKDAY_EN:
        return weekday_date(today, _WEEKDAY_EN[m.group(2)], m.group(1))
    for pattern in (_FULL, _COMPACT):
        if m := pattern.match(s):
            return _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m := _MONTH_DAY.match(s):
        return _recent(today, int(m.group(1)), int(m.group(2)))
    if m := _LAST_MONTH_DAY.match(s):
        last = today.replace(day=1) - timedelta(days=1)
        return _safe_date(last.year, last.month, int(m.group(1)))
    if m := _DAY.match(s):
        day = int(m.group(1))
        found = _safe_date(today.year, today.month, day)
        if found is None or found > today:
            prev = today.replace(day=1) - timedelta(days=1)
            found = _safe_date(prev.year, prev.month, day)
        return found
    return None


def weekday_date(today: date, weekday: int, word: str | None) -> date:
    """The `weekday` (0 = Monday) that `word` (上, 这, 下, last ... or None) points at from `today`."""
    monday = today - timedelta(days=today.weekday())
    if word is None or word == "on ":
        found = monday + timedelta(days=weekday)
        return found if found <= today else found - timedelta(days=7)
    return monday + timedelta(days=7 * _WEEK_WORDS[word] + weekday)


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
CANCEL = frozenset({"取消", "放弃", "退出", "算了", "算了吧", "取消吧", "取消报销", "不报了", "cancel", "quit", "stop",
                    "abort"})
SKIP = frozenset({"无", "没有", "跳过", "不用", "不需要", "略", "-", "skip", "none", "no", "n/a"})


def _word(text: str) -> str:
    return normalize(text).lower().rstrip("。.!！~")


def is_yes(text: str) -> bool:
    return _word(text) in YES


def is_cancel(text: str) -> bool:
    return _word(text) in CANCEL


def is_skip(text: str) -> bool:
    return _word(text) in SKIP
