"""E-invoice files that carry the fields as data: 数电票 XML and OFD (GB/T 33190) packages.

Nothing here is read by OCR, so every value found is exact (confidence 1.0). Two XML vocabularies
occur: the 数电票 ``EInvoice`` document of the tax bureau (``EInvoiceData/SellerInformation/...``,
``TaxSupervisionInfo/InvoiceNumber``) and the older e-invoice ``fp:eInvoice`` (``fp:InvoiceNo``,
``fp:Seller/fp:SellerTaxID`` ...) that OFD invoices embed, either with the values inline or as
``ofd:ObjectRef`` pointers to the text objects printed on the page. An OFD package may hold the
invoice as an attached original XML, as custom tags, and as name/value ``CustomData`` in
``OFD.xml``; the first of those that yields an invoice number wins, the others fill gaps.

XML is parsed with defusedxml (no entities, no DTDs, no external references) and the zip is read
under caps on entry count and unpacked size, so a hostile upload cannot exhaust memory.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from common.cn_money import decimal_to_cn_capital
from ocr.models import FIELDS, Invoice
from ocr.qr import TYPE_NAMES, parse_qr_payload

MAX_XML_BYTES = 4 * 1024 * 1024  # an invoice XML is a few kB; signatures make it tens of kB
MAX_ZIP_ENTRIES = 500
MAX_ZIP_TOTAL = 32 * 1024 * 1024  # unpacked bytes read from one OFD package, all entries together

DIGITAL_SPECIAL = "电子发票（增值税专用发票）"
DIGITAL_NORMAL = "电子发票（普通发票）"


class EInvoiceError(ValueError):
    """The file is not a readable e-invoice (malformed, hostile, too large, or no invoice inside)."""


def is_xml(data: bytes) -> bool:
    """XML by its first non-blank characters (after a byte-order mark)."""
    head = data[:256].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<?xml") or head.startswith(b"<")


def is_ofd(data: bytes) -> bool:
    """An OFD package: a zip archive whose root holds OFD.xml."""
    if not data.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return any(n.lower() == "ofd.xml" for n in zf.namelist())
    except zipfile.BadZipFile:
        return False


def _parse(data: bytes) -> Element:
    if len(data) > MAX_XML_BYTES:
        raise EInvoiceError(f"XML larger than {MAX_XML_BYTES} bytes")
    try:
        return SafeET.fromstring(data)
    except DefusedXmlException as exc:
        raise EInvoiceError(f"XML refused: {exc.__class__.__name__}") from exc
    except SafeET.ParseError as exc:
        raise EInvoiceError(f"malformed XML: {exc}") from exc


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(el: Element | None, *path: str) -> Element | None:
    """Follow child elements by local name (namespaces vary between issuers)."""
    for name in path:
        if el is None:
            return None
        el = next((c for c in el if _local(c.tag) == name), None)
    return el


def _text(el: Element | None) -> str | None:
    if el is None:
        return None
    s = "".join(el.itertext()).strip()
    return s or None


def _money(s: str | None) -> Decimal | None:
    if not s:
        return None
    try:
        return Decimal(s.replace(",", "").replace("¥", "").replace("￥", "").strip()).quantize(Decimal("0.01"))
    except InvalidOperation:
        return None


def _date(s: str | None) -> date | None:
    if not s:
        return None
    m = re.search(r"(\d{4})\D{0,2}(\d{1,2})\D{0,2}(\d{1,2})", s)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def _code(s: str | None) -> str | None:
    return re.sub(r"\s+", "", s).upper() if s else None


def _invoice(fields: dict[str, Any], source: str) -> Invoice:
    """An Invoice from exact values: every value present is certain; the capitals follow the total."""
    values = {k: v for k, v in fields.items() if k in FIELDS and v is not None}
    if values.get("total") is not None and not values.get("total_cn"):
        values["total_cn"] = decimal_to_cn_capital(values["total"])
    confidence = {f: 1.0 for f in values}
    items = [name for name in fields.get("items") or [] if name]
    if items:
        confidence["items"] = 1.0
    return Invoice(**values, items=items, confidence=confidence, source=source)


def _children(el: Element | None, name: str) -> list[Element]:
    return [c for c in el if _local(c.tag) == name] if el is not None else []


def _digital_fields(root: Element) -> dict[str, Any]:
    """Fields of a 数电票 ``EInvoice`` document."""
    data = _child(root, "EInvoiceData")
    seller, buyer = _child(data, "SellerInformation"), _child(data, "BuyerInformation")
    basic = _child(data, "BasicInformation")
    supervision = _child(root, "TaxSupervisionInfo")
    label = _child(root, "Header", "InherentLabel", "GeneralOrSpecialVAT")
    label_text = f"{_text(_child(label, 'LabelCode')) or ''}{_text(_child(label, 'LabelName')) or ''}"
    special = label_text.startswith("01") or "专用" in label_text
    number = _text(_child(supervision, "InvoiceNumber")) or _text(_child(root, "Header", "EIid"))
    issued = _text(_child(supervision, "IssueTime")) or _text(_child(basic, "RequestTime"))
    capitals = _text(_child(basic, "TotalTax-includedAmountInChinese"))
    return {
        "invoice_type": DIGITAL_SPECIAL if special else DIGITAL_NORMAL,
        "invoice_number": _code(number),
        "issue_date": _date(issued),
        "seller_name": _text(_child(seller, "SellerName")),
        "seller_tax_id": _code(_text(_child(seller, "SellerIdNum"))),
        "buyer_name": _text(_child(buyer, "BuyerName")),
        "buyer_tax_id": _code(_text(_child(buyer, "BuyerIdNum"))),
        "amount": _money(_text(_child(basic, "TotalAmWithoutTax"))),
        "tax": _money(_text(_child(basic, "TotalTaxAm"))),
        "total": _money(_text(_child(basic, "TotalTax-includedAmount"))),
        "total_cn": re.sub(r"^[ⓧ⊗Xx]", "", capitals) if capitals else None,
        "items": [_text(_child(line, "ItemName")) for line in _children(data, "IssuItemInformation")],
    }


Resolver = dict[str, str]  # text-object ID -> the text it prints (OFD pages)


def _value(el: Element | None, objects: Resolver) -> str | None:
    """Inline text, or the printed text of the page objects an ``ofd:ObjectRef`` points at."""
    if el is None:
        return None
    refs = [r for r in el.iter() if _local(r.tag) == "ObjectRef"]
    if refs:
        joined = "".join(objects.get((_text(r) or "").strip(), "") for r in refs).strip()
        return joined or None
    return _text(el)


def _fp_fields(root: Element, objects: Resolver) -> dict[str, Any]:
    """Fields of an ``fp:eInvoice`` document (attached original or OFD custom tags)."""

    def get(*path: str) -> str | None:
        return _value(_child(root, *path), objects)

    qr = parse_qr_payload(get("GraphCode") or "")
    code, number = _code(get("InvoiceCode")), _code(get("InvoiceNo"))
    kind = qr.invoice_type if qr else None
    if kind is None and number and len(number) == 20:
        kind = DIGITAL_NORMAL
    elif kind is None and code:
        kind = TYPE_NAMES.get("10")  # an OFD with a 发票代码 is an 增值税电子普通发票 unless its QR says otherwise
    return {
        "invoice_type": kind,
        "invoice_code": code,
        "invoice_number": number,
        "issue_date": _date(get("IssueDate")),
        "check_code": _code(get("InvoiceCheckCode")),
        "seller_name": get("Seller", "SellerName"),
        "seller_tax_id": _code(get("Seller", "SellerTaxID")),
        "buyer_name": get("Buyer", "BuyerName"),
        "buyer_tax_id": _code(get("Buyer", "BuyerTaxID")),
        "amount": _money(get("TaxExclusiveTotalAmount")),
        "tax": _money(get("TaxTotalAmount")),
        "total": _money(get("TaxInclusiveTotalAmount")),
        "items": [_value(_child(goods, "Item"), objects) for goods in _children(_child(root, "GoodsInfos"), "GoodsInfo")],
    }


def _fields_of(root: Element, objects: Resolver | None = None) -> dict[str, Any] | None:
    name = _local(root.tag)
    if name == "EInvoice" and _child(root, "EInvoiceData") is not None:
        return _digital_fields(root)
    if name.lower() == "einvoice":
        return _fp_fields(root, objects or {})
    return None


def read_invoice_xml(data: bytes) -> Invoice:
    """Read a 数电票 XML (or an ``fp:eInvoice`` original) exactly."""
    fields = _fields_of(_parse(data))
    if not fields or not fields.get("invoice_number"):
        raise EInvoiceError("XML holds no invoice (expected EInvoice with EInvoiceData, or fp:eInvoice)")
    return _invoice(fields, "xml")


class _Package:
    """Bounded access to the entries of an OFD zip, by path relative to a base entry."""

    def __init__(self, data: bytes) -> None:
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as exc:
            raise EInvoiceError("not a zip archive") from exc
        infos = self._zip.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise EInvoiceError(f"OFD package with more than {MAX_ZIP_ENTRIES} entries")
        self._names = {i.filename.lstrip("/").lower(): i.filename for i in infos}
        self._budget = MAX_ZIP_TOTAL

    def read(self, path: str) -> bytes | None:
        """The entry's bytes (None if absent); reading stops at the caps, whatever the header claims."""
        name = self._names.get(posixpath.normpath(path.replace("\\", "/")).lstrip("/").lower())
        if name is None:
            return None
        limit = min(MAX_XML_BYTES, self._budget)
        with self._zip.open(name) as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise EInvoiceError(f"OFD entry {name} unpacks beyond the size cap")
        self._budget -= len(data)
        return data

    def xml(self, path: str) -> Element | None:
        data = self.read(path)
        return _parse(data) if data is not None else None


