"""How large an upload may decode to, checked before anything is decoded.

A compressed file says little about its decoded size: a 445 KB PNG can hold 12,000 x 12,000 pixels
(gigabytes once decoded and copied through the pipeline) and a 444-byte PDF can declare a page of
600 x 14,400 points. Image sizes are read from the header (decoding is lazy) and PDF pages are
rendered at a scale capped by a pixel budget, so a hostile or careless upload is refused or shrunk
before it costs memory.
"""

from __future__ import annotations

import math

# Decoded pixels one image may have: a 40 MP photo is 120 MB as RGB, several times the detail the
# reader uses (pages are read about 1,600 px wide).
MAX_DECODED_PIXELS = 40_000_000
# Header size a JPEG may declare: the largest phone sensors (200 MP). JPEG decodes at 1/2, 1/4 or
# 1/8 scale for almost nothing, so such a photo is decoded reduced to within MAX_DECODED_PIXELS.
MAX_JPEG_PIXELS = 200_000_000
# Pixels of the page the engines read (a 1,600 px wide invoice is about 1.8 MP); a tall narrow image
# scaled to the reading width would otherwise grow without bound.
MAX_PAGE_PIXELS = 6_000_000
# Pixels of one rendered PDF page: an A4 page 2,400 px wide is 8.2 MP.
MAX_RENDER_PIXELS = 12_000_000


class DocumentTooLarge(ValueError):
    """The upload would decode to more pixels than a reading may use; refused before decoding."""


def jpeg_reduction(width: int, height: int) -> int:
    """The power-of-two factor (1, 2, 4 or 8) a JPEG of that size is decoded at to fit the budget."""
    if width * height > MAX_JPEG_PIXELS:
        raise DocumentTooLarge(f"photo of {width} x {height} pixels is larger than {MAX_JPEG_PIXELS:,} pixels")
    factor = 1
    while width * height > MAX_DECODED_PIXELS * factor * factor:
        factor *= 2
    return factor


def check_pixels(width: int, height: int) -> None:
    """Refuse an image (other than JPEG) whose declared size is over the decoding budget."""
    if width * height > MAX_DECODED_PIXELS:
        raise DocumentTooLarge(f"image of {width} x {height} pixels is larger than {MAX_DECODED_PIXELS:,} pixels")


def render_scale(width_pt: float, height_pt: float, wanted_width_px: int) -> float:
    """Pixels per point for a PDF page: the wanted width, unless that breaks the pixel budget."""
    width_pt, height_pt = max(width_pt, 1.0), max(height_pt, 1.0)  # a degenerate page renders as a speck
    return min(wanted_width_px / width_pt, math.sqrt(MAX_RENDER_PIXELS / (width_pt * height_pt)))
