"""Invoices attached to an expense: read before the transaction, claimed at most once.

The prepare step downloads the photo (or the file uploaded through the H5 page) and runs OCR
outside the transaction; the handler then turns what was read into dialog slots, marking the
fields OCR was unsure of so the dialog asks for them.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chat.context import Gateway
from chat.message import Inbound
from dialogs.parsing import format_money

if TYPE_CHECKING:
    from ocr.models import Invoice

log = logging.getLogger(__name__)

# invoice field -> the expense dialog slot that holds (and asks for) it
FIELD_SLOTS = {"total": "amount", "issue_date": "date", "invoice_number": "invoice_number"}
SHOWN_FIELDS = (
    ("seller_name", "销售方", "Seller"), ("issue_date", "开票日期", "Date"),
    ("invoice_number", "发票号码", "Number"), ("amount", "金额", "Amount"), ("tax", "税额", "Tax"),
    ("total", "价税合计", "Total"),
)


@dataclass(frozen=True)
class Attachment:
    """A file the user sent, as the prepare step found it."""

    sha256: str
    filename: str
    invoice: Invoice | None
    error: str | None = None


async def read_attachment(msg: Inbound, gateway: Gateway) -> Attachment:
    """Fetch the bytes (chat media or an H5 upload) and read the invoice; OCR failure is data, not an error."""
    upload_id = msg.data.get("upload_id")
    if upload_id is not None:
        data = await gateway.fetch_upload(int(upload_id))
        filename = str(msg.data.get("filename") or "upload")
    else:
        data = await gateway.fetch_media(msg.media_id)
        filename = "image"
    digest = hashlib.sha256(data).hexdigest()
    try:
        invoice = await gateway.read_invoice(data)
    except Exception as exc:  # an unreadable file still gets an answer: type the fields instead
        log.warning("invoice could not be read (%s): %s", filename, exc)
        return Attachment(digest, filename, None, str(exc))
    return Attachment(digest, filename, invoice)


def invoice_key(code: str | None, number: str | None) -> str | None:
    """What identifies an invoice: code+number, or the 20-digit number of a 全电发票 on its own."""
    number = re.sub(r"\s", "", number or "")
    code = re.sub(r"\s", "", code or "")
    if re.fullmatch(r"\d{20}", number):
        return number
    if code and number:
        return code + number
    return None


def is_readable(invoice: Invoice | None) -> bool:
    return invoice is not None and any(
        getattr(invoice, f) is not None for f in ("total", "invoice_number", "issue_date", "seller_name")
    )


def invoice_slots(invoice: Invoice, data: dict[str, Any]) -> None:
    """Fill the expense slots from an invoice; fields OCR is unsure of are marked for asking."""
    unsure_fields = invoice.uncertain_fields()
    marks = [s for s in data.get("_unsure", []) if s not in FIELD_SLOTS.values()]
    data["invoice"] = invoice.to_json_dict()
    data["invoice_unsure"] = unsure_fields
    values: dict[str, Any] = {
        "amount": f"{invoice.total:.2f}" if invoice.total is not None and invoice.total > 0 else None,
        "date": invoice.issue_date.isoformat() if invoice.issue_date else None,
        "invoice_number": invoice.invoice_number,
    }
    for field, slot in FIELD_SLOTS.items():
        value = values[slot]
        if value is None:
            data.pop(slot, None)
        else:
            data[slot] = value
        if field in unsure_fields and (value is not None or slot == "invoice_number"):
            marks.append(slot)
    if invoice.invoice_code:
        data["invoice_code"] = invoice.invoice_code
    if invoice.seller_name:
        data["seller"] = invoice.seller_name
        if not data.get("description"):
            data["description"] = invoice.seller_name
    data["_unsure"] = marks


def corrected_fields(invoice: dict[str, Any], data: dict[str, Any]) -> list[str]:
    """The invoice fields whose filed value differs from what was read (a field not read counts too)."""
    return [field for field, slot in FIELD_SLOTS.items()
            if str(data.get(slot) or "") != str(invoice.get(field) or "")]


def describe(invoice: dict[str, Any], unsure: list[str], lang: str) -> str:
    """One line per field the user should look at, '⚠️' on those OCR was unsure of."""
    lines = []
    for field, zh, en in SHOWN_FIELDS:
        value = invoice.get(field)
        if field in ("amount", "tax", "total") and value is not None:
            value = format_money(Decimal(str(value)))
        mark = " ⚠️" if field in unsure else ""
        label = f"{en}: " if lang == "en" else f"{zh}："
        lines.append(f"{label}{value if value not in (None, '') else '—'}{mark}")
    return "\n".join(lines)
