"""Reading rendered invoices end to end with the real engines: PNG (OCR) and PDF (text layer)."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from ocr import DEFAULT_ENGINE, ENGINES, read_invoice
from ocr.models import KEY_FIELDS
from simulator.invoice_art import printed_items, render_invoice_pdf, render_invoice_png, sample_fields

ROOT = Path(__file__).resolve().parents[2]


def _check(got: dict, fields: dict) -> None:
    wrong = {k: (got.get(k), fields[k]) for k in fields if got.get(k) != fields[k]}
    assert not wrong


@pytest.mark.parametrize("engine", ENGINES)
def test_png_without_qr_is_read_by_ocr_alone(engine: str) -> None:
    fields = sample_fields(101)
    inv = read_invoice(render_invoice_png(fields, with_qr=False), engine=engine)
    assert inv.source == "ocr"
    _check(inv.to_json_dict(), fields)


def test_png_with_qr_default_engine() -> None:
    fields = sample_fields(202)
    inv = read_invoice(render_invoice_png(fields))
    assert inv.source == "qr+ocr"
    _check(inv.to_json_dict(), fields)
    assert inv.uncertain_fields() == []
    assert all(inv.confidence[k] >= 0.8 for k in KEY_FIELDS)
    assert inv.items == printed_items(fields) and inv.confidence["items"] >= 0.8


@pytest.mark.parametrize("engine", ENGINES)
def test_pdf_text_layer(engine: str) -> None:
    fields = sample_fields(303)
    inv = read_invoice(render_invoice_pdf(fields), engine=engine)
    assert inv.source == "qr+pdf-text"
    _check(inv.to_json_dict(), fields)


def test_scanned_pdf_without_text_layer_falls_back_to_ocr() -> None:
    fields = sample_fields(305)
    buf = io.BytesIO()
    Image.open(io.BytesIO(render_invoice_png(fields, with_qr=False))).convert("RGB").save(buf, format="PDF")
    inv = read_invoice(buf.getvalue())
    assert inv.source == "ocr"
    _check(inv.to_json_dict(), fields)


def test_cli_prints_one_json_object(tmp_path: Path) -> None:
    fields = sample_fields(404)
    path = tmp_path / "invoice.pdf"
    path.write_bytes(render_invoice_pdf(fields))
    out = subprocess.run([sys.executable, "-m", "ocr", str(path), "--engine", DEFAULT_ENGINE],
                         cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    got = json.loads(out.stdout)
    _check(got, fields)
    assert got["items"] == printed_items(fields) and got["confidence"]["items"] == 1.0


def test_unreadable_bytes_raise() -> None:
    with pytest.raises(Exception):  # noqa: B017 - PIL raises its own UnidentifiedImageError
        read_invoice(b"not an image")
