"""Field extraction from OCR lines (text fixtures) and choosing between candidate readings."""

from datetime import date
from decimal import Decimal

import pytest

from ocr.candidates import MoneyReading, Reading, choose_money, choose_uscc, uscc_readings
from ocr.engines import TextLine
from ocr.extract import _item_sums, extract_invoice, extract_items, fix_legal_form
from ocr.layout import Page
from ocr.qr import parse_qr_payload
from ocr.validate import capital_matches, is_valid_uscc

H = 24.0
SELLER = "91320115K1Q52GL34C"


def line(text: str, x: float, y: float, score: float = 0.95) -> TextLine:
    width = sum(H if ord(ch) > 0x2E80 else H * 0.55 for ch in text)
    return TextLine(text, (x, y - H / 2, x + width, y + H / 2), score)


def paper_special_page() -> Page:
    """A 专用发票 as RapidOCR reads it: labels and values split, cipher lines, bank account, seal text."""
    lines = [
        line("3200241130", 120, 60), line("江苏增值税专用发票", 560, 70), line("No", 1150, 60),
        line("85256622", 1200, 60), line("发票代码：", 1100, 110), line("3200241130", 1200, 110),
        line("发票号码：", 1100, 140), line("85256622", 1200, 140), line("开票日期：", 1100, 170),
        line("2024年08月12日", 1200, 170), line("机器编号：", 100, 150), line("806045555884", 200, 150),
        line("名称：", 150, 240), line("北京市锦程供应链管理有限公司", 260, 240),
        line("纳税人识别号：", 150, 270), line("911101081U5D9H142B", 260, 270),
        line("/598321144-86>407//8/+41<1>", 1000, 270),
        line("开户行及账号：", 150, 330), line("光大银行北京支行3805932394646086123", 260, 330),
        line("*建筑服务*装饰工程", 80, 420), line("35700.50", 900, 420), line("3%", 1080, 420),
        line("1071.01", 1250, 420),
        line("合计", 300, 560), line("¥35700.50", 900, 560), line("¥1071.01", 1250, 560),
        line("价税合计（大写）", 80, 600), line("ⓧ叁万陆仟柒佰柒拾壹圆伍角壹分", 380, 600),
        line("（小写）", 980, 600), line("¥36771.51", 1080, 600),
        line("名称：", 150, 650), line("南京市优品印务有限公司", 260, 650),
        line("纳税人识别号：", 150, 680), line("91320115K1Q52GL34C", 260, 680),
        line("地址、电话：", 150, 710), line("南京市江宁区软件大道1号025-88886666", 260, 710),
        line("收款人：", 100, 800), line("王娜", 180, 800),
    ]
    return Page(tuple(lines), 1400.0, 850.0)


def test_paper_special_invoice_without_qr() -> None:
    inv = extract_invoice(paper_special_page(), None, "ocr")
    assert inv.invoice_type == "增值税专用发票"
    assert inv.invoice_code == "3200241130"
    assert inv.confidence["invoice_code"] >= 0.9  # the 机器编号 beside it is no competing reading
    assert inv.invoice_number == "85256622"
    assert inv.issue_date == date(2024, 8, 12)
    assert inv.check_code is None
    assert inv.buyer_name == "北京市锦程供应链管理有限公司"
    assert inv.buyer_tax_id == "911101081U5D9H142B"
    assert inv.seller_name == "南京市优品印务有限公司"
    assert inv.seller_tax_id == "91320115K1Q52GL34C"
    assert (inv.amount, inv.tax, inv.total) == (Decimal("35700.50"), Decimal("1071.01"), Decimal("36771.51"))
    assert inv.total_cn == "叁万陆仟柒佰柒拾壹圆伍角壹分"
    assert inv.uncertain_fields() == []
    out = inv.to_json_dict()
    assert out["amount"] == "35700.50" and out["issue_date"] == "2024-08-12" and out["check_code"] is None


