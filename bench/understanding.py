"""What reading free text costs: the segmenter's start-up and the time per message.

    python bench/understanding.py [--rounds 20]

Loads the segmenter as the bot does at start (jieba's dictionary plus the lexicon's words; the
first run in a fresh temp folder also builds jieba's cache), then reads every utterance of
tests/nlu/corpus/utterances.tsv `--rounds` times with the per-message cache cleared, so each read
is a real one. Prints the start-up time, the median and 99th percentile per message, and the
messages per second on one core. Target: a message read in well under 5 ms, so understanding
never shows in the bot's processing time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from handlers.rules import DEFAULT_CATEGORIES  # noqa: E402
from nlu import segment, understand  # noqa: E402
from nlu.understand import _understand  # noqa: E402

CORPUS = ROOT / "tests" / "nlu" / "corpus" / "utterances.tsv"
TODAY = date(2026, 11, 25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    texts = [line.split("\t")[2] for line in CORPUS.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    categories = tuple((c.name, tuple(c.aliases)) for c in DEFAULT_CATEGORIES)

    started = time.perf_counter()
    segment.warm_up()
    load = time.perf_counter() - started

    samples = []
    for _ in range(args.rounds):
        for text in texts:
            _understand.cache_clear()
            t0 = time.perf_counter()
            understand(text, TODAY, categories)
            samples.append(time.perf_counter() - t0)
    samples.sort()
    median = statistics.median(samples)
    p99 = samples[int(len(samples) * 0.99)]
    print(f"segmenter start-up: {load:.2f} s")
    print(f"messages read: {len(samples)} ({len(texts)} utterances x {args.rounds})")
    print(f"per message: median {median * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms, "
          f"{len(samples) / sum(samples):,.0f} messages/s on one core")


if __name__ == "__main__":
    main()
