"""Draw invoices of companies, items and places the development set never shows.

    python bench/ocr_heldout.py --gen ../shared/ocr-gen --seed 7 --counts 10,10,75 --out DIR

Imports the invoice generator kept outside the repository (``--gen``), swaps its development word
lists for the held-out ones of ``bench/ocr_heldout_words.json`` (other cities with their real district
codes, trade names, industries, company forms such as ``（中国）有限公司`` or ``合伙企业（有限合伙）``,
names with Latin letters and digits, long item names with specs, roads, districts, banks), then runs
the generator's own ``main`` with the remaining arguments. Every truth JSON also lists the item names
(``items``), so the benchmark scores them too. ``--words dev`` keeps the development lists and only
adds the item names, so both vocabularies are scored the same way. ``--other-fonts`` draws with the
file's ``fonts`` instead of the generator's (other CJK families installed with fonts-noto-cjk and
fonts-wqy-microhei: traditional and Japanese glyph shapes, CJK monospaced digits).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

WORDS = Path(__file__).with_name("ocr_heldout_words.json")


def _swap_words(gen: ModuleType, words: dict[str, Any]) -> None:
    """Point the generator's module-level lists at the held-out words; company names take the
    held-out forms (city first or not, a bracketed place, a branch) instead of the generator's one."""
    gen.CITIES = [(c[0], c[1], c[2], c[3]) for c in words["cities"]]
    gen.TRADE_NAMES, gen.INDUSTRIES = words["trade_names"], words["industries"]
    gen.ITEMS = [(i[0], i[1], i[2], tuple(i[3]), i[4]) for i in words["items"]]
    gen.ROADS, gen.DISTRICTS, gen.BANKS = words["roads"], words["districts"], words["banks"]
    gen.SUFFIXES = words["suffixes"]
    made = gen.make_company

    def make_company(r: random.Random, vocab: Any, city: Any = None) -> dict[str, Any]:
        company = made(r, vocab, city)
        place = company["city"]
        company["name"] = r.choice(words["name_forms"]).format(
            city=place[0], short=place[0].removesuffix("市"), province=place[3], trade=r.choice(vocab.trade),
            industry=r.choice(vocab.industry), suffix=r.choice(gen.SUFFIXES))
        return company

    gen.make_company = make_company


def _with_items(gen: ModuleType) -> None:
    """Truths also carry the item names as printed, so item-name reading is scored."""
    truth = gen.ground_truth
    gen.ground_truth = lambda inv: {**truth(inv), "items": [line["name"] for line in inv["lines"]]}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gen", type=Path, required=True, help="folder of gen_invoices.py")
    ap.add_argument("--words", default=str(WORDS), help="held-out words (JSON), or 'dev' for the generator's own")
    ap.add_argument("--other-fonts", action="store_true", help="draw with the words file's fonts")
    args, rest = ap.parse_known_args(argv)
    sys.path.insert(0, str(args.gen.resolve()))
    import gen_invoices  # lives outside the repository, found through --gen

    if args.words != "dev":
        _swap_words(gen_invoices, json.loads(Path(args.words).read_text(encoding="utf-8")))
    if args.other_fonts:
        gen_invoices.FONT_FAMILIES = json.loads(WORDS.read_text(encoding="utf-8"))["fonts"]
    _with_items(gen_invoices)
    sys.argv = [str(args.gen / "gen_invoices.py"), *rest]
    gen_invoices.main()


if __name__ == "__main__":
    main()
