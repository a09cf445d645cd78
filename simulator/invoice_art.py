"""Sample VAT invoices (PNG photos-to-be and text-layer PDFs) for tests and the demo.

The layout follows the printed 增值税专用/普通发票 and the 全电 电子发票: title, QR code, code/number/
date block, buyer, items, totals in digits and capitals, seller. Companies are invented; tax ids are
valid unified social credit codes so the reader's checks can be exercised end to end.
"""

from __future__ import annotations

import io
import random
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

import segno
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

from common.cn_money import decimal_to_cn_capital
from ocr.validate import USCC_ALPHABET, org_code_check_char, uscc_check_char

FONT_PATH = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
_SC_INDEX = 2  # Noto Sans CJK SC inside the collection

TYPES = {
    "增值税专用发票": "01",
    "增值税普通发票": "04",
    "增值税电子普通发票": "10",
    "电子发票（增值税专用发票）": "31",
    "电子发票（普通发票）": "32",
}
_CITIES = ("北京市", "上海市", "深圳市", "南京市", "杭州市", "成都市", "武汉市", "西安市", "青岛市")
_WORDS = ("华信", "远航", "晨曦", "嘉禾", "万邦", "恒信", "卓越", "正阳", "同创", "青松", "明远")
_TRADES = ("网络科技", "物流", "广告", "酒店管理", "建筑工程", "数据服务", "文化传媒", "新能源")
_SUFFIX = ("有限公司", "股份有限公司", "有限责任公司")
_ITEMS = ("*信息技术服务*软件维护服务", "*办公用品*复印纸", "*餐饮服务*餐饮服务", "*运输服务*货物运输服务")
_RATES = (Decimal("0.01"), Decimal("0.03"), Decimal("0.06"), Decimal("0.09"), Decimal("0.13"))
_CENT = Decimal("0.01")


def make_uscc(rng: random.Random) -> str:
    """A random 18-character unified social credit code built as GB 32100 builds one (both checks right)."""
    head = rng.choice(("91", "92", "12", "52", "93"))
    region = f"{rng.randint(11, 65)}{rng.randint(0, 9999):04d}"
    drawn = "".join(rng.choice(USCC_ALPHABET) for _ in range(9))  # nine draws, as codes have always been drawn
    body = drawn[:8] + org_code_check_char(drawn[:8])
    first17 = head + region + body
    check = uscc_check_char(first17)
    if check is None:
        raise ValueError(first17)
    return first17 + check


def _company(rng: random.Random) -> str:
    return rng.choice(_CITIES) + rng.choice(_WORDS) + rng.choice(_TRADES) + rng.choice(_SUFFIX)


def sample_fields(seed: int) -> dict[str, Any]:
    """A random, internally consistent invoice field set (ground-truth names and string formats)."""
    rng = random.Random(seed)
    invoice_type = rng.choice(tuple(TYPES))
    digital = invoice_type.startswith("电子发票")
    special = "专用" in invoice_type
    amount = Decimal(rng.randint(1_000, 12_000_000)) / 100
    tax = (amount * rng.choice(_RATES)).quantize(_CENT, rounding=ROUND_HALF_UP)
    total = amount + tax
    issue = date(2023, 1, 1) + timedelta(days=rng.randint(0, 900))
    year = f"{issue.year % 100:02d}"
    if digital:
        code, number = None, year + "".join(str(rng.randint(0, 9)) for _ in range(18))
    elif special:
        code, number = f"{rng.randint(11, 65)}00{year}{rng.randint(1, 9)}1{rng.randint(1, 9)}0", f"{rng.randint(0, 99999999):08d}"
    else:
        code, number = f"0{rng.randint(11, 65)}00{year}{rng.randint(10000, 99999)}", f"{rng.randint(0, 99999999):08d}"
    check = None if digital or special else "".join(str(rng.randint(0, 9)) for _ in range(20))
    return {
        "invoice_type": invoice_type, "invoice_code": code, "invoice_number": number,
        "issue_date": issue.isoformat(), "check_code": check,
        "buyer_name": _company(rng), "buyer_tax_id": make_uscc(rng),
        "seller_name": _company(rng), "seller_tax_id": make_uscc(rng),
        "amount": f"{amount:.2f}", "tax": f"{tax:.2f}", "total": f"{total:.2f}",
        "total_cn": decimal_to_cn_capital(total),
    }


def qr_payload(fields: dict[str, Any]) -> str:
    """The payload printed in the invoice QR code."""
    return ",".join([
        "01", TYPES.get(fields["invoice_type"], "04"), fields.get("invoice_code") or "", fields["invoice_number"],
        fields["amount"], fields["issue_date"].replace("-", ""), fields.get("check_code") or "", "A1B2", "",
    ])


def printed_items(fields: dict[str, Any]) -> list[str]:
    """The item names the art prints in the 项目名称 column (one per invoice, chosen by its number)."""
    return [_ITEMS[int(fields["invoice_number"][-2:]) % len(_ITEMS)]]


def _date_cn(iso: str) -> str:
    y, m, d = iso.split("-")
    return f"{y}年{m}月{d}日"


