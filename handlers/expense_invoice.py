"""Invoices attached to an expense: read before the transaction, claimed at most once.

The prepare step downloads the photo (or the file uploaded through the H5 page) and reads every
invoice in it outside the transaction (a PDF page by page, an OFD or XML e-invoice as data); the
handler then turns what was read into dialog slots, marking the fields OCR was unsure of so the
dialog asks for them. Several invoices in one file become lines of one expense, or the person picks one.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from chat.context import Gateway, InvoiceUnreadable
from chat.message import Inbound
from chat.render import plain
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
    """A file the user sent, as the prepare step found it: the invoices read from it, or why none."""

    sha256: str
    filename: str
    invoices: tuple[Invoice, ...] = ()
    failure: str | None = None  # InvoiceUnreadable.kind: timeout, crashed, unreadable

    @property
    def readable(self) -> list[Invoice]:
        return [inv for inv in self.invoices if is_readable(inv)]


FAILURES = {
    "timeout": ("这个文件读得太久，已放弃。请换一张更清晰、更小的照片，或直接输入金额。",
                "Reading this file took too long; please send a sharper, smaller photo or type the amount."),
    "crashed": ("这个文件无法读取（可能太大或已损坏）。请换一个文件，或直接输入金额。",
                "This file could not be read (too large or damaged); please send another or type the amount."),
    "unreadable": ("没能从文件中识别出发票，请换一张清晰的照片，或直接输入金额。",
                   "No invoice could be read from it; try a sharper photo or type the amount."),
}


async def read_attachment(msg: Inbound, gateway: Gateway) -> Attachment:
    """Fetch the bytes (chat media or an H5 upload) and read every invoice; a failed read is data, not an error."""
    upload_id = msg.data.get("upload_id")
    if upload_id is not None:
        data = await gateway.fetch_upload(int(upload_id))
        filename = str(msg.data.get("filename") or "upload")
    else:
        data = await gateway.fetch_media(msg.media_id)
        filename = "image"
    digest = hashlib.sha256(data).hexdigest()
    try:
        invoices = await gateway.read_document(data)
    except InvoiceUnreadable as exc:  # an unreadable file still gets an answer: type the fields instead
        log.warning("invoice could not be read (%s): %s", filename, exc)
        return Attachment(digest, filename, failure=exc.kind)
    return Attachment(digest, filename, tuple(invoices))


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


def lines_slots(invoices: list[Invoice], data: dict[str, Any]) -> None:
    """Several invoices as lines of one expense: the amount is their sum and the date the latest
    (both asked about when any line was unsure); the first invoice stands for the expense's invoice."""
    invoice_slots(invoices[0], data)
    for slot in ("invoice_number", "invoice_code", "seller"):
        data.pop(slot, None)  # one number cannot stand for several invoices; each line keeps its own
    data["invoice_lines"] = [inv.to_json_dict() for inv in invoices]
    unsure = sorted({f for inv in invoices for f in inv.uncertain_fields()})
    data["invoice_unsure"] = unsure
    totals = [inv.total for inv in invoices]
    days = [inv.issue_date for inv in invoices if inv.issue_date is not None]
    marks = [s for s in data.get("_unsure", []) if s not in FIELD_SLOTS.values()]
    if all(t is not None and t > 0 for t in totals):
        data["amount"] = f"{sum(t for t in totals if t is not None):.2f}"
        if "total" in unsure:
            marks.append("amount")
    if days:
        data["date"] = max(days).isoformat()
        if "issue_date" in unsure:
            marks.append("date")
    data["_unsure"] = marks
    sellers = list(dict.fromkeys(inv.seller_name for inv in invoices if inv.seller_name))
    if sellers and data.get("description") == invoices[0].seller_name:
        data["description"] = "、".join(sellers)[:200]


def line_keys(lines: list[dict[str, Any]]) -> list[str]:
    """What each line claims; a line without code and number claims nothing (its file still does)."""
    keys = [invoice_key(line.get("invoice_code"), line.get("invoice_number")) for line in lines]
    return list(dict.fromkeys(k for k in keys if k))


def line_text(index: int, invoice: dict[str, Any], lang: str) -> str:
    """`2. 上海某某餐饮有限公司 · 2026-11-20 · ¥106.00` for lists of invoices."""
    total = invoice.get("total")
    money = format_money(Decimal(str(total))) if total is not None else "—"
    seller = plain(str(invoice.get("seller_name") or "")) or ("销售方未识别" if lang != "en" else "seller not read")
    return f"{index}. {seller} · {invoice.get('issue_date') or '—'} · {money}"


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
