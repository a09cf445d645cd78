"""Money as people type it, table-driven from corpus/money.tsv: no amount may ever be read wrong."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from dialogs.money import read_amount

TABLE = Path(__file__).with_name("corpus") / "money.tsv"


def _rows() -> list[tuple[str, str]]:
    rows = []
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip("\n"):
            continue
        text, expected = line.split("\t")
        rows.append((text, expected))
    return rows


ROWS = _rows()


def test_the_table_is_large() -> None:
    assert len(ROWS) >= 100


@pytest.mark.parametrize(("text", "expected"), ROWS, ids=[f"{i}:{t}" for i, (t, _) in enumerate(ROWS)])
def test_amount_forms(text: str, expected: str) -> None:
    read = read_amount(text)
    if expected == "none":
        assert read is None
        return
    assert read is not None
    unsure = expected.startswith("?")
    assert read.value == Decimal(expected.lstrip("?"))
    assert read.sure is not unsure
