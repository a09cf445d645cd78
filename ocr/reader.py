"""The reading pipeline: QR first, then the PDF text layer or OCR of the prepared page."""

from __future__ import annotations

import cv2
import numpy as np

from ocr.candidates import uscc_readings
from ocr.constrained import best_valid_uscc
from ocr.engines import ENGINES, Box, BoxFilter, CharAlternatives, OcrEngine, TextLine, get_engine
from ocr.extract import extract_invoice
from ocr.layout import Page, after_label
from ocr.models import DEFAULT_THRESHOLD, Invoice
from ocr.preprocess import drop_red, load_image, prepare_page, red_mask, turn_upright
from ocr.qr import QrData, decode_invoice_qr
from ocr.validate import is_valid_uscc

DEFAULT_ENGINE = "rapidocr"
_PDF_RENDER_WIDTH = 2400  # enough for any engine's page width; pages are scaled down from here


def is_pdf(data: bytes) -> bool:
    """PDF by magic bytes (allowing the leading junk some generators write)."""
    return b"%PDF-" in data[:1024]


def _source(qr: QrData | None, base: str) -> str:
    return f"qr+{base}" if qr else base


def _fails_checks(inv: Invoice) -> bool:
    """A key field is missing, unchecked or only guessed: worth a second look at the page."""
    return bool(inv.uncertain_fields()) or inv.confidence.get("buyer_tax_id", 0.0) < DEFAULT_THRESHOLD


def _crop(image: np.ndarray, line: TextLine) -> np.ndarray:
    x0, y0, x1, y1 = line.box
    pad_y, pad_x = 0.15 * line.height, 0.3 * line.height
    h, w = image.shape[:2]
    return image[max(0, int(y0 - pad_y)):min(h, int(y1 + pad_y) + 1), max(0, int(x0 - pad_x)):min(w, int(x1 + pad_x) + 1)]


def _reread_codes(image: np.ndarray, engine: OcrEngine, lines: list[TextLine]) -> list[TextLine]:
    """Read again, line by line, every tax id that fails its check character.

    With per-character probabilities the most likely valid code is decoded exactly; its score says
    how much less likely it is than the plain reading. Otherwise the crop alone is re-recognised,
    which is often cleaner than the same text read within the whole page.
    """
    extra: list[TextLine] = []
    for ln in lines:
        codes = uscc_readings(after_label(ln.text, r"识别号|信用代码"))
        if not codes or all(is_valid_uscc(c) for c in codes):
            continue
        crop = _crop(image, ln)
        if crop.size == 0:
            continue
        if isinstance(engine, CharAlternatives):
            found = best_valid_uscc(engine.char_alternatives(crop))
            if found and found[1] >= 0.1:  # far less likely decodes are left to the other readings
                code, relative = found
                extra.append(TextLine(code, ln.box, 0.95 if relative > 0.5 else 0.8))
        else:
            text, score = engine.read_line(engine.prepare(crop))
            if text:
                extra.append(TextLine(text, ln.box, score))
    return extra


def _under_seal_or_unread(seal: np.ndarray, lines: list[TextLine]) -> BoxFilter:
    """Boxes worth a second reading: touched by red seal ink, or not read at all the first time."""

    def keep(box: Box) -> bool:
        x0, y0, x1, y1 = (max(0, int(v)) for v in box)
        area = seal[y0:y1 + 1, x0:x1 + 1]
        if area.size and cv2.countNonZero(area) > 0.03 * area.size:
            return True
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        return not any(ln.box[0] <= cx <= ln.box[2] and ln.box[1] <= cy <= ln.box[3] for ln in lines)

    return keep


def _read_page_image(image: np.ndarray, engine: OcrEngine, qr: QrData | None) -> Invoice:
    """OCR the prepared page and re-read failing tax ids; if checks still fail, read what the seals
    cover (or what was missed) again with red ink faded, pooling all readings for the extractor."""
    page_img = prepare_page(image, engine.page_width)
    if qr is None:
        qr = decode_invoice_qr(page_img)
    size = (float(page_img.shape[1]), float(page_img.shape[0]))
    source = _source(qr, "ocr")
    lines = engine.read_lines(engine.prepare(page_img))
    lines += _reread_codes(page_img, engine, lines)
    invoice = extract_invoice(Page(tuple(lines), *size), qr, source)
    if engine.fades_seals or not _fails_checks(invoice):
        return invoice
    faded = cv2.cvtColor(drop_red(page_img), cv2.COLOR_GRAY2BGR)
    more = engine.read_lines(engine.prepare(faded), keep=_under_seal_or_unread(red_mask(page_img), lines))
    more += _reread_codes(faded, engine, more)
    return extract_invoice(Page((*lines, *more), *size), qr, source)


def read_invoice(data: bytes, *, engine: str | None = None) -> Invoice:
    """Read an invoice from image (JPEG/PNG/...) or PDF bytes with the named OCR engine."""
    name = engine or DEFAULT_ENGINE
    if name not in ENGINES:
        raise ValueError(f"unknown OCR engine {name!r}; choose one of {', '.join(ENGINES)}")
    if is_pdf(data):
        # PDF libraries load only when a PDF arrives: most invoices are photos.
        from ocr.pdf import has_text_layer, render_first_page, text_layer_lines

        lines, width, height = text_layer_lines(data)
        rendered = render_first_page(data, _PDF_RENDER_WIDTH)
        qr = decode_invoice_qr(rendered)
        if has_text_layer(lines):
            return extract_invoice(Page(tuple(lines), width, height), qr, _source(qr, "pdf-text"))
        return _read_page_image(rendered, get_engine(name), qr)
    image = load_image(data)
    qr = decode_invoice_qr(image)
    if qr is not None:
        image = turn_upright(image, qr.orientation)  # photos without EXIF may lie on their side
    return _read_page_image(image, get_engine(name), qr)
