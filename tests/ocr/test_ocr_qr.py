"""Invoice QR payloads: parsing and decoding from a rendered invoice."""

from datetime import date
from decimal import Decimal

from ocr.preprocess import load_image
from ocr.qr import decode_invoice_qr, parse_qr_payload
from simulator.invoice_art import render_invoice_png, sample_fields


def test_parse_paper_normal_invoice() -> None:
    qr = parse_qr_payload("01,04,043002498904,13095568,106715.47,20240204,95742199999131108100,9840,")
    assert qr is not None
    assert qr.invoice_type == "增值税普通发票"
    assert qr.invoice_code == "043002498904"
    assert qr.invoice_number == "13095568"
    assert qr.amount == Decimal("106715.47")
    assert qr.issue_date == date(2024, 2, 4)
    assert qr.check_code == "95742199999131108100"


def test_parse_digital_invoice_has_no_code() -> None:
    qr = parse_qr_payload("01,32,,24312820064243311839,50778.06,20241003,,3249,")
    assert qr is not None
    assert qr.invoice_type == "电子发票（普通发票）"
    assert qr.invoice_code is None
    assert qr.invoice_number == "24312820064243311839"
    assert qr.check_code is None


def test_other_qr_codes_are_ignored() -> None:
    assert parse_qr_payload("https://example.com/pay?id=1") is None
    assert parse_qr_payload("01,04,ABC,13095568,1.00,20240204,,x,") is None
    assert parse_qr_payload("01,04,043002498904,1309,1.00,20240204,,x,") is None


def test_decode_from_rendered_invoice() -> None:
    fields = sample_fields(11)
    qr = decode_invoice_qr(load_image(render_invoice_png(fields)))
    assert qr is not None
    assert qr.invoice_number == fields["invoice_number"]
    assert qr.amount == Decimal(fields["amount"])
    assert qr.issue_date == date.fromisoformat(fields["issue_date"])


def test_no_qr_when_not_drawn() -> None:
    assert decode_invoice_qr(load_image(render_invoice_png(sample_fields(11), with_qr=False))) is None
