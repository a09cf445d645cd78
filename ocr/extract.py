"""Field extraction from OCR lines of a VAT invoice (专用/普通发票, 电子普通发票, 全电发票).

Values are found next to their printed labels, several readings are collected where the invoice
repeats a value (number and code appear twice on paper invoices, the QR code repeats five fields),
and the redundancy checks in ``candidates`` pick among them.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from difflib import SequenceMatcher
from itertools import pairwise

from common.cn_money import decimal_to_cn_capital
from ocr.candidates import MoneyReading, Reading, choose_money, choose_uscc, uscc_readings, vote
from ocr.engines import TextLine
from ocr.layout import Page, after_label, compact
from ocr.models import Invoice
from ocr.qr import QrData
from ocr.validate import CAPITAL_CHARS, capital_matches, is_sane_issue_date, year_fits_series

_TYPE_RULES: tuple[tuple[str, str], ...] = (
    (r"电子发票\(?增值税专用发票", "电子发票（增值税专用发票）"),
    (r"电子发票\(?普通发票", "电子发票（普通发票）"),
    (r"电子普通发票", "增值税电子普通发票"),
    (r"电子专用发票", "增值税电子专用发票"),
    (r"专用发票", "增值税专用发票"),
    (r"普通发票", "增值税普通发票"),
)
_MONEY = re.compile(r"(?<![\d.])(\d{1,3}(?:,\d{3})+|\d+)\.(\d{2})(?!\d)")
_YEN_MISREAD = re.compile(r"^(?:[Y半羊VＶ]I?|I)\d")  # ¥ as OCR reads it before a sum
_MAX_AMOUNT = Decimal(10) ** 10  # no VAT invoice comes near 100 亿 yuan
# Sums are printed apart from their labels (printers feed paper a millimetre off): a sum within one
# text height of a label's row is on it; the 合计 and 价税合计 rows are two text heights apart.
_SUM_ROW = 1.0
# A date; 年 may be lost on a small photo when 月 and 日 still mark the month and the day.
_DATE = re.compile(r"(20\d{2})\s*[年\-/.]\s*(\d{1,2})\s*[月\-/.]\s*(\d{1,2})|(20\d{2})(\d{2})月(\d{1,2})日")
# Header labels as a small photo leaves them: a glyph lost or misread (发代号, 发票号号, 校码).
_CODE_LABEL = r"发票代码|发.?代.?码?"
_NUMBER_LABEL = r"发票号码|发票号|票号码"
_CHECK_LABEL = r"校验码|校.?码|验码"
# Dates print month and day with two digits each; a small photo may read 年 and 日 as digits
# (2024605月170), leaving 月 to mark the month: such a date is a reading held in doubt.
_DATE_MARKS_MISREAD = re.compile(r"(20\d{2}).(\d{2})月(\d{2})")
_MARKS_MISREAD = 0.7
_YEAR_CONFLICT = 0.6  # a date whose year the invoice's code or number contradicts: asked
_DATE_LABEL = r"开票日期|开.日期|票日期"
_NAME_STOP = re.compile(r"识别号|信用代码|地址|电话|开户|账号|银行|支行|名称$|^名称|备注|密码|项目|合计|方信息")
# *kind*name: kinds are the tax classification's short names, one character (*酒*) to a dozen.
_ITEM_EXACT = re.compile(r"^\*([\u4e00-\u9fff]{1,12})\*(\S+)$")
_ITEM_LOOSE = re.compile(
    r"^[^\u4e00-\u9fffA-Za-z0-9]?([\u4e00-\u9fff]{1,12})[^\u4e00-\u9fffA-Za-z0-9]([\u4e00-\u9fffA-Za-z0-9]\S*)$")
# Labels above and inside the item table, never item names: the party block and the column titles.
_TABLE_LABEL = re.compile(r"开户|账号|地址|电话|识别号|信用代码|名称|规格|单价|数量|金额|税率|税额")
_ITEM_HEADER = "货物或应税劳务、服务名称"
_ITEM_COLUMN = 0.12  # item names start at the table's left edge: within this share of the page width
_ITEM_BARE = re.compile(r"^[\u4e00-\u9fff]{2}[\u4e00-\u9fffA-Za-z0-9]{2,}$")
# An organisation's name ends in what it is, sometimes followed by a bracketed note on its form
# (合伙企业（有限合伙）, 事务所（特殊普通合伙）).
_COMPANY_END = re.compile(
    r"(公司|厂|店|中心|集团|企业|事务所|医院|学校|大学|学院|研究院|研究所|合作社|部|局|委员会|协会)(\([^()]*\))?$")


def _is_digital(invoice_type: str | None) -> bool:
    """全电发票 put buyer and seller side by side instead of one above the other."""
    return bool(invoice_type and invoice_type.startswith("电子发票"))


def _title(page: Page) -> tuple[TextLine, str] | None:
    """The title and the invoice kind it names: the tallest line naming a kind of 发票 (not a seal,
    a label or a note)."""
    titles = [ln for ln in page.find(r"发票") if not re.search(r"专用章|监制|发票代码|发票号码|开票", compact(ln.text))]
    for ln in sorted(titles, key=lambda ln: -ln.height):
        text = compact(ln.text)
        for rx, name in _TYPE_RULES:
            if re.search(rx, text):
                return ln, name
    return None


def extract_type(page: Page) -> Reading | None:
    """The invoice kind from the title."""
    found = _title(page)
    return Reading(found[1], found[0].score) if found else None


def _labelled_values(page: Page, label: str, value_rx: str) -> list[Reading]:
    """Values matching value_rx on the label's line or just right of it."""
    out: list[Reading] = []
    for ln in page.find(label):
        rest = after_label(ln.text, label)
        m = re.search(value_rx, rest)
        if m:
            out.append(Reading(m.group(0), ln.score))
            continue
        for nb in page.right_of(ln, max_gap=page.width * 0.15):
            m = re.search(value_rx, compact(nb.text))
            if m:
                out.append(Reading(m.group(0), min(ln.score, nb.score) if ln.score < 0.5 else nb.score))
                break
    return out


