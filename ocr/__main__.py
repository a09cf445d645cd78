"""``python -m ocr FILE [--engine NAME]``: print the invoice read from FILE as one JSON object.

FILE may be a photo or scan, a PDF, an OFD package or a 数电票 XML. Each object holds the invoice
fields, ``items`` (the item names, e.g. ``*餐饮服务*餐费``) and ``confidence`` (field -> 0..1). A file with several invoices (a multi-page PDF, an OFD
with several documents) prints one object per invoice, one per line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ocr import DEFAULT_ENGINE, ENGINES, read_document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ocr",
                                     description="Read Chinese VAT invoices from an image, PDF, OFD or XML file.")
    parser.add_argument("file", type=Path)
    parser.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE)
    args = parser.parse_args(argv)
    for invoice in read_document(args.file.read_bytes(), engine=args.engine):
        json.dump(invoice.to_json_dict(with_confidence=True, with_items=True), sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