def test_small_labels_lost_on_a_photo() -> None:
    """A small photo loses the right-hand labels, 机器编号's label and 日期's 年: the code is the corner
    copy level with the title (not the 12-digit number below it), and 月/日 still make a date."""
    keep = ("发票代码", "发票号码", "开票日期", "机器编号", "3200241130", "85256622", "2024年08月12日")
    lines = [ln for ln in paper_special_page().lines if not compact_in(ln.text, keep)]
    lines += [line("3200241130", 120, 60), line("806045555884", 200, 150), line("202408月12日", 1200, 170)]
    inv = extract_invoice(Page(tuple(lines), 1400.0, 850.0), None, "ocr")
    assert inv.invoice_code == "3200241130"
    assert inv.issue_date == date(2024, 8, 12) and "issue_date" in inv.uncertain_fields()  # no label vouches for it


def compact_in(text: str, parts: tuple[str, ...]) -> bool:
    return any(p in text for p in parts)


def test_misread_total_is_outvoted_by_checks() -> None:
    """The small-digit total is misread; amount + tax and the capitals agree on the true one."""
    page = paper_special_page()
    lines = [ln if ln.text != "¥36771.51" else TextLine("¥36771.91", ln.box, 0.99) for ln in page.lines]
    inv = extract_invoice(Page(tuple(lines), page.width, page.height), None, "ocr")
    assert inv.total == Decimal("36771.51")


def test_digital_invoice_sides_and_qr() -> None:
    lines = (
        line("电子发票（普通发票）", 480, 80), line("发票号码：", 950, 70), line("24312820064243311839", 1050, 70),
        line("开票日期：", 950, 110), line("2024年10月03日", 1050, 110),
        line("名称：厦门市中科文化传媒有限责任公司", 90, 240),
        line("统一社会信用代码/纳税人识别号：913502055E335P60XP", 90, 295),
        line("名称：上海市凌云供应链管理有限公司", 725, 245),
        line("统一社会信用代码/纳税人识别号：52310115R4Q645BG04", 725, 297),
        line("合计", 200, 570), line("¥50778.06", 960, 572), line("¥1523.34", 1230, 573),
        line("价税合计（大写）", 50, 610), line("ⓧ伍万贰仟叁佰零壹圆肆角", 280, 610),
        line("（小写）", 900, 613), line("¥52301.40", 985, 613),
    )
    qr = parse_qr_payload("01,32,,24312820064243311839,50778.06,20241003,,3249,")
    inv = extract_invoice(Page(lines, 1345.0, 900.0), qr, "qr+ocr")
    assert inv.invoice_type == "电子发票（普通发票）"
    assert inv.invoice_code is None
    assert inv.invoice_number == "24312820064243311839"
    assert inv.buyer_name == "厦门市中科文化传媒有限责任公司"
    assert inv.buyer_tax_id == "913502055E335P60XP"
    assert inv.seller_name == "上海市凌云供应链管理有限公司"
    assert inv.seller_tax_id == "52310115R4Q645BG04"
    assert inv.total == Decimal("52301.40")
    assert inv.confidence["invoice_number"] >= 0.99
    assert inv.source == "qr+ocr"


def test_missing_fields_are_uncertain() -> None:
    inv = extract_invoice(Page((line("增值税普通发票", 400, 50),), 1000.0, 600.0), None, "ocr")
    assert inv.invoice_type == "增值税普通发票"
    assert set(inv.uncertain_fields()) == {"invoice_number", "issue_date", "amount", "total", "seller_tax_id"}


def test_uscc_readings_ignore_cipher_and_bank_numbers() -> None:
    assert uscc_readings("/598321144-86>407//8/+41<1>") == []
    assert uscc_readings("2589562953953444778") == []
    assert uscc_readings("纳税人识别号：91320115 K1Q52GL34C") == ["91320115K1Q52GL34C"]
    assert uscc_readings("91320115K1Q52GL34C".replace("0", "O")) == ["91320115K1Q52GL34C"]


def test_choose_uscc_prefers_valid_over_confident() -> None:
    chosen = choose_uscc([Reading("52349104M2L0975M6K", 0.99), Reading("52340104M2L0975M6K", 0.90)])
    assert chosen is not None and chosen.value == "52340104M2L0975M6K"