def _digits_only(rx: str) -> str:
    return rf"(?<!\d){rx}(?!\d)"


def _after_label(page: Page, ln: TextLine, label: str) -> bool:
    """Some part of a label stands left of the line on its row (the label itself may be half read)."""
    return any(re.search(label, compact(nb.text)) for nb in page.same_row(ln) if nb.cx < ln.cx)


def extract_codes(page: Page) -> dict[str, list[Reading]]:
    """Readings of invoice code, number and check code, from labels and the repeated header copies."""
    code = _labelled_values(page, _CODE_LABEL, _digits_only(r"\d{10}(?:\d{2})?"))
    number = _labelled_values(page, _NUMBER_LABEL, _digits_only(r"(?:\d{20}|\d{8})"))
    for ln in page.find(r"^N[oO0º°]\.?\d{8}$|^N[oO0º°]\.?$"):
        m = re.search(r"\d{8}", compact(ln.text))
        if m:
            number.append(Reading(m.group(0), ln.score))
        else:
            for nb in page.right_of(ln, max_gap=page.width * 0.1):
                m = re.fullmatch(r"\d{8}", compact(nb.text))
                if m:
                    number.append(Reading(m.group(0), nb.score))
                    break
    title = _title(page)
    if not number:  # label misread: the number alone in the header, 20 digits on 全电, 8 on paper invoices
        paper = title is not None and not _is_digital(title[1])
        # On paper, at the end of a line of the header's right block, after what is left of its label.
        shape = re.compile(r"(?<!\d)\d{8}$" if paper else r"^\d{20}$")
        number = [Reading(found.group(0), ln.score * 0.8) for ln in page.lines
                  if ln.cy < page.height * 0.25 and (found := shape.search(compact(ln.text)))
                  and (not paper or ln.cx > page.width * 0.5) and not _after_label(page, ln, _CHECK_LABEL)]
    # Paper invoices print the code again alone in the top-left corner, level with the title or above
    # it; the 12-digit 机器编号 sits below the title, after a label too small to survive some photos.
    top = title[0].cy + title[0].height / 2 if title is not None else page.height * 0.2
    for ln in page.lines:
        corner = ln.cy < min(top, page.height * 0.2) and ln.cx < page.width * 0.3
        if corner and re.fullmatch(r"\d{10}|\d{12}", compact(ln.text)) and not _after_label(page, ln, r"机器|编号"):  # 机器编号
            code.append(Reading(compact(ln.text), ln.score))
    check = []
    for ln in page.find(_CHECK_LABEL):
        digits = re.sub(r"\D", "", after_label(ln.text, _CHECK_LABEL))
        if len(digits) < 20:
            digits += "".join(re.sub(r"\D", "", nb.text) for nb in page.right_of(ln, max_gap=page.width * 0.1))
        if len(digits) == 20:
            check.append(Reading(digits, ln.score))
    return {"invoice_code": code, "invoice_number": number, "check_code": check}


