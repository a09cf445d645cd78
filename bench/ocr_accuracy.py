"""Invoice OCR accuracy and speed on fresh generated invoices, including phone conditions.

    python bench/ocr_accuracy.py                        # fresh seed: 30 clean, 30 mild, 150 hard
                                                        # + 20 photos per phone condition
    python bench/ocr_accuracy.py --seed 123456          # repeat a draw
    python bench/ocr_accuracy.py --vocab heldout        # companies, items, places the dev set never has
    python bench/ocr_accuracy.py --dir ../shared/ocr-dev -v   # a fixed set, for debugging

Images come from the invoice generator kept outside the repository (``../shared/ocr-gen`` or
``--gen``; it needs pillow, numpy, qrcode and the Debian fonts fonts-noto-cjk, fonts-wqy-microhei,
fonts-dejavu-core). Draws go through ``bench/ocr_heldout.py``, which adds the item names to every
truth (scored as ``items``) and, with ``--vocab heldout``, swaps in words the generator never uses
(``bench/ocr_heldout_words.json``). The phone conditions (``bench/ocr_phone.py``) are applied on top of its mild
photos. Reads go through ``bot.runtime.ocr_workers.OcrWorkers`` with one worker, as the bot runs them: the engine is
loaded when the worker starts, and every image is timed, the first one included.

Prints per-field accuracy by condition, the share with all key fields right, how many key fields
were wrong yet returned as certain (confidence at or above the bot's threshold), and median / p95
seconds per image. ``--report FILE`` writes every prediction as JSON for analysis.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from bench.ocr_phone import CONDITIONS  # noqa: E402
from bot.runtime.ocr_workers import OcrWorkers  # noqa: E402
from ocr import DEFAULT_ENGINE, ENGINES  # noqa: E402
from ocr.models import DEFAULT_THRESHOLD, FIELDS, KEY_FIELDS  # noqa: E402

DEFAULT_GEN = ROOT.parent / "shared" / "ocr-gen"
LEVELS = ("clean", "mild", "hard")


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


def _generate(gen: Path, vocab: str, seed: int, counts: str, out: Path) -> None:
    words = ["--words", "dev"] if vocab == "dev" else []
    subprocess.run([sys.executable, str(ROOT / "bench" / "ocr_heldout.py"), "--gen", str(gen), *words,
                    "--seed", str(seed), "--counts", counts, "--out", str(out)],
                   cwd=gen, check=True, stdout=subprocess.DEVNULL)


def _truths(folder: Path) -> list[tuple[dict[str, Any], Path]]:
    found = []
    for path in sorted(folder.glob("*.json")):
        truth = json.loads(path.read_text(encoding="utf-8"))
        image = folder / truth.get("image", "")
        if truth.get("image") and image.exists():
            found.append((truth, image))
    return found


def _with_conditions(base: list[tuple[dict[str, Any], Path]], seed: int, out: Path) -> list[tuple[dict[str, Any], Path]]:
    """Give each base photo one phone condition in turn; the truth moves along with a new difficulty
    (written beside the image, so a kept draw can be scored again with ``--dir``)."""
    names = list(CONDITIONS)
    made = []
    for i, (truth, image) in enumerate(base):
        name = names[i % len(names)]
        rng = random.Random(f"{seed}-{name}-{i}")
        photo = cv2.imdecode(np.frombuffer(image.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
        path = out / f"inv_{name}_{i:03d}.jpg"
        path.write_bytes(CONDITIONS[name](photo, rng))
        moved = {**truth, "difficulty": name, "image": path.name}
        path.with_suffix(".json").write_text(json.dumps(moved, ensure_ascii=False), encoding="utf-8")
        made.append((moved, path))
    return made


def _draw(args: argparse.Namespace, work: Path) -> list[tuple[dict[str, Any], Path]]:
    gen = args.gen
    if not (gen / "gen_invoices.py").exists():
        sys.exit(f"invoice generator not found at {gen} (expected gen_invoices.py there); pass --gen PATH, "
                 f"or --dir DIR to score a fixed set")
    print(f"seed {args.seed} (repeat with --seed {args.seed}); generator {gen}; vocabulary {args.vocab}",
          flush=True)
    main_dir, base_dir = work / "main", work / "cond-base"
    _generate(gen, args.vocab, args.seed, args.counts, main_dir)
    items = _truths(main_dir)
    if args.per_condition:
        _generate(gen, args.vocab, args.seed + 1, f"0,{args.per_condition * len(CONDITIONS)},0", base_dir)
        items += _with_conditions(_truths(base_dir), args.seed, main_dir)
    return items


async def _read_all(items: list[tuple[dict[str, Any], Path]], engine: str,
                    verbose: bool) -> list[dict[str, Any]]:
    pool = OcrWorkers(engine, 1, timeout=600)
    await pool.start()
    rows = []
    try:
        for truth, image in items:
            data = image.read_bytes()
            t0 = time.perf_counter()
            inv = (await pool.read_document(data))[0]
            secs = time.perf_counter() - t0
            pred = inv.to_json_dict(with_confidence=True, with_items="items" in truth)
            ok = {f: _norm(f, truth.get(f)) == _norm(f, pred.get(f)) for f in FIELDS}
            if "items" in truth:
                ok["items"] = [_norm("items", i) for i in truth["items"]] == [_norm("items", i) for i in inv.items]
            sure_wrong = [f for f in KEY_FIELDS if not ok[f] and f not in inv.uncertain_fields()]
            rows.append({"image": image.name, "level": truth.get("difficulty", "all"), "secs": secs, "ok": ok,
                         "sure_wrong": sure_wrong, "pred": pred, "truth": {f: truth.get(f) for f in ok},
                         "uncertain": inv.uncertain_fields()})
            flag = " SURE-WRONG " + ",".join(sure_wrong) if sure_wrong else ""
            key = "key ok" if all(ok[k] for k in KEY_FIELDS) else "key WRONG"
            print(f"{image.name:24s} {secs:5.2f}s {sum(ok.values()):2d}/{len(ok)} {key}{flag}", flush=True)
            if verbose:
                for f in ok:
                    if not ok[f]:
                        print(f"    {f:15s} truth={truth.get(f)!s:34s} pred={pred.get(f)} "
                              f"conf={pred['confidence'].get(f)}")
    finally:
        await pool.close()
    return rows


def _summary(rows: list[dict[str, Any]]) -> None:
    levels = [lv for lv in (*LEVELS, *CONDITIONS) if any(r["level"] == lv for r in rows)]
    levels += sorted({r["level"] for r in rows} - set(levels))
    cols = [*levels, "all"]

    def subset(col: str) -> list[dict[str, Any]]:
        return rows if col == "all" else [r for r in rows if r["level"] == col]

    def line(label: str, values: list[str]) -> None:
        print(f"{label:16s}" + "".join(f"{v:>10s}" for v in values))

    print()
    line("field", cols)
    line("images", [str(len(subset(c))) for c in cols])
    for f in [*FIELDS, *(["items"] if all("items" in r["ok"] for r in rows) else [])]:
        line(f, [f"{100 * sum(r['ok'][f] for r in subset(c)) / len(subset(c)):.1f}" for c in cols])
    line("key fields all", [f"{100 * sum(all(r['ok'][k] for k in KEY_FIELDS) for r in subset(c)) / len(subset(c)):.1f}"
                            for c in cols])
    line("asked (uncertain)", [f"{100 * sum(bool(r['uncertain']) for r in subset(c)) / len(subset(c)):.1f}"
                               for c in cols])
    line("sure but wrong", [str(sum(len(r["sure_wrong"]) for r in subset(c))) for c in cols])
    line("median s", [f"{statistics.median(r['secs'] for r in subset(c)):.2f}" for c in cols])
    line("p95 s", [f"{_p95([r['secs'] for r in subset(c)]):.2f}" for c in cols])
    print(f"\nthreshold for 'sure': confidence >= {DEFAULT_THRESHOLD}; first image {rows[0]['secs']:.2f} s; "
          f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (times are wall clock)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=None, help="repeat a draw (default: a fresh random seed)")
    ap.add_argument("--counts", default="30,30,150", help="clean,mild,hard images to generate")
    ap.add_argument("--per-condition", type=int, default=20, help="photos per phone condition (0: none)")
    ap.add_argument("--vocab", choices=("dev", "heldout"), default="dev",
                    help="the generator's own words, or held-out ones (bench/ocr_heldout_words.json)")
    ap.add_argument("--gen", type=Path, default=DEFAULT_GEN, help="folder of gen_invoices.py")
    ap.add_argument("--dir", type=Path, help="score this folder of images + truth JSON instead of drawing")
    ap.add_argument("--keep", type=Path, help="keep the drawn images in this folder")
    ap.add_argument("--engine", choices=ENGINES, default=DEFAULT_ENGINE)
    ap.add_argument("--report", type=Path, help="write every prediction here as JSON")
    ap.add_argument("-v", "--verbose", action="store_true", help="print each wrong field")
    args = ap.parse_args(argv)
    if args.seed is None:
        args.seed = secrets.randbelow(10**9)

    with tempfile.TemporaryDirectory(prefix="ocr-bench-") as tmp:
        if args.dir:
            items = _truths(args.dir)
        else:
            work = args.keep or Path(tmp)
            work.mkdir(parents=True, exist_ok=True)
            items = _draw(args, work)
        if not items:
            sys.exit("no ground truth with images to score")
        rows = asyncio.run(_read_all(items, args.engine, args.verbose))
    print(f"\nengine: {args.engine}" + ("" if args.dir else f"; seed {args.seed}; vocabulary {args.vocab}"))
    _summary(rows)
    if args.report:
        args.report.write_text(json.dumps({"seed": args.seed, "rows": rows}, ensure_ascii=False, indent=1),
                               encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