def test_choose_uscc_repairs_one_confusion_supported_by_readings() -> None:
    truth = "91320115K1Q52GL34C"
    misread = truth[:3] + "7" + truth[4:]  # 2 -> 7
    chosen = choose_uscc([Reading(misread, 0.95), Reading(misread, 0.9)])
    assert chosen is not None
    assert chosen.value != misread
    assert chosen.score < 0.8  # a repair is never trusted without a person confirming it


def test_choose_money_derives_the_missing_amount() -> None:
    choice = choose_money([], [MoneyReading(Decimal("755.86"), 0.9)], [MoneyReading(Decimal("9154.34"), 0.9)],
                          "玖仟壹佰伍拾肆圆叁角肆分")
    assert (choice.amount, choice.tax, choice.total) == (Decimal("8398.48"), Decimal("755.86"), Decimal("9154.34"))
    assert choice.confidence["amount"] < choice.confidence["total"]


def test_legal_form_misreads_are_repaired_but_names_left_alone() -> None:
    assert fix_legal_form("武汉市华信建筑工程有限资任公司") == "武汉市华信建筑工程有限责任公司"
    assert fix_legal_form("南京市优品印务股份有限公可") == "南京市优品印务股份有限公司"
    assert fix_legal_form("长沙市同创汽车服务有限公司长沙分公司") == "长沙市同创汽车服务有限公司长沙分公司"
    assert fix_legal_form("北京市科技有限公司") == "北京市科技有限公司"
    assert fix_legal_form("王小明") == "王小明"


def test_capitals_with_a_lost_glyph_confirm_nothing() -> None:
    """陆佰拾柒 parses as 617 but is not how 617 is written: a tax misread by the same 70 must stay unsure."""
    assert not capital_matches("陆佰拾柒圆柒角伍分", Decimal("617.75"))
    assert capital_matches("ⓧ陆佰壹拾柒圆柒角伍分", Decimal("617.75"))
    choice = choose_money([MoneyReading(Decimal("608.63"), 0.95)], [MoneyReading(Decimal("9.12"), 0.95)], [],
                          "陆佰拾柒圆柒角伍分")
    assert choice.total == Decimal("617.75")
    assert all(choice.confidence[k] < 0.8 for k in ("amount", "tax", "total"))


def test_amount_and_tax_adding_up_to_the_capitals_are_confirmed() -> None:
    choice = choose_money([MoneyReading(Decimal("608.63"), 0.95)], [MoneyReading(Decimal("79.12"), 0.95)], [],
                          "陆佰捌拾柒圆柒角伍分")
    assert choice.total == Decimal("687.75")
    assert all(choice.confidence[k] >= 0.8 for k in ("amount", "tax", "total"))


def test_capitals_read_in_part_do_not_make_a_total_below_its_parts() -> None:
    """Only 肆角玖分 of 柒佰叁拾圆肆角玖分 was read: it spells 0.49, which no total of 646.45 + 84.04 can be."""
    choice = choose_money([MoneyReading(Decimal("646.45"), 1.5)], [MoneyReading(Decimal("84.04"), 0.9)], [],
                          "肆角玖分")
    assert choice.total == Decimal("730.49")
    assert choice.confidence["total"] < 0.8


def _table(*rows: tuple[str, ...], item_x: float = 80) -> Page:
    """An item table: header row, one line per entry in rows (first cell at item_x, the rest right
    of it), 合计 below; entries of one string are lines alone on their row (a wrapped name)."""
    lines = [line("开户行及账号：", 150, 330), line("货物或应税劳务、服务名称", 120, 380)]
    y = 420.0
    for row in rows:
        lines.append(line(row[0], item_x, y))
        lines += [line(cell, 700 + 150 * i, y) for i, cell in enumerate(row[1:])]
        y += 34
    lines += [line("合计", 300, y + 40), line("¥35700.50", 900, y + 40)]
    return Page(tuple(lines), 1400.0, 850.0)


def test_item_names_are_read_from_the_first_column() -> None:
    page = paper_special_page()
    assert extract_items(page) == (["*建筑服务*装饰工程"], 0.95)
    inv = extract_invoice(page, None, "ocr")
    assert inv.items == ["*建筑服务*装饰工程"] and inv.item_kinds() == ["建筑服务"]
    assert "items" not in inv.to_json_dict(with_confidence=True)
    assert inv.to_json_dict(with_items=True)["items"] == ["*建筑服务*装饰工程"]