def _parse_date(text: str) -> tuple[date, float] | None:
    """A date in a line, with how much of its printed shape was read (1.0 all of it)."""
    s = compact(text)
    m = _DATE.search(s)
    shape = 1.0
    if not m:
        m, shape = _DATE_MARKS_MISREAD.search(s), _MARKS_MISREAD
    if not m:
        return None
    year, month, day = (g for g in m.groups() if g is not None)
    try:
        return date(int(year), int(month), int(day)), shape
    except ValueError:
        return None


def extract_date(page: Page) -> list[Reading]:
    """Issue-date readings: next to 开票日期 first, else any sane date on the page.

    A date read with its marks misread counts once however many passes read it so: repeating a
    guess about the same glyphs is no second reading, and it never becomes certain by itself.
    """
    out: list[Reading] = []
    guessed: dict[str, float] = {}

    def add(found: tuple[date, float] | None, score: float) -> bool:
        if not found or not is_sane_issue_date(found[0]):
            return False
        value, shape = found[0].isoformat(), found[1]
        if shape < 1.0:
            guessed[value] = max(guessed.get(value, 0.0), score * shape)
        else:
            out.append(Reading(value, score))
        return True

    for ln in page.find(_DATE_LABEL):
        for cand in [ln, *page.right_of(ln, max_gap=page.width * 0.1)]:
            if add(_parse_date(cand.text), cand.score):
                break
    if not out and not guessed:
        for ln in page.lines:
            add(_parse_date(ln.text), ln.score * 0.8)
    return out + [Reading(value, score) for value, score in guessed.items()]


# Lines of numbers that are no tax id: bank, account and phone lines, the invoice's own numbers.
_OTHER_NUMBERS = re.compile(r"银行|账号|电话|开户|支行|发票号|号码|发票代码|开票日期|校验码|机器编号")


def _in_other_numbers_line(page: Page, ln: TextLine) -> bool:
    """The line is (a re-read part of) a line of other numbers: 18 letters or digits there are part
    of an account or of the invoice's number, even where the bank's name was misread (城市商业拨行…支行)."""
    return any(_OTHER_NUMBERS.search(compact(other.text))
               and other.box[0] < ln.box[2] and ln.box[0] < other.box[2] for other in page.same_row(ln))


def _tax_id_lines(page: Page) -> list[tuple[TextLine, str]]:
    found: list[tuple[TextLine, str]] = []
    for ln in page.lines:
        if _in_other_numbers_line(page, ln):
            continue
        for code in uscc_readings(after_label(ln.text, r"识别号|信用代码")):
            found.append((ln, code))
    return found


def _split_sides(page: Page, items: list[tuple[TextLine, str]], digital: bool) -> tuple[list, list]:
    """Buyer and seller tax-id readings: left/right on 全电发票, above/below 价税合计 on paper layouts.

    Two codes on one row above the totals also mean the side-by-side layout, when the title was unread.
    """
    totals = page.find(r"价税合计|大写")
    split = totals[0].cy if totals else page.height * 0.6
    h = page.line_height
    upper = sorted((it for it in items if it[0].cy < split), key=lambda it: it[0].cy)
    side_by_side = any(abs(a.cy - b.cy) < 1.5 * h and abs(a.cx - b.cx) > 0.3 * page.width
                       for (a, _), (b, _) in pairwise(upper))
    if digital or side_by_side:
        mid = page.width * 0.5
        return [it for it in items if it[0].cx < mid], [it for it in items if it[0].cx >= mid]
    return [it for it in items if it[0].cy < split], [it for it in items if it[0].cy >= split]