def _texts(fields: dict[str, Any]) -> list[tuple[float, float, float, str]]:
    """(x, y, size, text) in a 1000 x 620 unit page, shared by the PNG and PDF renderers."""
    digital = fields["invoice_type"].startswith("电子发票")
    amount, tax = Decimal(fields["amount"]), Decimal(fields["tax"])
    rate = f"{(tax / amount * 100).quantize(Decimal(1)) if amount else 0}%"
    [item] = printed_items(fields)
    t: list[tuple[float, float, float, str]] = [(330, 40, 26, fields["invoice_type"])]
    right = [("发票号码：", fields["invoice_number"]), ("开票日期：", _date_cn(fields["issue_date"]))]
    if fields.get("invoice_code"):
        right.insert(0, ("发票代码：", fields["invoice_code"]))
    if fields.get("check_code"):
        cc = fields["check_code"]
        right.append(("校验码：", " ".join(cc[i:i + 5] for i in range(0, 20, 5))))
    for i, (label, value) in enumerate(right):
        t += [(690, 30 + 24 * i, 13, label), (770, 30 + 24 * i, 13, value)]
    if digital:
        t += [(40, 160, 14, "购买方信息"), (60, 190, 14, "名称：" + fields["buyer_name"]),
              (60, 225, 13, "统一社会信用代码/纳税人识别号："), (280, 225, 14, fields["buyer_tax_id"]),
              (520, 160, 14, "销售方信息"), (540, 190, 14, "名称：" + fields["seller_name"]),
              (540, 225, 13, "统一社会信用代码/纳税人识别号："), (760, 225, 14, fields["seller_tax_id"])]
    else:
        t += [(40, 160, 14, "购买方"), (100, 160, 14, "名    称："), (200, 160, 14, fields["buyer_name"]),
              (100, 190, 14, "纳税人识别号："), (200, 190, 14, fields["buyer_tax_id"]),
              (100, 220, 14, "地址、电话："), (200, 220, 14, "高新区软件园路100号 010-88886666")]
    t += [(60, 270, 14, "项目名称"), (560, 270, 14, "金额"), (680, 270, 14, "税率"), (820, 270, 14, "税额"),
          (60, 300, 14, item), (560, 300, 14, fields["amount"]), (680, 300, 14, rate),
          (820, 300, 14, fields["tax"]), (100, 380, 15, "合    计"), (560, 380, 15, "¥" + fields["amount"]),
          (820, 380, 15, "¥" + fields["tax"]), (60, 420, 15, "价税合计（大写）"),
          (260, 420, 15, "ⓧ" + fields["total_cn"]), (700, 420, 15, "（小写）"), (790, 420, 15, "¥" + fields["total"])]
    if not digital:
        t += [(40, 470, 14, "销售方"), (100, 470, 14, "名    称："), (200, 470, 14, fields["seller_name"]),
              (100, 500, 14, "纳税人识别号："), (200, 500, 14, fields["seller_tax_id"]),
              (100, 530, 14, "地址、电话："), (200, 530, 14, "经开区创新大道8号 021-66668888")]
    t.append((100, 585, 13, "开票人：王敏"))
    return t


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONT_PATH, size, index=_SC_INDEX)


def _qr_png(fields: dict[str, Any], scale: int) -> bytes:
    buf = io.BytesIO()
    segno.make(qr_payload(fields), error="m").save(buf, kind="png", scale=scale, border=2)
    return buf.getvalue()


def render_invoice_png(fields: dict[str, Any], *, with_qr: bool = True) -> bytes:
    """A clean 2000-pixel-wide PNG of the invoice."""
    k = 2.0
    img = Image.new("RGB", (int(1000 * k), int(620 * k)), "white")
    draw = ImageDraw.Draw(img)
    ink, frame = (20, 20, 20), (150, 80, 50)
    draw.rectangle([30 * k, 140 * k, 970 * k, 560 * k], outline=frame, width=3)
    for y in (255, 400, 445):
        draw.line([30 * k, y * k, 970 * k, y * k], fill=frame, width=2)
    for x, y, size, text in _texts(fields):
        draw.text((x * k, y * k), text, font=_font(int(size * k)), fill=ink)
    if with_qr:
        qr = Image.open(io.BytesIO(_qr_png(fields, 6))).convert("RGB")
        img.paste(qr, (int(40 * k), int(15 * k)))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def render_invoice_pdf(fields: dict[str, Any]) -> bytes:
    """An A5-landscape PDF with a real text layer (embedded Noto CJK subset) and the QR code."""
    pdf = FPDF(orientation="L", unit="pt", format=(620 * 0.6, 1000 * 0.6))
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.add_font("noto", fname=FONT_PATH, collection_font_number=_SC_INDEX)
    k = 0.6
    pdf.set_draw_color(150, 80, 50)
    pdf.rect(30 * k, 140 * k, 940 * k, 420 * k)
    for x, y, size, text in _texts(fields):
        pdf.set_font("noto", size=size * k)
        pdf.text(x * k, (y + size) * k, text)
    pdf.image(io.BytesIO(_qr_png(fields, 4)), x=40 * k, y=15 * k, w=110 * k)
    return bytes(pdf.output())
