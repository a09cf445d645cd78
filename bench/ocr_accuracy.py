"""Invoice OCR accuracy and speed on a folder of images with ground-truth JSON beside them.

    python bench/ocr_accuracy.py ../shared/ocr-dev [--engine tesseract]

Runs the reader in-process (engine loaded once, before timing) and prints per-field accuracy by
difficulty, the share of invoices with all key fields right, and median / p95 seconds per image
(wall clock, plus CPU seconds of this process, which stay comparable on a busy machine).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import unicodedata
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocr import DEFAULT_ENGINE, ENGINES, read_invoice
from ocr.engines import get_engine
from ocr.models import FIELDS, KEY_FIELDS


def _norm(field: str, value: Any) -> str | None:
    """Compare like the dev-set scorer: NFKC, no spaces, money to 2 decimals, 元 = 圆, codes upper-case."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    s = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(value)))
    if field in ("amount", "tax", "total"):
        s = s.replace("¥", "").replace(",", "")
        try:
            return str(Decimal(s).quantize(Decimal("0.01")))
        except InvalidOperation:
            return s
    if field == "total_cn":
        return s.replace("元", "圆").replace("ⓧ", "").replace("⊗", "").lstrip("xX")
    return s.upper()


def _p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[max(0, min(len(xs) - 1, round(0.95 * (len(xs) - 1))))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", type=Path)
    ap.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE)
    ap.add_argument("-v", "--verbose", action="store_true", help="print each wrong field")
    args = ap.parse_args(argv)

    truths = []
    for path in sorted(args.dir.glob("*.json")):
        truth = json.loads(path.read_text(encoding="utf-8"))
        image = args.dir / truth.get("image", "")
        if truth.get("image") and image.exists():
            truths.append((truth, image))
    if not truths:
        sys.exit(f"no ground truth with images in {args.dir}")

    get_engine(args.engine)  # load once, outside the timing
    rows: list[dict[str, Any]] = []
    for truth, image in truths:
        t0, c0 = time.perf_counter(), time.process_time()
        pred = read_invoice(image.read_bytes(), engine=args.engine).to_json_dict()
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        ok = {f: _norm(f, truth.get(f)) == _norm(f, pred.get(f)) for f in FIELDS}
        rows.append({"level": truth.get("difficulty", "all"), "secs": secs, "cpu": cpu, "ok": ok})
        print(f"{image.name:22s} {secs:5.2f}s (cpu {cpu:5.2f}s) {sum(ok.values()):2d}/{len(FIELDS)}", flush=True)
        if args.verbose:
            for f in FIELDS:
                if not ok[f]:
                    print(f"    {f:15s} truth={truth.get(f)!s:34s} pred={pred.get(f)}")

    levels = [lv for lv in ("clean", "mild", "hard") if any(r["level"] == lv for r in rows)]
    levels += sorted({r["level"] for r in rows} - set(levels) - {"all"})
    cols = [*levels, "all"]

    def subset(col: str) -> list[dict[str, Any]]:
        return rows if col == "all" else [r for r in rows if r["level"] == col]

    print(f"\nengine: {args.engine}\n{'field':16s}" + "".join(f"{c:>9s}" for c in cols))
    for f in FIELDS:
        print(f"{f:16s}" + "".join(f"{100 * sum(r['ok'][f] for r in subset(c)) / len(subset(c)):9.1f}" for c in cols))
    key = [100 * sum(all(r["ok"][k] for k in KEY_FIELDS) for r in subset(c)) / len(subset(c)) for c in cols]
    print(f"{'key fields all':16s}" + "".join(f"{v:9.1f}" for v in key))
    print(f"{'median s':16s}" + "".join(f"{statistics.median(r['secs'] for r in subset(c)):9.2f}" for c in cols))
    print(f"{'median cpu s':16s}" + "".join(f"{statistics.median(r['cpu'] for r in subset(c)):9.2f}" for c in cols))
    print(f"{'p95 s':16s}" + "".join(f"{_p95([r['secs'] for r in subset(c)]):9.2f}" for c in cols))
    return 0


if __name__ == "__main__":
    sys.exit(main())
