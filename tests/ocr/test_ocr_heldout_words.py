"""Where fields are found on invoices the development draws never show: company forms with brackets
and Latin letters, names OCR cut in two, one-character item kinds, item names holding a label's
word, labels garbled around the item table, large sums beside a unit price."""

from decimal import Decimal

from ocr.engines import TextLine
from ocr.extract import _item_sums, extract_invoice, extract_items
from ocr.layout import Page
from tests.ocr.test_ocr_extract import H, _table, _without, line, paper_special_page

BUYER = "913502055E335P60XP"
SELLER = "52310115R4Q645BG04"


def digital_page(*seller_name: TextLine, buyer_name: str = "名称：厦门市中科文化传媒有限责任公司",
                 seller_label: str = "销售方信息") -> Page:
    """A 全电 invoice: the 购买方信息 / 销售方信息 labels written top to bottom beside each party."""
    lines = (
        line("电子发票（普通发票）", 480, 80), line("发票号码：", 950, 70), line("24312820064243311839", 1050, 70),
        line("开票日期：", 950, 110), line("2024年10月03日", 1050, 110),
        TextLine("购买方信息", (40, 200, 40 + H, 200 + 5 * H), 0.99),
        line(buyer_name, 90, 240), line(f"统一社会信用代码/纳税人识别号：{BUYER}", 90, 295),
        TextLine(seller_label, (680, 200, 680 + H, 200 + 5 * H), 0.99),
        *seller_name, line(f"统一社会信用代码/纳税人识别号：{SELLER}", 725, 297),
        line("合计", 200, 570), line("¥50778.06", 960, 572), line("¥1523.34", 1230, 573),
        line("价税合计（大写）", 50, 610), line("ⓧ伍万贰仟叁佰零壹圆肆角", 280, 610),
        line("（小写）", 900, 613), line("¥52301.40", 985, 613),
    )
    return Page(lines, 1345.0, 900.0)


def test_a_name_cut_at_its_bracket_is_joined_again() -> None:
    first = line("名称：A8人力资源（天津）", 725, 245)
    rest = line("（集团）股份有限公司", first.box[2] + 0.5 * H, 245)
    inv = extract_invoice(digital_page(first, rest), None, "ocr")
    assert inv.seller_name == "A8人力资源（天津）（集团）股份有限公司"
    assert inv.buyer_name == "厦门市中科文化传媒有限责任公司"


def test_a_glyph_both_pieces_hold_at_an_overlapping_cut_is_read_once() -> None:
    first = line("名称：绿源餐饮管理（哈尔滨）", 725, 245)
    rest = line("）（中国）有限公司", first.box[2] - 0.4 * H, 245)
    assert extract_invoice(digital_page(first, rest), None, "ocr").seller_name == "绿源餐饮管理（哈尔滨）（中国）有限公司"


def test_a_second_reading_of_a_name_is_no_piece_of_it() -> None:
    name = line("名称：上海市凌云供应链管理有限公司", 725, 245)
    again = TextLine(name.text, (name.box[0] + 4, name.box[1], name.box[2] + 4, name.box[3]), 0.9)
    assert extract_invoice(digital_page(name, again), None, "ocr").seller_name == "上海市凌云供应链管理有限公司"


def test_names_opening_in_latin_letters_or_digits_keep_them() -> None:
    page = digital_page(line("名称：K12教育科技（北京）有限公司", 725, 245), buyer_name="名称：3D打印实业有限公司")
    inv = extract_invoice(page, None, "ocr")
    assert (inv.buyer_name, inv.seller_name) == ("3D打印实业有限公司", "K12教育科技（北京）有限公司")


def test_a_form_in_brackets_ends_a_name_and_the_party_label_is_none() -> None:
    """合伙企业（有限合伙） and 事务所（特殊普通合伙） end names as 公司 does; the tall 销售方信息 label
    beside them is no name."""
    for name in ("昆明市云帆会计师事务所（特殊普通合伙）", "蓝海股权投资合伙企业（有限合伙）"):
        inv = extract_invoice(digital_page(line(f"名称：{name}", 725, 245)), None, "ocr")
        assert inv.seller_name == name


def test_item_kinds_of_one_character_and_names_holding_a_label_word() -> None:
    """*酒*白酒 is a whole item; *通信终端设备*移动电话机 names 电话 and is still an item, not the
    address label the table starts under."""
    page = _table(("*酒*白酒", "2", "300.00"), ("*通信终端设备*移动电话机", "1", "2999.00"),
                  ("*照明装置*LED灯管", "4", "96.00"))
    assert extract_items(page)[0] == ["*酒*白酒", "*通信终端设备*移动电话机", "*照明装置*LED灯管"]