def _join(base_dir: str, loc: str) -> str:
    """OFD locations are relative to the referring file's folder, or absolute from the package root."""
    loc = loc.strip()
    return loc.lstrip("/") if loc.startswith("/") else posixpath.join(base_dir, loc)


def _page_texts(pkg: _Package, doc_dir: str, document: Element) -> Resolver:
    """Text of every text object on the document's pages, by object ID."""
    texts: Resolver = {}
    pages = _child(document, "Pages")
    for page in pages if pages is not None else []:
        loc = page.get("BaseLoc")
        content = pkg.xml(_join(doc_dir, loc)) if loc else None
        if content is None:
            continue
        for obj in content.iter():
            if _local(obj.tag) == "TextObject" and obj.get("ID"):
                texts[obj.get("ID", "")] = "".join(
                    (c.text or "") for c in obj.iter() if _local(c.tag) == "TextCode"
                )
    return texts


def _from_attachments(pkg: _Package, doc_dir: str, document: Element) -> dict[str, Any] | None:
    loc = _text(_child(document, "Attachments"))
    listing = pkg.xml(_join(doc_dir, loc)) if loc else None
    if listing is None:
        return None
    base = posixpath.dirname(_join(doc_dir, loc))
    for att in listing.iter():
        file_loc = att.get("FileLoc") or _text(_child(att, "FileLoc"))
        if _local(att.tag) != "Attachment" or not file_loc or not file_loc.lower().endswith(".xml"):
            continue
        root = pkg.xml(_join(base, file_loc))
        fields = _fields_of(root) if root is not None else None
        if fields and fields.get("invoice_number"):
            return fields
    return None


