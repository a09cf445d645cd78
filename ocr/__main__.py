"""``python -m ocr FILE [--engine NAME]``: print the invoice read from FILE as one JSON object."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ocr import DEFAULT_ENGINE, ENGINES, read_invoice


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ocr", description="Read a Chinese VAT invoice image or PDF.")
    parser.add_argument("file", type=Path)
    parser.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE)
    args = parser.parse_args(argv)
    invoice = read_invoice(args.file.read_bytes(), engine=args.engine)
    json.dump(invoice.to_json_dict(with_confidence=True), sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