def test_item_names_misread_marks_are_put_back_less_surely() -> None:
    items, conf = extract_items(_table(("电线电缆·网线",), ("*餐饮服务*餐费",), ("家具办公椅",)))
    assert items == ["*电线电缆*网线", "*餐饮服务*餐费", "家具办公椅"]
    assert conf == pytest.approx(0.95 * 0.5)


def test_labels_header_and_capitals_are_not_items() -> None:
    page = _table(("货物业税劳务、服务名价",), ("*住宿服务*住宿费", "2", "400.00"), ("陆佰壹拾柒圆整",))
    assert extract_items(page)[0] == ["*住宿服务*住宿费"]
    assert extract_items(_table(("*住宿服务*住宿费",), item_x=600)) == ([], 0.0)  # not the first column


def test_a_name_wrapped_in_its_cell_is_joined_on_text_layers_only() -> None:
    page = _table(("*信息技术服务*信息系统运", "1", "3000.00"), ("行维护服务",), ("*运输服务*客运服务费", "1", "80.00"))
    assert extract_items(page, text_layer=True)[0] == ["*信息技术服务*信息系统运行维护服务", "*运输服务*客运服务费"]
    assert extract_items(page)[0] == ["*信息技术服务*信息系统运", "行维护服务", "*运输服务*客运服务费"]


def _without(page: Page, *texts: str, changed: dict[str, str] | None = None) -> Page:
    """The page less the lines with those texts, and with some texts misread."""
    changed = changed or {}
    lines = [TextLine(changed.get(ln.text, ln.text), ln.box, ln.score) for ln in page.lines if ln.text not in texts]
    return Page(tuple(lines), page.width, page.height)


def test_capitals_spelled_in_full_contradict_a_look_alike_total() -> None:
    """玖仟玖佰叁拾圆伍角伍分 is 9930.55 written out whole; a total read as 9938.55 is not 'almost' it."""
    choice = choose_money([MoneyReading(Decimal("8788.10"), 0.93)], [], [MoneyReading(Decimal("9938.55"), 0.86)],
                          "玖仟玖佰叁拾圆伍角伍分")
    assert (choice.amount, choice.tax, choice.total) == (Decimal("8788.10"), Decimal("1142.45"), Decimal("9930.55"))


def test_a_total_taken_from_the_capitals_alone_is_never_certain() -> None:
    """捌万壹仟肆佰壹拾圆伍角 lost its 捌 before 圆 and still spells an amount in full (81410.50, not
    81418.50): capitals that only stand in for an unread total may win, but they check nothing."""
    choice = choose_money([MoneyReading(Decimal("72051.76"), 1.5), MoneyReading(Decimal("17251.76"), 0.9)],
                          [MoneyReading(Decimal("366.74"), 0.99), MoneyReading(Decimal("9366.74"), 0.97)],
                          [MoneyReading(Decimal("181418.50"), 0.42)], "捌万壹仟肆佰壹拾圆伍角")
    assert choice.total == Decimal("81418.50") or choice.confidence["total"] < 0.8
    alone = choose_money([MoneyReading(Decimal("8788.10"), 0.93)], [], [], "玖仟玖佰叁拾圆伍角伍分")
    assert alone.total == Decimal("9930.55") and alone.confidence["total"] < 0.8


def test_item_rows_are_a_second_reading_of_the_sums() -> None:
    """The 合计 row's tax is misread and the capitals unread: the item row's tax adds up with the rest."""
    page = _without(paper_special_page(), "价税合计（大写）", "ⓧ叁万陆仟柒佰柒拾壹圆伍角壹分",
                    changed={"¥1071.01": "¥1077.01"})
    inv = extract_invoice(page, None, "ocr")
    assert (inv.amount, inv.tax, inv.total) == (Decimal("35700.50"), Decimal("1071.01"), Decimal("36771.51"))
    assert inv.confidence["tax"] >= 0.8


