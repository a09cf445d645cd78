"""Invoice OCR: image or PDF bytes in, an Invoice with per-field confidence out.

Pure functions over bytes (no network, no database). Engines load lazily, once per process.
"""

from __future__ import annotations

from ocr.engines import ENGINES
from ocr.models import Invoice
from ocr.reader import DEFAULT_ENGINE, read_invoice

__all__ = ["DEFAULT_ENGINE", "ENGINES", "Invoice", "read_invoice"]