def _from_custom_tags(pkg: _Package, doc_dir: str, document: Element) -> dict[str, Any] | None:
    loc = _text(_child(document, "CustomTags"))
    listing = pkg.xml(_join(doc_dir, loc)) if loc else None
    if listing is None:
        return None
    base = posixpath.dirname(_join(doc_dir, loc))
    objects: Resolver | None = None
    for tag in listing.iter():
        file_loc = _text(_child(tag, "FileLoc"))
        if _local(tag.tag) != "CustomTag" or not file_loc:
            continue
        root = pkg.xml(_join(base, file_loc))
        if root is None or _local(root.tag).lower() != "einvoice":
            continue
        if objects is None:
            objects = _page_texts(pkg, doc_dir, document)
        fields = _fields_of(root, objects)
        if fields and fields.get("invoice_number"):
            return fields
    return None


_CUSTOM_DATA_NAMES: dict[str, str] = {
    "发票代码": "invoice_code", "发票号码": "invoice_number", "开票日期": "issue_date", "校验码": "check_code",
    "购买方名称": "buyer_name", "购买方纳税人识别号": "buyer_tax_id",
    "销售方名称": "seller_name", "销售方纳税人识别号": "seller_tax_id",
    "合计金额": "amount", "合计税额": "tax", "价税合计": "total",
}


def _from_custom_data(body: Element) -> dict[str, Any]:
    """The name/value pairs some issuers write into ``DocInfo/CustomDatas`` of OFD.xml."""
    out: dict[str, Any] = {}
    datas = _child(body, "DocInfo", "CustomDatas")
    for item in datas if datas is not None else []:
        field = _CUSTOM_DATA_NAMES.get((item.get("Name") or "").strip())
        value = _text(item)
        if not field or not value:
            continue
        if field in ("amount", "tax", "total"):
            out[field] = _money(value)
        elif field == "issue_date":
            out[field] = _date(value)
        elif field in ("buyer_name", "seller_name"):
            out[field] = value
        else:
            out[field] = _code(value)
    return out


def read_ofd(data: bytes) -> list[Invoice]:
    """Every invoice in an OFD package (one per document body, as issuers write them)."""
    pkg = _Package(data)
    ofd = pkg.xml("OFD.xml")
    if ofd is None:
        raise EInvoiceError("no OFD.xml in the package")
    invoices: list[Invoice] = []
    for body in (b for b in ofd if _local(b.tag) == "DocBody"):
        custom = _from_custom_data(body)
        root_loc = _text(_child(body, "DocRoot"))
        document = pkg.xml(root_loc) if root_loc else None
        fields: dict[str, Any] = {}
        if document is not None and root_loc:
            doc_dir = posixpath.dirname(_join("", root_loc))
            fields = _from_attachments(pkg, doc_dir, document) or _from_custom_tags(pkg, doc_dir, document) or {}
        merged = {**custom, **{k: v for k, v in fields.items() if v is not None}}
        if merged.get("invoice_number"):
            if not merged.get("invoice_type") and len(merged["invoice_number"]) == 20:
                merged["invoice_type"] = DIGITAL_NORMAL
            invoices.append(_invoice(merged, "ofd"))
    if not invoices:
        raise EInvoiceError("OFD package holds no invoice data (no attached XML, custom tags or custom data)")
    return invoices
