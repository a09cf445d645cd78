"""Decompression bombs: sizes are checked from headers and page boxes before anything is decoded."""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib

import cv2
import numpy as np
import pytest
from fpdf import FPDF

from ocr import DocumentTooLarge, read_document
from ocr.limits import MAX_DECODED_PIXELS, MAX_PAGE_PIXELS, MAX_RENDER_PIXELS
from ocr.pdf import pdf_pages
from ocr.preprocess import load_image, scale_to_width
from tests.paths import ROOT


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(side: int = 12_000) -> bytes:
    """A valid black-and-white PNG of side x side pixels that compresses to a few kilobytes."""
    rows = (b"\x00" + bytes((side + 7) // 8)) * side
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows, 9))
            + _chunk(b"IEND", b""))


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small JPEG whose frame header claims another size (all a header check may look at)."""
    ok, buf = cv2.imencode(".jpg", np.zeros((16, 16), np.uint8))
    assert ok
    data = bytearray(buf.tobytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def tall_pdf(width_pt: float = 600, height_pt: float = 14_400) -> bytes:
    """A one-page PDF of a few hundred bytes whose page is 600 x 14,400 points (5 m long)."""
    pdf = FPDF(unit="pt", format=(width_pt, height_pt))
    pdf.add_page()
    return bytes(pdf.output())


def _peak_rss_mb(kind: str) -> float:
    """Peak memory of a fresh process that reads the bomb, so earlier tests' peaks do not count."""
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent (pytest) across exec.
    code = f"""
import re
from pathlib import Path
from ocr import DocumentTooLarge, read_document
from tests.ocr.test_ocr_limits import png_bomb, tall_pdf
data = png_bomb() if {kind!r} == "png" else tall_pdf()
try:
    read_document(data)
except DocumentTooLarge:
    pass
print(int(re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1)) / 1024)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def test_huge_png_is_refused_from_its_header() -> None:
    bomb = png_bomb()
    assert len(bomb) < 100_000
    with pytest.raises(DocumentTooLarge, match="12000 x 12000"):
        read_document(bomb)


def test_png_just_over_the_budget_is_refused_and_one_within_is_read() -> None:
    side = int(MAX_DECODED_PIXELS ** 0.5)
    with pytest.raises(DocumentTooLarge):
        load_image(png_bomb(side + 8))
    assert load_image(png_bomb(side - 8)).shape == (side - 8, side - 8, 3)


def test_jpeg_beyond_any_camera_is_refused_before_decoding() -> None:
    with pytest.raises(DocumentTooLarge, match="pixels"):
        read_document(jpeg_claiming(30_000, 20_000))


def test_large_phone_photo_is_decoded_at_a_reduced_scale() -> None:
    ok, buf = cv2.imencode(".jpg", np.full((6_000, 10_800), 200, np.uint8))  # a 65 MP photo
    assert ok
    image = load_image(buf.tobytes())
    assert image.shape == (3_000, 5_400, 3)
    assert image.shape[0] * image.shape[1] <= MAX_DECODED_PIXELS


def test_huge_pdf_page_is_rendered_within_the_pixel_budget() -> None:
    data = tall_pdf()
    assert len(data) < 2_000
    page = next(pdf_pages(data, 2400))
    height, width = page.image.shape[:2]
    assert width * height <= 1.01 * MAX_RENDER_PIXELS  # pdfium rounds the bitmap up to whole pixels
    assert height > 20 * width  # the page keeps its shape, only the scale is capped
    assert page.image.shape[1] < 2400


def test_narrow_strip_is_not_blown_up_to_the_reading_width() -> None:
    strip = np.zeros((24_000, 300, 3), np.uint8)  # 7.2 MP, 1:80: at 1,600 px wide it would be 205 MP
    page = scale_to_width(strip, 1600)
    assert page.shape[0] * page.shape[1] <= MAX_PAGE_PIXELS
    assert scale_to_width(np.zeros((1100, 2000, 3), np.uint8), 1600).shape == (880, 1600, 3)


def test_bombs_cost_little_memory() -> None:
    # Without the caps the PNG took 2.7 GB and the PDF 8.4 GB; the imports alone take about 200 MB.
    assert _peak_rss_mb("png") < 700
    assert _peak_rss_mb("pdf") < 900