_LEGAL_FORMS = ("股份有限公司", "有限责任公司", "有限公司")


def fix_legal_form(name: str) -> str:
    """Repair a one-character misread in the legal-form suffix (有限资任公司 -> 有限责任公司).

    The suffixes are fixed terms of company law, so a tail one glyph away from one of them is
    a misreading, unlike the trade name before it, which nothing can check.
    """
    for form in _LEGAL_FORMS:
        if name.endswith(form):
            return name
    for form in _LEGAL_FORMS:
        tail = name[-len(form):]
        if len(tail) == len(form) and sum(a != b for a, b in zip(tail, form, strict=True)) == 1:
            return name[: -len(form)] + form
    return name


def _runs_across(ln: TextLine) -> bool:
    """Names and items run across; the party labels beside them (购买方信息, 销 售 方) run down, and
    stay labels however misread."""
    return ln.height < ln.box[2] - ln.box[0]


def _joined_pieces(page: Page, block: list[TextLine]) -> list[tuple[TextLine, str]]:
    """Each line of a block with the pieces OCR split off it to its right (a name is often cut at a
    bracket: 某某服务（天津） | （集团）股份有限公司), the pieces themselves not standing alone.

    A piece is text on the line's row that starts near where the line ends: less than a glyph after
    it (a label stands further off its value: a misread 名校 is no part of the name), or up to one
    glyph before it, when both boxes hold the glyph at the cut (某某（天津） | ）（中国）), read once.
    A second reading of the same words starts where they start and is no piece of them.
    """
    h = page.line_height

    def continues(prev: TextLine, nb: TextLine) -> bool:
        return (abs(nb.cy - prev.cy) <= 0.5 * h and -h <= nb.box[0] - prev.box[2] <= 0.8 * h
                and nb.box[2] - prev.box[2] > 2 * h)

    pieces: dict[int, list[TextLine]] = {}
    for ln in block:
        chain = [ln]
        for nb in page.right_of(ln, max_gap=h):
            if nb in block and continues(chain[-1], nb):
                chain.append(nb)
        pieces[id(ln)] = chain
    consumed = {id(nb) for chain in pieces.values() for nb in chain[1:]}
    return [(ln, _glued(pieces[id(ln)])) for ln in block if id(ln) not in consumed]


def _glued(chain: list[TextLine]) -> str:
    """The texts of a chain of pieces, a glyph both sides of an overlapping cut read once."""
    text = compact(chain[0].text)
    for prev, nb in pairwise(chain):
        piece = compact(nb.text)
        if nb.box[0] < prev.box[2] and piece[:1] and text.endswith(piece[:1]):
            piece = piece[1:]
        text += piece
    return text


def _full_width_brackets(name: str) -> str:
    """Chinese names are registered with full-width brackets: （北京）, not the (北京) NFKC leaves."""
    return name.replace("(", "（").replace(")", "）")


