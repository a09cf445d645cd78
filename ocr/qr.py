"""The QR code printed on Chinese VAT invoices: the most reliable source for the fields it carries.

Payload: ``01,<type>,<code>,<number>,<amount>,<yyyymmdd>,<check code>,<crc>,`` where amount is before
tax, the code is empty and the number has 20 digits for 全电发票, and the check code is empty on
专用发票.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

import numpy as np
import zxingcpp
from pydantic import BaseModel

TYPE_NAMES: dict[str, str] = {
    "01": "增值税专用发票",
    "04": "增值税普通发票",
    "08": "增值税电子专用发票",
    "10": "增值税电子普通发票",
    "11": "增值税普通发票（卷式）",
    "14": "增值税电子普通发票（通行费）",
    "31": "电子发票（增值税专用发票）",
    "32": "电子发票（普通发票）",
}


class QrData(BaseModel):
    """The fields an invoice QR code carries."""

    type_code: str
    invoice_type: str | None
    invoice_code: str | None
    invoice_number: str
    amount: Decimal | None
    issue_date: date | None
    check_code: str | None
    orientation: int = 0  # clockwise rotation of the symbol in the image, in degrees


def parse_qr_payload(text: str) -> QrData | None:
    """Parse an invoice QR payload; None for any other QR code (e.g. a shop's URL)."""
    parts = [p.strip() for p in text.strip().split(",")]
    if len(parts) < 6 or parts[0] != "01" or not re.fullmatch(r"\d{2}", parts[1]):
        return None
    code, number, amount_s, date_s = parts[2], parts[3], parts[4], parts[5]
    if not re.fullmatch(r"\d{8}|\d{20}", number) or (code and not re.fullmatch(r"\d{10}|\d{12}", code)):
        return None
    try:
        amount = Decimal(amount_s).quantize(Decimal("0.01")) if amount_s else None
    except InvalidOperation:
        amount = None
    issue: date | None = None
    if re.fullmatch(r"\d{8}", date_s):
        try:
            issue = date(int(date_s[:4]), int(date_s[4:6]), int(date_s[6:]))
        except ValueError:
            issue = None
    check = parts[6] if len(parts) > 6 and re.fullmatch(r"\d{20}", parts[6]) else None
    return QrData(
        type_code=parts[1], invoice_type=TYPE_NAMES.get(parts[1]), invoice_code=code or None,
        invoice_number=number, amount=amount, issue_date=issue, check_code=check,
    )


def decode_invoice_qr(image: np.ndarray) -> QrData | None:
    """Find and parse the invoice QR code in an image (grey or BGR array)."""
    for result in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode):
        data = parse_qr_payload(result.text)
        if data is not None:
            return data.model_copy(update={"orientation": int(result.orientation)})
    return None
