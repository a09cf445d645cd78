"""PDF e-invoices: read the text layer when there is one, else render the page for OCR."""

from __future__ import annotations

import io
import re

import numpy as np
import pypdfium2 as pdfium
from pypdf import PdfReader

from ocr.engines import TextLine

_MIN_TEXT_LINES = 8  # fewer than this means a scanned PDF with no usable text layer


def _char_width(text: str, size: float) -> float:
    """Approximate advance: CJK glyphs are square, Latin ones about half as wide."""
    return sum(size if ord(ch) > 0x2E80 else 0.55 * size for ch in text)


def text_layer_lines(data: bytes) -> tuple[list[TextLine], float, float]:
    """Text runs of the first page as lines with boxes in top-down page points, plus page size."""
    reader = PdfReader(io.BytesIO(data))
    if not reader.pages:
        return [], 0.0, 0.0
    page = reader.pages[0]
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    runs: list[tuple[float, float, float, str]] = []  # x, baseline y (top-down), size, text

    def visit(text: str, cm: list[float], tm: list[float], _font: object, size: float) -> None:
        if not text.replace("\x00", "").strip():  # some CID fonts decode with NUL padding
            return
        scale_y = abs(tm[3] * cm[3]) or 1.0
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        runs.append((x, height - y, size * scale_y, text.replace("\x00", "").replace("\n", " ").strip()))

    page.extract_text(visitor_text=visit)
    runs.sort(key=lambda r: (round(r[1] / 2), r[0]))
    lines: list[TextLine] = []
    current: list[tuple[float, float, float, str]] = []

    def flush() -> None:
        if current:
            x0 = current[0][0]
            size = max(r[2] for r in current)
            base = current[0][1]
            text = "".join(r[3] if i == 0 or r[0] - _end(current[i - 1]) < 0.3 * size else " " + r[3]
                           for i, r in enumerate(current))
            x1 = _end(current[-1])
            lines.append(TextLine(text, (x0, base - size, x1, base + 0.2 * size), 1.0))
            current.clear()

    for run in runs:
        if current and (abs(run[1] - current[-1][1]) > 0.3 * run[2] or run[0] - _end(current[-1]) > 1.5 * run[2]):
            flush()
        current.append(run)
    flush()
    return lines, width, height


def _end(run: tuple[float, float, float, str]) -> float:
    return run[0] + _char_width(run[3], run[2])


def has_text_layer(lines: list[TextLine]) -> bool:
    """Enough text with digits to be a real e-invoice text layer rather than a stray header."""
    return len(lines) >= _MIN_TEXT_LINES and any(re.search(r"\d{8}", ln.text) for ln in lines)


def render_first_page(data: bytes, width: int) -> np.ndarray:
    """Render page one to a BGR array about width pixels wide."""
    pdf = pdfium.PdfDocument(data)
    try:
        page = pdf[0]
        scale = width / page.get_width()
        bitmap = page.render(scale=scale)
        rgb = np.asarray(bitmap.to_pil().convert("RGB"))
    finally:
        pdf.close()
    return np.ascontiguousarray(rgb[:, :, ::-1])