def _name_near(page: Page, anchor: TextLine, digital: bool) -> Reading | None:
    """The party name: the nearest company-like line above the tax id in the same block."""
    h = page.line_height
    if digital:
        lo, hi = (0.0, page.width * 0.5) if anchor.cx < page.width * 0.5 else (page.width * 0.5, page.width)
    else:
        lo, hi = 0.0, page.width * 0.62
    block = [ln for ln in page.lines if ln is not anchor and lo <= ln.cx <= hi and _runs_across(ln)
             and anchor.cy - 5 * h <= ln.cy < anchor.cy - 0.3 * h]
    found: list[tuple[float, Reading]] = []
    for ln, text in _joined_pieces(page, block):
        text = after_label(text, r"名称|称")
        text = re.sub(r"^[^:：]{0,4}[:：]", "", text)  # a label too garbled to match, up to its colon
        text = re.sub(r"^[^\u4e00-\u9fff(（A-Za-z0-9]+", "", text)  # debris, not names that open in Latin
        cjk = len(re.findall(r"[\u4e00-\u9fff]", text))
        if cjk < 2 or cjk + len(re.findall(r"[A-Za-z0-9]", text)) < 4 or _NAME_STOP.search(text) \
                or re.search(r"\d{4,}", text):
            continue  # too short (K12实业店 is not), a label, or an address/account line (long digit runs)
        dist = anchor.cy - ln.cy
        if not _COMPANY_END.search(text):
            dist += 3 * h
        found.append((dist, Reading(_full_width_brackets(fix_legal_form(text)), ln.score)))
    if not found:
        return None
    # Several readings of the same line (a second pass over the page) vote; nearest line wins.
    nearest = min(d for d, _ in found)
    return vote(r for d, r in found if d - nearest < 0.6 * h)


def extract_parties(page: Page, invoice_type: str | None) -> dict[str, Reading | None]:
    """Buyer and seller names and tax ids."""
    digital = _is_digital(invoice_type)
    buyer, seller = _split_sides(page, _tax_id_lines(page), digital)
    out: dict[str, Reading | None] = {}
    for side, items in (("buyer", buyer), ("seller", seller)):
        chosen = choose_uscc(Reading(code, ln.score) for ln, code in items)
        out[f"{side}_tax_id"] = chosen
        anchor = next((ln for ln, code in items if chosen and code == chosen.value), items[0][0] if items else None)
        out[f"{side}_name"] = _name_near(page, anchor, digital) if anchor else None
    return out


def _money_in(text: str) -> list[Decimal]:
    """Amounts with two decimals in a line; absurdly large ones are account numbers, not money."""
    out: list[Decimal] = []
    for m in _MONEY.finditer(compact(text)):
        try:
            value = Decimal(m.group(1).replace(",", "") + "." + m.group(2))
        except InvalidOperation:
            continue
        if value < _MAX_AMOUNT:
            out.append(value)
    return out


def _is_yen_marked(text: str) -> bool:
    """A sum printed with ¥ (the 合计 and 价税合计 rows), however OCR read the sign."""
    return "¥" in compact(text) or bool(_YEN_MISREAD.search(compact(text)))


def _capital_line(page: Page) -> TextLine | None:
    """The 价税合计（大写） line: the one with the most capital-digit characters (at least three)."""
    best: tuple[int, TextLine] | None = None
    for ln in page.lines:
        n = sum(ch in CAPITAL_CHARS for ch in compact(ln.text))
        if n >= 3 and (best is None or n > best[0]):
            best = (n, ln)
    return best[1] if best else None


def _capital_reading(page: Page) -> str | None:
    """The 价税合计（大写） text, without its label."""
    line = _capital_line(page)
    if line is None:
        return None
    return re.sub(rf"^[^{CAPITAL_CHARS}]+", "", compact(line.text).split(")")[-1])


