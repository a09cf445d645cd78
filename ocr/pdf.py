"""PDF e-invoices: read the text layer when there is one, else render the page for OCR."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pypdfium2 as pdfium
from pypdf import PageObject, PdfReader

from ocr.engines import TextLine
from ocr.limits import render_scale

_MIN_TEXT_LINES = 8  # fewer than this means a scanned PDF with no usable text layer
MAX_PAGES = 20  # an upload with more pages than this is not a bundle of invoices; the rest are ignored


def _char_width(text: str, size: float) -> float:
    """Approximate advance: CJK glyphs are square, Latin ones about half as wide."""
    return sum(size if ord(ch) > 0x2E80 else 0.55 * size for ch in text)


@dataclass(frozen=True)
class PdfPage:
    """One page: its text-layer lines (boxes in top-down points), its size in points, and a rendering."""

    lines: list[TextLine]
    width: float
    height: float
    image: np.ndarray  # BGR, about the requested width in pixels (less for huge pages: see render_scale)


def pdf_pages(data: bytes, render_width: int) -> Iterator[PdfPage]:
    """The pages of a PDF one at a time (at most MAX_PAGES), so only one rendering is held at once."""
    reader = PdfReader(io.BytesIO(data))
    pdf = pdfium.PdfDocument(data)
    try:
        for index in range(min(len(reader.pages), len(pdf), MAX_PAGES)):
            lines, width, height = _text_layer_lines(reader.pages[index])
            yield PdfPage(lines, width, height, _render(pdf[index], render_width))
    finally:
        pdf.close()


def _text_layer_lines(page: PageObject) -> tuple[list[TextLine], float, float]:
    """Text runs of a page as lines with boxes in top-down page points, plus page size."""
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


def _render(page: pdfium.PdfPage, width: int) -> np.ndarray:
    """Render a page to a BGR array about width pixels wide, or smaller if that would be too many pixels."""
    bitmap = page.render(scale=render_scale(page.get_width(), page.get_height(), width))
    rgb = np.asarray(bitmap.to_pil().convert("RGB"))
    return np.ascontiguousarray(rgb[:, :, ::-1])