def test_item_sums_are_unknown_when_a_row_lost_one() -> None:
    page = _table(("*餐饮服务*餐费", "300.00", "18.00"), ("*住宿服务*住宿费", "400.00"))
    assert _item_sums(page) == (None, None)
    page = _table(("*餐饮服务*餐费", "300.00", "18.00"), ("*住宿服务*住宿费", "400.00", "24.00"))
    assert [r.value for r in _item_sums(page)] == [Decimal("700.00"), Decimal("42.00")]


def test_sums_a_text_height_off_their_label_and_a_yen_read_as_v() -> None:
    page = Page((line("合计", 300, 560), line("¥35700.50", 900, 575), line("价税合计（大写）", 80, 620),
                 line("V36771.51", 1080, 640)), 1400.0, 850.0)
    inv = extract_invoice(page, None, "ocr")
    assert (inv.amount, inv.total) == (Decimal("35700.50"), Decimal("36771.51"))


def test_header_labels_half_lost_still_name_their_values() -> None:
    """A small photo reads 发票代码 as 发代号, 发票号码 as 发票号号 and 校验码 as 校码: the values still
    belong to them."""
    page = _without(paper_special_page(), "No", changed={"发票代码：": "发代号：", "发票号码：": "发票号号：",
                                                         "江苏增值税专用发票": "江苏增值税普通发票"})
    lines = [*page.lines, line("校码：：", 1100, 200), line("17056365193053097317", 1200, 200)]
    inv = extract_invoice(Page(tuple(lines), page.width, page.height), None, "ocr")
    assert (inv.invoice_code, inv.invoice_number) == ("3200241130", "85256622")
    assert inv.check_code == "17056365193053097317"


@pytest.mark.parametrize("read", ["85256622", "发：85256622"])
def test_paper_invoice_number_without_label_is_not_the_check_code(read: str) -> None:
    """With every number label lost (or all but a glyph of it), a paper invoice's number is the
    8 digits ending a line in the header's right block (uncertain: no label vouches for them),
    never the 20-digit check code below it."""
    page = _without(paper_special_page(), "No", "发票号码：", "85256622")
    lines = [*page.lines, line(read, 1150, 140, 0.99), line("校验码：", 1100, 200),
             line("69573784399963927775", 1200, 200, 0.99)]
    inv = extract_invoice(Page(tuple(lines), page.width, page.height), None, "ocr")
    assert inv.invoice_number == "85256622" and "invoice_number" in inv.uncertain_fields()


def test_total_beside_the_capitals_when_the_row_labels_are_lost() -> None:
    """价税合计 and 小写 unread, the total's ¥ lost, the tax under a seal, the 合计 amount misread and
    圆 in the capitals too: the number on the capitals' row is still the total."""
    page = _without(paper_special_page(), "价税合计（大写）", "（小写）", "¥1071.01", "1071.01",
                    changed={"¥36771.51": "（）36771.51", "¥35700.50": "¥38700.50",
                             "ⓧ叁万陆仟柒佰柒拾壹圆伍角壹分": "ⓧ叁万陆仟柒佰柒拾壹通伍角壹分"})
    inv = extract_invoice(page, None, "ocr")
    assert inv.total == Decimal("36771.51")


def test_valid_tax_ids_read_with_no_confidence_at_all_are_chosen_without_certainty() -> None:
    """A code line scored by a glyph the recogniser gave nothing: valid by chance, and weightless."""
    chosen = choose_uscc([Reading("91320115K1Q52GL34C", 0.0)])
    assert chosen is not None and chosen.score == 0.0


def test_date_whose_year_and_day_marks_were_read_as_digits() -> None:
    """年 read as 6 and 日 as 0 beside a half-read 开票日期: 月 and the two-digit month and day still
    make the date, held in doubt."""
    page = _without(paper_special_page(), changed={"开票日期：": "开卖日期：", "2024年08月12日": "2024608月120"})
    inv = extract_invoice(page, None, "ocr")
    assert inv.issue_date == date(2024, 8, 12) and "issue_date" in inv.uncertain_fields()
    again = Page((*page.lines, line("开卖日期：2024608月120", 1100, 171, 0.99)), page.width, page.height)  # 2nd pass
    assert "issue_date" in extract_invoice(again, None, "ocr").uncertain_fields()


