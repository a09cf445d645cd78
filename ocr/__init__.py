"""Invoice reading: image, PDF, OFD or 数电票 XML bytes in, Invoices with per-field confidence out.

Pure functions over bytes (no network, no database). Engines load lazily, once per process.
"""

from __future__ import annotations

from ocr.engines import ENGINES
from ocr.limits import DocumentTooLarge
from ocr.models import Invoice
from ocr.reader import DEFAULT_ENGINE, read_document, read_invoice

__all__ = ["DEFAULT_ENGINE", "ENGINES", "DocumentTooLarge", "Invoice", "read_document", "read_invoice"]
