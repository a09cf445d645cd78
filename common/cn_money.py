"""Chinese capital-letter money (大写金额) <-> Decimal.

Invoices print the total twice: in digits and in capitals. The capitals are redundant on purpose
(they are hard to forge or misread), so converting both ways lets us cross-check an OCR reading.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_BIG_UNITS = ("", "万", "亿")
_CENT = Decimal("0.01")

# Common variants and OCR look-alikes of the capital digits and units.
_VARIANTS = str.maketrans({
    "〇": "零", "O": "零", "o": "零", "0": "零",
    "一": "壹", "弌": "壹", "二": "贰", "貳": "贰", "两": "贰", "三": "叁", "參": "叁", "参": "叁",
    "四": "肆", "五": "伍", "六": "陆", "陸": "陆", "七": "柒", "八": "捌", "九": "玖",
    "十": "拾", "百": "佰", "千": "仟", "萬": "万", "億": "亿", "元": "圆", "園": "圆", "圓": "圆",
})
_DIGIT_VALUE = {c: i for i, c in enumerate(DIGITS)}
_UNIT_VALUE = {"拾": 10, "佰": 100, "仟": 1000}
_SKIP = set(" \t\u3000ⓧ⊗×xX¥￥人民币")


def _parse_integer(s: str) -> int | None:
    """Parse the yuan part (e.g. 壹拾万零叁佰) into an int; None when it is not well formed."""
    yi = wan = section = 0  # the 亿 group, the 万 group and the value below 万
    digit: int | None = None
    for ch in s:
        if ch in _DIGIT_VALUE:
            if digit not in (None, 0) and _DIGIT_VALUE[ch] != 0:
                return None  # two digits in a row without a unit
            digit = _DIGIT_VALUE[ch]
        elif ch in _UNIT_VALUE:
            section += (1 if digit is None else digit) * _UNIT_VALUE[ch]
            digit = None
        elif ch == "万":
            wan, section, digit = section + (digit or 0), 0, None
        elif ch == "亿":
            yi, wan, section, digit = wan * 10_000 + section + (digit or 0), 0, 0, None
        else:
            return None
    return yi * 100_000_000 + wan * 10_000 + section + (digit or 0)


def cn_capital_to_decimal(s: str) -> Decimal | None:
    """Parse a capital-letter amount such as 叁万零叁佰捌拾圆伍角伍分; None if it is not one."""
    if not s:
        return None
    text = "".join(ch for ch in s.translate(_VARIANTS) if ch not in _SKIP)
    text = text.rstrip("整正")
    if not text:
        return None
    if "圆" in text:
        yuan_part, _, frac = text.partition("圆")
    elif text[-1] in "角分":
        yuan_part, frac = "", text
    else:
        yuan_part, frac = text, ""
    yuan = _parse_integer(yuan_part) if yuan_part else 0
    if yuan is None:
        return None
    jiao = fen = 0
    frac = frac.lstrip("零")
    pending: int | None = None
    for ch in frac:
        if ch in _DIGIT_VALUE:
            if pending is not None:
                return None
            pending = _DIGIT_VALUE[ch]
        elif ch == "角" and pending is not None:
            jiao, pending = pending, None
        elif ch == "分" and pending is not None:
            fen, pending = pending, None
        else:
            return None
    if pending is not None or (not yuan_part and not frac):
        return None
    return Decimal(yuan) + Decimal(jiao) / 10 + Decimal(fen) / 100


def _four_digits(n: int) -> str:
    """Write 0 < n < 10000 with 拾/佰/仟, a single 零 for inner zero runs."""
    out: list[str] = []
    zero = False
    for pos in range(3, -1, -1):
        d = n // 10**pos % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out.append("零")
            zero = False
        out.append(DIGITS[d] + _SMALL_UNITS[pos])
    return "".join(out)


def decimal_to_cn_capital(d: Decimal) -> str:
    """Write a non-negative amount the way invoices print 价税合计（大写）, e.g. 壹拾万零伍圆整."""
    value = Decimal(d).quantize(_CENT, rounding=ROUND_HALF_UP)
    if value < 0:
        raise ValueError("negative amounts have no capital form here")
    if value >= 10**12:
        raise ValueError("amounts from 1 万亿 up are not written on invoices")
    fen_total = int(value * 100)
    yuan, cents = divmod(fen_total, 100)
    jiao, fen = divmod(cents, 10)
    groups: list[int] = []
    while yuan:
        yuan, rest = divmod(yuan, 10_000)
        groups.append(rest)
    parts: list[str] = []
    need_zero = False
    for idx in range(len(groups) - 1, -1, -1):
        g = groups[idx]
        if g == 0:
            need_zero = bool(parts)
            continue
        if parts and (need_zero or g < 1000):
            parts.append("零")
        parts.append(_four_digits(g) + _BIG_UNITS[idx])
        need_zero = False
    text = "".join(parts)
    if text:
        text += "圆"
    if jiao == 0 and fen == 0:
        return (text or "零圆") + "整"
    if jiao:
        text += DIGITS[jiao] + "角"
    elif text:
        text += "零"
    if fen:
        text += DIGITS[fen] + "分"
    return text
