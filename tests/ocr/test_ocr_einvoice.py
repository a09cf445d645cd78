"""E-invoice files read as data: 数电票 XML, OFD packages, multi-page PDFs; hostile files refused."""

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from ocr import read_document, read_invoice
from ocr.einvoice import MAX_ZIP_TOTAL, EInvoiceError, is_ofd, is_xml, read_invoice_xml, read_ofd
from ocr.models import FIELDS
from simulator.invoice_art import printed_items, render_invoice_pdf, sample_fields
from tests.ocr.einvoice_files import OFD_NS, digital_xml, ofd

ROOT = Path(__file__).resolve().parents[2]
DIGITAL_NORMAL, DIGITAL_SPECIAL, E_NORMAL = 704, 710, 701  # seeds giving those invoice kinds


def _all_right(inv_json: dict, fields: dict) -> None:
    wrong = {k: (inv_json.get(k), fields[k]) for k in FIELDS if inv_json.get(k) != fields[k]}
    assert not wrong


@pytest.mark.parametrize("seed", [DIGITAL_NORMAL, DIGITAL_SPECIAL])
def test_digital_invoice_xml_every_field_exact(seed: int) -> None:
    fields = sample_fields(seed)
    data = digital_xml(fields)
    assert is_xml(data) and not is_ofd(data)
    inv = read_invoice(data)
    assert inv.source == "xml"
    _all_right(inv.to_json_dict(), fields)
    assert inv.uncertain_fields() == []
    assert all(inv.confidence[f] == 1.0 for f in FIELDS if fields[f] is not None)


def test_ofd_with_original_xml_attached() -> None:
    fields = sample_fields(DIGITAL_SPECIAL)
    [inv] = read_document(ofd(fields, attach_xml=True))
    assert inv.source == "ofd"
    _all_right(inv.to_json_dict(), fields)


def test_ofd_custom_tags_point_at_page_text() -> None:
    """An 电子普通发票 OFD without an attachment: values come from the text objects the tags name."""
    fields = sample_fields(E_NORMAL)
    [inv] = read_ofd(ofd(fields, attach_xml=False, custom_data=False))
    _all_right(inv.to_json_dict(), fields)
    assert inv.uncertain_fields() == []


def test_cli_reads_xml_and_ofd(tmp_path: Path) -> None:
    fields = sample_fields(DIGITAL_NORMAL)
    for name, data in (("invoice.xml", digital_xml(fields)), ("invoice.ofd", ofd(fields, attach_xml=True))):
        path = tmp_path / name
        path.write_bytes(data)
        out = subprocess.run([sys.executable, "-m", "ocr", str(path)], cwd=ROOT, capture_output=True, text=True,
                             check=True, timeout=60)
        got = json.loads(out.stdout)
        _all_right(got, fields)
        assert got["confidence"]["seller_tax_id"] == 1.0


def test_multi_page_pdf_returns_every_invoice() -> None:
    samples = [sample_fields(s) for s in (311, 312)]
    writer = PdfWriter()
    for f in samples:
        writer.append(PdfReader(io.BytesIO(render_invoice_pdf(f))))
    buf = io.BytesIO()
    writer.write(buf)
    invoices = read_document(buf.getvalue())
    assert len(invoices) == 2
    assert [inv.items for inv in invoices] == [printed_items(f) for f in samples]  # the text layer's item names
    assert all(inv.confidence["items"] == 1.0 for inv in invoices)
    for inv, fields in zip(invoices, samples, strict=True):
        _all_right(inv.to_json_dict(), fields)


def test_entities_and_dtds_are_refused() -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
            b"<EInvoice><EInvoiceData/><TaxSupervisionInfo><InvoiceNumber>&b;</InvoiceNumber>"
            b"</TaxSupervisionInfo></EInvoice>")
    with pytest.raises(EInvoiceError):
        read_invoice_xml(bomb)
    external = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><EInvoice>&e;</EInvoice>'
    with pytest.raises(EInvoiceError):
        read_invoice_xml(external)


def test_zip_bomb_is_refused_before_it_is_unpacked() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("OFD.xml", f'<ofd:OFD xmlns:ofd="{OFD_NS}"><ofd:DocBody>'.encode() + b" " * (MAX_ZIP_TOTAL + 10))
    assert len(buf.getvalue()) < 200_000  # tiny on the wire, huge unpacked
    with pytest.raises(EInvoiceError):
        read_ofd(buf.getvalue())


def test_xml_without_invoice_and_ofd_without_data_are_errors() -> None:
    with pytest.raises(EInvoiceError):
        read_invoice_xml(b"<html><body>hello</body></html>")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("OFD.xml", f'<ofd:OFD xmlns:ofd="{OFD_NS}"><ofd:DocBody/></ofd:OFD>')
    with pytest.raises(EInvoiceError):
        read_ofd(buf.getvalue())


LINES = ("*餐饮服务*餐费", "*运输服务*客运服务费", "*住宿服务*住宿费")


def test_item_names_of_xml_and_ofd_are_exact() -> None:
    fields = sample_fields(DIGITAL_NORMAL)
    files = {"xml": digital_xml(fields, LINES), "ofd attached": ofd(fields, attach_xml=True, items=LINES),
             "ofd tags": ofd(fields, attach_xml=False, custom_data=False, items=LINES)}
    for name, data in files.items():
        [inv] = read_document(data)
        assert inv.items == list(LINES), name
        assert inv.confidence["items"] == 1.0
        assert inv.item_kinds() == ["餐饮服务", "运输服务", "住宿服务"]
        assert list(inv.to_json_dict()) == list(FIELDS)  # the 13 fields unless items are asked for
        assert inv.to_json_dict(with_items=True, with_confidence=True)["confidence"]["items"] == 1.0