def extract_money(page: Page, qr_amount: Decimal | None) -> tuple[dict[str, Decimal | None], dict[str, float], str | None]:
    """Amount, tax and total chosen together; returns values, confidences and the capital text read."""
    totals: list[MoneyReading] = []
    capitals = _capital_line(page)  # the 价税合计 row, by its capitals when its labels are lost
    for ln in [*page.find(r"小写|价税合计"), *([capitals] if capitals else [])]:
        for cand in page.same_row(ln, tolerance=_SUM_ROW):
            for v in _money_in(cand.text):
                totals.append(MoneyReading(v, cand.score))
    amounts: list[MoneyReading] = []
    taxes: list[MoneyReading] = []
    for ln in page.find(r"^合计|[^税]合计$|^合$"):
        row = [v for cand in page.same_row(ln, tolerance=_SUM_ROW) for v in ((val, cand) for val in _money_in(cand.text))]
        row.sort(key=lambda vc: vc[1].cx)
        if len(row) >= 2:
            amounts.append(MoneyReading(row[0][0], row[0][1].score))
            taxes.append(MoneyReading(row[-1][0], row[-1][1].score))
        elif len(row) == 1:
            v, c = row[0]
            (taxes if c.cx > page.width * 0.8 else amounts).append(MoneyReading(v, c.score))
    # Yen-marked sums anywhere else are weaker candidates (the 合计 label may be missed).
    for ln in page.lines:
        if _is_yen_marked(ln.text):
            for v in _money_in(ln.text):
                r = MoneyReading(v, ln.score * 0.5)
                amounts.append(r)
                taxes.append(r)
                totals.append(r)
    item_amounts, item_taxes = _item_sums(page)
    amounts = _confirmed(amounts, item_amounts)
    taxes = _confirmed(taxes, item_taxes)
    if qr_amount is not None:
        amounts.append(MoneyReading(qr_amount, 1.5))
    cn_text = _capital_reading(page)
    choice = choose_money(_dedupe(amounts), _dedupe(taxes), _dedupe(totals), cn_text)
    values = {"amount": choice.amount, "tax": choice.tax, "total": choice.total}
    return values, dict(choice.confidence), cn_text


def _is_table_label(text: str) -> bool:
    """A party label or the item table's header. Labels never hold an asterisk, item names do: an
    item may well name a label's word (*通信终端设备*移动电话机)."""
    return "*" not in text and bool(
        _TABLE_LABEL.search(text) or SequenceMatcher(None, text, _ITEM_HEADER).ratio() >= 0.5)


def _item_name(text: str) -> tuple[str, float] | None:
    """An item name as printed, ``*kind*name``, and how much of that shape OCR kept (1.0 all of it).

    OCR drops the leading asterisk or reads the middle one as a dot; a name whose two Chinese parts
    are still separated by some mark is put back in shape, at a lower confidence. When both marks
    were lost (家具办公椅) nothing tells kind from name, so the text is kept as read, less sure still.
    """
    s = compact(text)
    exact = _ITEM_EXACT.match(s)
    if exact:
        return f"*{exact.group(1)}*{exact.group(2)}", 1.0
    if _is_table_label(s) or re.search(r"\d{8,}", s):
        return None  # a label, or a bank line with its account number (its bank's name misread)
    if sum(ch in CAPITAL_CHARS for ch in s) >= 3:
        return None  # the total in capitals, when the 价税合计 label was missed
    loose = _ITEM_LOOSE.match(s)
    if loose:
        return f"*{loose.group(1)}*{loose.group(2)}", 0.8
    return (s, 0.5) if _ITEM_BARE.match(s) else None


def _item_area(page: Page) -> tuple[float, float]:
    """Top and bottom of the item table: under its header (or, when that is misread, the party block
    above it: its labels or its tax id) and over the 合计 row, found by its label or, when a photo garbled that (合业, 价税会计),
    by the yen-marked sums or the capitals below the items."""
    bottoms = [ln.cy for ln in page.find(r"^合计|[^税]合计$|^合$|价税合计")]
    bottoms += [ln.cy for ln in page.lines if _is_yen_marked(ln.text) and _money_in(ln.text)]
    capitals = _capital_line(page)
    bottom = min([*bottoms, *([capitals.cy] if capitals else []), page.height])
    # The first tax id is the buyer's, above the table; a later one may be the seal's, over the 合计 row.
    first_id = min((ln.cy for ln, _ in _tax_id_lines(page)), default=page.height)
    tops = [cy for cy in (*(ln.cy for ln in page.lines if _is_table_label(compact(ln.text))), first_id) if cy < bottom]
    return (max(tops) if tops else 0.0), bottom