def test_a_kind_mark_misread_before_latin_letters_is_put_back() -> None:
    assert extract_items(_table(("照明装置·LED灯管", "4", "96.00"), ("汽油.92号车用汽油", "40", "300.00")))[0] == [
        "*照明装置*LED灯管", "*汽油*92号车用汽油"]


def test_a_party_label_running_down_is_no_name_however_misread() -> None:
    """The name's own form misread (合伙仝业) leaves nothing to tell a name by but the direction the
    text runs: the misread label 销售方作息 runs down beside it."""
    name = line("名称：瑞丰跨境贸易合伙仝业（有限合伙）", 725, 245)
    inv = extract_invoice(digital_page(name, seller_label="销售方作息"), None, "ocr")
    assert inv.seller_name == "瑞丰跨境贸易合伙仝业（有限合伙）"


def test_the_item_table_is_bounded_when_its_labels_are_garbled() -> None:
    """A photo garbled every label around the items (光称, 做用代码, 合业, 价税会计) and the header row
    was not read: the party's tax id bounds the table above, the yen-marked sums and the capitals
    below, so the footer's 收款人：李玉 and the 购买方 label running down are no items."""
    lines = (
        TextLine("寿关方材仓", (74, 236, 120, 371), 0.54), line("光称：青岛联拓服饰研究院有限公司", 145, 270),
        line(f"优一批会做用代码税人职别号：{BUYER}", 132, 333),
        line("*酒*白酒", 80, 440), line("422.48", 1118, 440), line("54.92", 1452, 440),
        line("合业", 215, 646), line("Y422.48", 1106, 648), line("￥54.92", 1446, 652),
        line("价税会计（大写）", 62, 690), line("肆佰柒拾柒圆肆角", 305, 690), line("￥477.40", 1135, 693),
        line("收款人：李玉", 82, 912), line("开票人：程英磊", 755, 926),
    )
    assert extract_items(Page(lines, 1600.0, 1017.0))[0] == ["*酒*白酒"]


def test_a_bank_line_with_its_label_lost_is_no_item() -> None:
    page = _table(("户线厂发银行特和池特高新支行5542897735034843",), ("*化学试剂*无水乙醇", "2", "24.00"))
    assert extract_items(page)[0] == ["*化学试剂*无水乙醇"]


def test_a_short_name_with_latin_letters_is_a_name() -> None:
    inv = extract_invoice(digital_page(line("名称：K12实业店", 725, 245)), None, "ocr")
    assert inv.seller_name == "K12实业店"


def test_a_misread_label_before_a_name_is_no_piece_of_it() -> None:
    """名称 misread as 名校 stands a label's distance off the name, farther than a cut's."""
    label = line("名校", 110, 650)
    page = _without(paper_special_page(), "名称：")
    lines = [ln for ln in page.lines if ln.text != "南京市优品印务有限公司"]
    lines += [label, line("鑫集成电路设计（呼和浩特）有限公司", label.box[2] + 1.3 * H, 650)]
    inv = extract_invoice(Page(tuple(lines), page.width, page.height), None, "ocr")
    assert inv.seller_name == "鑫集成电路设计（呼和浩特）有限公司"


def test_a_unit_price_is_never_an_items_amount() -> None:
    """The amount lost its point (3570050) and the unit price beside it was read: the price does not
    stand in the 合计 row's amount column, so the row's sums are unknown, not 17850.25."""
    page = _without(paper_special_page(), changed={"35700.50": "3570050"})
    page = Page((*page.lines, line("17850.25", 700, 420)), page.width, page.height)
    assert _item_sums(page) == (None, None)
    assert extract_invoice(page, None, "ocr").amount == Decimal("35700.50")


def test_the_seals_tax_id_over_the_totals_does_not_end_the_table() -> None:
    page = _table(("*住宿服务*住宿费", "1", "926.23"))
    buyer = line(f"纳税人识别号：{BUYER}", 150, 300)
    seal = line("913702123DHET19X1A", 1200, 480)  # the seller's seal, stamped over the 合计 row
    assert extract_items(Page((*page.lines, buyer, seal), page.width, page.height))[0] == ["*住宿服务*住宿费"]
