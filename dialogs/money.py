"""Money as people type it: digits, Chinese numerals (spoken short forms too), capitals and units.

`read_amount` reads one whole amount. The integer part in Chinese numerals goes to cn2an, which
knows the spoken short forms (`一千二` is 1200, `两万五` 25000, `三千零五` 3005); its results are
always whole numbers, so no float ever touches money. What cn2an accepts but a person would not
write (`两两`, `一百零`, a leading 零) is refused here first, and a numeral read digit by digit
(`一二零`) is returned as not sure, so the caller asks before using it. Yuan, 角/毛 and 分 are split
here, never by the library. The table in tests/dialogs/corpus/money.tsv is the specification.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

import cn2an

_DIGITS = "零〇一二两三四五六七八九"
_CAPITALS = str.maketrans({
    "壹": "一", "贰": "二", "貳": "二", "叁": "三", "參": "三", "肆": "四", "伍": "五", "陆": "六", "陸": "六",
    "柒": "七", "捌": "八", "玖": "九", "拾": "十", "佰": "百", "仟": "千", "萬": "万", "億": "亿",
    "圆": "元", "圓": "元", "〇": "零", "點": "点",
})
_ARABIC_TO_CN = str.maketrans("0123456789", "零一二三四五六七八九")
_PREFIX = re.compile(r"^(?:¥|￥|rmb|cny|人民币)")
_SUFFIX = re.compile(r"(?:rmb|cny|yuan|整|正)$")
_YUAN = "(?:块钱|元钱|块|元)"
_ARABIC = re.compile(rf"^(\d{{1,3}}(?:,\d{{3}})+|\d+)(\.\d+)?{_YUAN}?$")
_ARABIC_TIMES = re.compile(rf"^(\d+(?:\.\d+)?)(万|w|k|千){_YUAN}?$")
_ARABIC_YUAN_JIAO = re.compile(rf"^(\d+){_YUAN}(\d)(?:角|毛)?(?:(\d)分?)?$")  # 35块5, 12元5角3分, 1块2毛5
_ARABIC_JIAO = re.compile(r"^(\d)(?:角|毛)(?:(\d)分?)?$")  # 5毛, 5毛5
_ARABIC_SPOKEN = re.compile(r"^\d(?:[十百千万亿]\d?)+$")  # 1万2, 3千5: digits said with Chinese units
_CN_INTEGER = re.compile(rf"^[{_DIGITS}十百千万亿]+$")
_CN_NUMBER = re.compile(rf"^([{_DIGITS}十百千万亿]*)(?:点([{_DIGITS}]+))?$")
_CN_SMALL = re.compile(rf"^零?(?:([{_DIGITS}])(?:(?:角|毛)(?:([{_DIGITS}])分?)?)?|([{_DIGITS}])分)$")
_TWO_DIGITS = re.compile(rf"[一二两三四五六七八九][{_DIGITS}]")
_CN_DIGIT_VALUE = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2}


@dataclass(frozen=True)
class Reading:
    """An amount as read: `sure` is False when it should be shown and confirmed before use."""

    value: Decimal
    sure: bool = True
    words: bool = False  # written (partly) in Chinese numerals: worth showing what was read


def read_amount(text: str) -> Reading | None:
    """The amount `text` writes, or None when it is not (only) an amount."""
    s = unicodedata.normalize("NFKC", text).lower().replace(" ", "").translate(_CAPITALS)
    s = _SUFFIX.sub("", _PREFIX.sub("", s))
    negative = s[:1] in ("-", "负")
    s = s[1:] if negative else s
    read = (_read_arabic(s) if s[:1].isdigit() else _read_chinese(s)) if s else None
    if read is None or not negative:
        return read
    return Reading(-read.value, read.sure, read.words)  # refused later, with the reason


def _read_arabic(s: str) -> Reading | None:
    if m := _ARABIC.match(s):
        return Reading(Decimal(m.group(1).replace(",", "") + (m.group(2) or "")))
    if m := _ARABIC_TIMES.match(s):
        return Reading(Decimal(m.group(1)) * (10_000 if m.group(2) in ("万", "w") else 1_000))
    if m := _ARABIC_YUAN_JIAO.match(s):
        return Reading(_sum(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)))
    if m := _ARABIC_JIAO.match(s):
        return Reading(_sum(0, int(m.group(1)), int(m.group(2) or 0)))
    if _ARABIC_SPOKEN.match(s):
        return _read_chinese(s.translate(_ARABIC_TO_CN))
    return None


def _read_chinese(s: str) -> Reading | None:
    head, sep, tail = _split_yuan(s)
    if not sep and not _CN_NUMBER.match(s):
        head, tail = "", s  # 五毛, 两毛五, 三分: no yuan at all
    whole = _CN_NUMBER.match(head)
    small = _CN_SMALL.match(tail) if tail else None
    if whole is None or (tail and small is None):
        return None
    integer, decimals = whole.group(1), whole.group(2)
    if ((sep or decimals) and not integer) or (decimals and tail) or not (integer or small):
        return None  # 块五, 点五, 三点五毛, 元
    value, sure = Decimal(0), True
    if integer:
        parsed = _integer(integer)
        if parsed is None:
            return None
        value, sure = Decimal(parsed[0]), parsed[1]
    if decimals:
        value += Decimal("0." + "".join(str(_CN_DIGIT_VALUE[c]) for c in decimals))
    if small:
        jiao, fen = small.group(1), small.group(2) or small.group(3)
        value += _sum(0, _CN_DIGIT_VALUE[jiao] if jiao else 0, _CN_DIGIT_VALUE[fen] if fen else 0)
    return Reading(value, sure, words=True)


def _split_yuan(s: str) -> tuple[str, str, str]:
    for word in ("块钱", "元钱", "块", "元"):
        if word in s:
            head, _, tail = s.partition(word)
            return head, word, tail
    return s, "", ""


def _integer(text: str) -> tuple[int, bool] | None:
    """(value, sure) of a Chinese integer numeral, or None when a person would not write it so."""
    if not _CN_INTEGER.match(text):
        return None
    if text in _CN_DIGIT_VALUE:
        return _CN_DIGIT_VALUE[text], True
    if not any(c in "十百千万亿" for c in text):
        if text[0] == "零" or "两" in text:
            return None  # 零五, 两两: nobody reads digits so
        return int("".join(str(_CN_DIGIT_VALUE[c]) for c in text)), False  # 一二零: said digit by digit
    if "零" in (text[0], text[-1]) or _TWO_DIGITS.search(text):
        return None  # 两两, 一百二三 (about 120-130): not one amount
    try:
        value = cn2an.cn2an(text, "normal")
    except ValueError:
        return None
    return (value, True) if isinstance(value, int) else None


def _sum(yuan: int, jiao: int, fen: int) -> Decimal:
    return Decimal(yuan) + Decimal(jiao) / 10 + Decimal(fen) / 100