def extract_items(page: Page, *, text_layer: bool = False) -> tuple[list[str], float]:
    """Item names from the first column of the item table, top to bottom, and the least confidence.

    On a text layer, a line under an item name, alone on its row and in the same column, is the
    rest of a name wrapped onto a second line. OCR reads an item row's first cell alone, so there a
    new, misread name would look the same, and every line stands for itself.
    """
    top, bottom = _item_area(page)
    h = page.line_height
    items: list[tuple[TextLine, str, float]] = []
    column = [ln for ln in page.lines
              if top < ln.cy < bottom and ln.box[0] < _ITEM_COLUMN * page.width and _runs_across(ln)]
    for ln in sorted(column, key=lambda ln: ln.cy):
        if text_layer and items and not _ITEM_EXACT.match(compact(ln.text)):
            prev, name, score = items[-1]
            below = abs(ln.box[0] - prev.box[0]) < h and 0 < ln.cy - prev.cy < 1.8 * h
            if below and len(page.same_row(ln)) == 1:
                items[-1] = (ln, name + compact(ln.text), min(score, ln.score))
                continue
        found = _item_name(ln.text)
        if found:
            items.append((ln, found[0], ln.score * found[1]))
    if not items:
        return [], 0.0
    return [name for _, name, _ in items], min(score for _, _, score in items)


def _item_sums(page: Page) -> tuple[MoneyReading | None, MoneyReading | None]:
    """The item rows' amounts and taxes added up: a second reading of the 合计 row's two sums.

    Item sums stand in the 合计 row's columns: a row's amount and tax end where the 合计 row's
    yen-marked amount and tax end, so a unit price read beside an amount misread without its
    point is never taken for the amount. Without that row, of each row's sums the last is the tax
    and the one before it the amount. A row without both leaves its sum unknown.
    """
    top, bottom = _item_area(page)
    h = page.line_height
    totals_row = sorted((ln for ln in page.lines if abs(ln.cy - bottom) <= _SUM_ROW * h
                         and _is_yen_marked(ln.text) and _money_in(ln.text)), key=lambda ln: ln.cx)
    columns = (totals_row[0].box[2], totals_row[-1].box[2]) if len(totals_row) >= 2 else None
    bottom -= _SUM_ROW * h  # the 合计 row's own sums stand up to a text height off it
    rows: list[list[TextLine]] = []
    cells = (ln for ln in page.lines if top < ln.cy < bottom and not _is_yen_marked(ln.text))
    for ln in sorted(cells, key=lambda ln: ln.cy):
        if rows and ln in page.same_row(rows[-1][0]):
            rows[-1].append(ln)
        else:
            rows.append([ln])
    found: list[tuple[MoneyReading, MoneyReading]] = []
    for row in rows:
        sums = [(v, ln.score, ln.box[2]) for ln in sorted(row, key=lambda ln: ln.cx) for v in _money_in(ln.text)]
        if columns:
            sums = [next((s for s in sums if abs(s[2] - edge) <= 1.5 * h), None) for edge in columns]
            pair = sums if all(sums) else []
        else:
            pair = sums[-2:] if len(sums) >= 2 else []
        if pair:
            found.append((MoneyReading(pair[0][0], pair[0][1]), MoneyReading(pair[1][0], pair[1][1])))
        elif any(sums) or any(_item_name(ln.text) for ln in row):
            return None, None  # an item row whose sums were not both read
    if not found:
        return None, None
    return tuple(  # type: ignore[return-value]
        MoneyReading(sum((r.value for r in col), Decimal(0)), min(r.score for r in col))
        for col in zip(*found, strict=True))


def _confirmed(readings: list[MoneyReading], other: MoneyReading | None) -> list[MoneyReading]:
    """Readings with an independent one added: where both agree, they are wrong only if both are."""
    if other is None:
        return readings
    if not any(r.value == other.value for r in readings):
        return [*readings, other]
    return [MoneyReading(r.value, 1 - (1 - r.score) * (1 - other.score)) if r.value == other.value else r
            for r in readings]


def _dedupe(readings: list[MoneyReading]) -> list[MoneyReading]:
    best: dict[Decimal, MoneyReading] = {}
    for r in readings:
        if r.value not in best or r.score > best[r.value].score:
            best[r.value] = r
    return sorted(best.values(), key=lambda r: -r.score)[:8]