def test_a_valid_code_that_other_readings_read_as_another_code_is_in_doubt() -> None:
    """A code valid by chance (a bank account less a glyph) against readings of another code that the
    check refuses: the readings disagree, so the valid one may win but is not certain. Readings of
    the same code with a glyph misread speak for it, not against it."""
    account_like = "697251027346466958"  # 6972510273464686958 less its 15th digit
    assert is_valid_uscc(account_like)
    other = "123401112Y8U540472"  # the seller's code as read, a Q read as 0
    doubted = choose_uscc([Reading(account_like, 0.95), Reading(other, 0.87), Reading(other, 0.8)])
    assert doubted is not None and doubted.value == account_like and doubted.score < 0.8
    misread = SELLER[:10] + "0" + SELLER[11:]
    kept = choose_uscc([Reading(SELLER, 0.95), Reading(misread, 0.9)])
    assert kept is not None and kept.value == SELLER and kept.score >= 0.8


@pytest.mark.parametrize(("number_year", "read_year", "certain"), [("24", "2024", True), ("24", "2021", False)])
def test_a_date_whose_year_the_invoice_number_contradicts_is_in_doubt(number_year: str, read_year: str,
                                                                        certain: bool) -> None:
    """A 全电发票's number starts with the year it was issued: a date read otherwise (a 4 read as 1)
    and the number are asked, not both taken as read."""
    lines = (
        line("电子发票（普通发票）", 480, 80), line("发票号码：", 950, 70),
        line(f"{number_year}312820064243311839", 1050, 70),
        line("开票日期：", 950, 110), line(f"{read_year}年10月03日", 1050, 110),
    )
    inv = extract_invoice(Page(lines, 1345.0, 900.0), None, "ocr")
    assert inv.issue_date is not None and inv.issue_date.year == int(read_year)
    assert ("issue_date" not in inv.uncertain_fields()) is certain
    assert ("invoice_number" not in inv.uncertain_fields()) is certain


def test_a_paper_invoice_dated_before_its_code_year_is_in_doubt() -> None:
    page = paper_special_page()  # code 3200241130: a form of 2024
    misread = tuple(line("2021年08月12日", 1200, 170) if ln.text == "2024年08月12日" else ln for ln in page.lines)
    inv = extract_invoice(Page(misread, page.width, page.height), None, "ocr")
    assert inv.issue_date == date(2021, 8, 12) and "issue_date" in inv.uncertain_fields()
    assert "issue_date" not in extract_invoice(page, None, "ocr").uncertain_fields()


def test_a_code_read_again_from_an_account_line_is_no_tax_id() -> None:
    """A re-read part of a bank line whose bank was misread (拨行) can spell a valid code by chance;
    it is an account number all the same, not the seller's tax id read unclearly above it."""
    account = line("城市商业拨行南京营业部支行4614199543678577995", 260, 740)
    page = _without(paper_special_page(), "南京市江宁区软件大道1号025-88886666", changed={SELLER: "91320115K1Q52GL3"})
    lines = (*page.lines, account, TextLine("461419543578577995", (account.box[2] - 250, *account.box[1:]), 0.5))
    inv = extract_invoice(Page(lines, page.width, page.height), None, "ocr")
    assert inv.seller_tax_id != "461419543578577995" and "seller_tax_id" in inv.uncertain_fields()


def test_a_code_read_again_from_the_invoice_number_is_no_tax_id() -> None:
    """On a 全电 invoice the 20-digit number stands right, above the seller; a re-read part of it
    that happens to pass the check is no seller's tax id."""
    page = Page((
        line("电子发票（普通发票）", 480, 80), line("发票号售：2212236232645978552", 950, 70),
        line("212236232645978552", 1080, 70), line("开票日期：2024年10月03日", 950, 110),
        line("名称：厦门市中科文化传媒有限责任公司", 90, 240),
        line("统一社会信用代码/纳税人识别号：913502055E335P60XP", 90, 295),
        line("名称：上海市凌云供应链管理有限公司", 725, 245), line("统一社会信用代码/纳税人识别号：", 725, 297),
    ), 1345.0, 900.0)
    assert extract_invoice(page, None, "ocr").seller_tax_id is None
