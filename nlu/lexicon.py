"""The language data (lexicon.toml) as validated models, loaded once per process."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, model_validator

FILE = Path(__file__).with_name("lexicon.toml")
VALUES = ("amount", "date", "category", "number")  # features a sentence's values give, besides concepts


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Intent(Strict):
    needs: tuple[str, ...]
    min: float = 2.0
    weights: dict[str, float]
    title: tuple[str, str]
    say: tuple[str, str]


class Money(Strict):
    before: tuple[str, ...]
    counters: tuple[str, ...]
    not_counters: tuple[str, ...]
    after: tuple[str, ...]
    total: tuple[str, ...]


class Dates(Strict):
    vague: tuple[str, ...]


class Fillers(Strict):
    words: frozenset[str]


class Context(Strict):
    """Concepts read differently next to others: asked as a question, or after a negation."""

    asked: dict[str, str]
    negated: dict[str, str]
    negations: frozenset[str]


class Lexicon(Strict):
    typos: dict[str, str]
    concepts: dict[str, tuple[str, ...]]
    fillers: Fillers
    context: Context
    money: Money
    dates: Dates
    categories: dict[str, tuple[str, ...]]
    intents: dict[str, Intent]

    @model_validator(mode="after")
    def _known_names(self) -> Lexicon:
        """A weight or need naming no concept is a typo in the data: refuse it at load."""
        known = set(self.concepts) | set(VALUES)
        for name, intent in self.intents.items():
            unknown = (set(intent.needs) | set(intent.weights)) - known
            if unknown:
                raise ValueError(f"intent {name!r} names unknown concepts {sorted(unknown)}")
        return self

    def words(self) -> set[str]:
        """Every multi-character word of the data, for the segmenter's dictionary."""
        found = {w for words in self.concepts.values() for w in words}
        found |= {w for words in self.categories.values() for w in words}
        found |= set(self.money.before) | set(self.dates.vague) | set(self.typos.values()) | set(self.context.negations)
        return {w for w in found if len(w) > 1 and not w.isascii()}


@cache
def lexicon() -> Lexicon:
    with FILE.open("rb") as fh:
        return Lexicon.model_validate(tomllib.load(fh))