def _agree(qr_value: str | None, readings: list[Reading]) -> tuple[str | None, float]:
    """Prefer the QR value; OCR agreement makes it near certain, OCR alone is scored by its votes."""
    voted = vote(readings)
    if qr_value:
        agrees = any(r.value == qr_value for r in readings)
        return qr_value, 0.99 if agrees else 0.95
    if voted is None:
        return None, 0.0
    return voted.value, voted.score


def extract_invoice(page: Page, qr: QrData | None, source: str) -> Invoice:
    """Build the Invoice from a page of OCR lines and the decoded QR payload, if any."""
    conf: dict[str, float] = {}
    type_reading = extract_type(page)
    if qr and qr.invoice_type:
        invoice_type = qr.invoice_type
        conf["invoice_type"] = 0.99 if type_reading and type_reading.value == invoice_type else 0.95
    else:
        invoice_type = type_reading.value if type_reading else None
        conf["invoice_type"] = type_reading.score if type_reading else 0.0

    codes = extract_codes(page)
    number, conf["invoice_number"] = _agree(qr.invoice_number if qr else None, codes["invoice_number"])
    if qr:
        code, conf["invoice_code"] = _agree(qr.invoice_code, codes["invoice_code"]) if qr.invoice_code else (None, 0.95)
        check, conf["check_code"] = _agree(qr.check_code, codes["check_code"]) if qr.check_code else (None, 0.9)
    else:
        code, conf["invoice_code"] = _agree(None, codes["invoice_code"])
        check, conf["check_code"] = _agree(None, codes["check_code"])
    if number and len(number) == 20 and not qr:
        code, conf["invoice_code"] = None, conf["invoice_number"]  # 全电发票 have no separate code
    if invoice_type and "专用" in invoice_type and not qr:
        check, conf["check_code"] = None, conf["invoice_type"]  # 专用发票 print no check code

    if invoice_type is None and number and len(number) == 20:
        # Title unreadable, but only 全电发票 have 20-digit numbers; 专用 shows up in its other text.
        special = any("专用" in compact(ln.text) and "专用章" not in compact(ln.text) for ln in page.lines)
        invoice_type = "电子发票（增值税专用发票）" if special else "电子发票（普通发票）"
        conf["invoice_type"] = 0.5
    date_readings = extract_date(page)
    issue_s, conf["issue_date"] = _agree(qr.issue_date.isoformat() if qr and qr.issue_date else None, date_readings)
    if issue_s and not year_fits_series(date.fromisoformat(issue_s), code, number):
        conf["issue_date"] = min(conf["issue_date"], _YEAR_CONFLICT)
        if number and len(number) == 20:  # the number's year may be the misread one
            conf["invoice_number"] = min(conf["invoice_number"], _YEAR_CONFLICT)

    parties = extract_parties(page, invoice_type)
    money, money_conf, cn_text = extract_money(page, qr.amount if qr else None)
    conf.update(money_conf)
    if qr and qr.amount is not None and money["amount"] == qr.amount:
        conf["amount"] = max(conf["amount"], 0.97)
    total = money["total"]
    total_cn = decimal_to_cn_capital(total) if total is not None else None
    if total_cn:
        conf["total_cn"] = 0.99 if capital_matches(cn_text, total) else conf["total"] * 0.9

    fields: dict[str, object] = {
        "invoice_type": invoice_type, "invoice_code": code, "invoice_number": number,
        "issue_date": date.fromisoformat(issue_s) if issue_s else None, "check_code": check,
        "amount": money["amount"], "tax": money["tax"], "total": total, "total_cn": total_cn,
    }
    items, conf["items"] = extract_items(page, text_layer="pdf-text" in source)
    for key, reading in parties.items():
        fields[key] = reading.value if reading else None
        conf[key] = reading.score if reading else 0.0
    for key, value in fields.items():
        if value is None:
            conf[key] = conf.get(key, 0.0) if key in ("invoice_code", "check_code") else 0.0
    return Invoice(**fields, items=items, confidence={k: round(v, 3) for k, v in conf.items()}, source=source)
