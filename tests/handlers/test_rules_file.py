"""The documented example rules file stays valid, and a bad rules file is refused at start."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from handlers.rules import Rules, load_rules
from tests.paths import ROOT

EXAMPLE = ROOT / "docs" / "rules.example.toml"


def test_example_file_loads_and_keeps_money_exact() -> None:
    rules = load_rules(EXAMPLE)
    assert rules.approval.parent_leader_above == Decimal("5000")
    assert {c.name for c in rules.expense.categories} >= {"交通", "差旅", "餐饮", "其他"}
    assert rules.expense.policy[0].check == "future_date"
    assert rules.budget.thresholds == (80, 100)


def test_defaults_without_a_file() -> None:
    assert load_rules(None) == Rules()


def test_unknown_keys_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "rules.toml"
    bad.write_text("[approval]\nparent_leader_abov = 100\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="parent_leader_abov"):
        load_rules(bad)
