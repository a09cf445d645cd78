"""A sentence → what the person wants (intent) and the values in it (slots).

Steps, all driven by lexicon.toml: fix known typos; find the values (expense numbers, dates,
amounts) and blank them out; segment the rest with jieba; name the concepts its words (or runs of
words) belong to; score every intent by the weights of the concepts and values present; keep
the best one if it is clear enough. Whatever is neither a concept, a filler nor a value is the
sentence's own content: the expense description, a rejection reason, a department name.
"""

from __future__ import annotations

import difflib
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache

from dialogs.money import Reading
from dialogs.parsing import category_match
from nlu.entities import find_amounts, find_dates, find_numbers, pick_amount, vague_date
from nlu.lexicon import Lexicon, lexicon
from nlu.segment import words as segment

Categories = tuple[tuple[str, tuple[str, ...]], ...]  # (name, aliases) as the rules define them
MAX_RUN = 4  # a concept word may span this many segmented words (到/哪/了)
FUZZY_CUTOFF = 0.8  # English typos (bugdet) within this similarity count as the word


@dataclass(frozen=True)
class Understanding:
    """What a sentence says. `intent` is None when no intent is clear; `closest` is then the best guess."""

    intent: str | None
    closest: str | None
    concepts: frozenset[str]
    content: tuple[str, ...]  # words that are not concepts, fillers or values, in order
    amount: Reading | None = None
    amount_text: str = ""
    amounts: tuple[Decimal, ...] = ()  # the candidates, when more than one amount was found
    day: date | None = None
    days: tuple[date, ...] = ()  # when several different days were named
    vague_day: str | None = None  # 上周, 上个月: a time but no single day
    category: str | None = None
    number: str | None = None
    scores: dict[str, float] = field(default_factory=dict)  # why the intent won: what to look at when tuning

    @property
    def plain(self) -> bool:
        """Nothing but request words, fillers and values: clearly a request, not an answer to a question."""
        return not self.content

    @property
    def description(self) -> str:
        return _join(self.content)


def understand(text: str, today: date, categories: Categories = ()) -> Understanding:
    """Read `text` as of `today` (business time zone); `categories` are the rules' names and aliases."""
    return _understand(text, today, categories)


@lru_cache(maxsize=512)
def _understand(text: str, today: date, categories: Categories) -> Understanding:
    lex = lexicon()
    s = _fix_typos(unicodedata.normalize("NFKC", text).strip(), lex)
    typed_words = set(s.split())
    numbers = find_numbers(s)
    s = _blank(s, numbers)
    dates = find_dates(s, today)
    s = _blank(s, dates)
    vague = vague_date(s) if not dates else None
    s = _blank(s, [vague] if vague else [])
    amounts = find_amounts(s)
    s = _blank(s, amounts)
    amount, candidates = pick_amount(amounts)
    tokens: list[str] = []
    named: str | None = None
    for chunk in s.split():
        if chunk in typed_words and named is None and (named := _named_category(chunk, categories)) is not None:
            continue  # a word on its own that names a category is the category, not the description
        tokens += segment(chunk)
    concepts, content, category = _read_words(tokens, lex, categories)
    category = named or category
    days = tuple(dict.fromkeys(d.day for d in dates if d.day is not None))
    values = {
        "amount": amount is not None or len(candidates) > 1,
        "date": bool(dates),
        "category": category is not None,
        "number": bool(numbers),
    }
    scores = _scores(lex, concepts, {k for k, v in values.items() if v})
    intent, closest = _choose(lex, scores)
    return Understanding(
        intent=intent, closest=closest, concepts=frozenset(concepts), content=tuple(content),
        amount=amount.reading if amount else None, amount_text=amount.text if amount else "",
        amounts=tuple(candidates) if amount is None else (), day=days[0] if len(days) == 1 else None,
        days=days if len(days) > 1 else (),
        vague_day=vague.text if vague else None, category=category,
        number=numbers[0].text if len({n.text for n in numbers}) == 1 else None, scores=scores,
    )


def _fix_typos(text: str, lex: Lexicon) -> str:
    for wrong, right in lex.typos.items():
        text = text.replace(wrong, right)
    return text


def _blank(text: str, found: list) -> str:
    for f in found:
        text = text[: f.start] + " " * (f.end - f.start) + text[f.end:]
    return text


def _join(words: list[str] | tuple[str, ...]) -> str:
    out = ""
    for word in words:
        if out and out[-1].isascii() and out[-1].isalnum() and word[:1].isascii() and word[:1].isalnum():
            out += " "
        out += word
    return out


@lru_cache(maxsize=8)
def _vocabulary(categories: Categories) -> tuple[dict[str, str], dict[str, tuple[int, str]], tuple[str, ...]]:
    """Word → concept, word → (rank, category) and the English concept words (for typo matching).

    Category ties (two words of the same length) go to the category listed first in the lexicon,
    which lists the more specific ones first (请客 吃饭 is 招待, not 餐饮).
    """
    lex = lexicon()
    concept_of = {_key(w): name for name, words in lex.concepts.items() for w in words}
    order = [*lex.categories, *(name for name, _ in categories if name not in lex.categories)]
    category_of: dict[str, tuple[int, str]] = {}
    for name, aliases in categories:
        for word in (name, *aliases, *lex.categories.get(name, ())):
            category_of.setdefault(_key(word), (order.index(name), name))
    english = tuple(w for w in concept_of if w.isascii() and w.isalpha() and len(w) >= 4)
    return concept_of, category_of, english


def _key(word: str) -> str:
    return unicodedata.normalize("NFKC", word).lower()


def _read_words(tokens: list[str], lex: Lexicon, categories: Categories) -> tuple[set[str], list[str], str | None]:
    """(concepts named, content words, category) of the segmented sentence."""
    concept_of, category_of, english = _vocabulary(categories)
    concepts: set[str] = set()
    content: list[str] = []
    best: tuple[int, int, str] | None = None  # (-length, rank, name) of the most specific category word
    i = 0
    while i < len(tokens):
        size, concept = _concept_at(tokens, i, concept_of, english)
        run = tokens[i:i + size]
        if concept is not None and i > 0 and tokens[i - 1] in lex.context.negations:
            concept = lex.context.negated.get(concept, concept)  # 不予通过 is a rejection
        if concept is not None:
            concepts.add(concept)
        elif run[0] not in lex.fillers.words:
            content.append(run[0])
        found = _category_in(run, category_of)
        if found is not None and (best is None or found < best):
            best = found
        i += size
    said = [t for t in tokens if concept_of.get(t) == "question" or t not in lex.fillers.words]
    if said and concept_of.get(said[-1]) == "question":  # 通过了吗(啊): asking about a decision, not making one
        concepts = {lex.context.asked.get(c, c) for c in concepts}
    return concepts, content, best[2] if best else None


def _concept_at(tokens: list[str], i: int, concept_of: dict[str, str], english: tuple[str, ...]) -> tuple[int, str | None]:
    """(words used, concept) for the longest run of words from `i` that names a concept."""
    for size in range(min(MAX_RUN, len(tokens) - i), 0, -1):
        key = _join(tokens[i:i + size])
        if key in concept_of:
            return size, concept_of[key]
    typo = _english_typo(tokens[i], english)
    return 1, (concept_of[typo] if typo else None)


def _named_category(chunk: str, categories: Categories) -> str | None:
    """The category a whole chunk names by the rules' own words (交通, 打车), or an English typo (transprot)."""
    concept_of, _, _ = _vocabulary(categories)
    if _key(chunk) in concept_of:
        return None  # 通过 is a decision, not a typo of 通讯
    found = category_match(chunk, categories, cutoff=FUZZY_CUTOFF)
    if found is None or found[1] == "contains" or (found[1] == "typo" and not chunk.isascii()):
        return None  # one wrong Chinese character is too often another word (好滴 is not 滴滴)
    return found[0]


def _category_in(run: list[str], category_of: dict[str, tuple[int, str]]) -> tuple[int, int, str] | None:
    """The most specific category word inside these words (a word may contain it: 差旅费 → 差旅)."""
    text = _join(run)
    hits = [(-len(word), rank, name) for word, (rank, name) in category_of.items()
            if word == text or (len(word) >= 2 and not word.isascii() and word in text)]
    return min(hits) if hits else None


@lru_cache(maxsize=1024)
def _english_typo(word: str, vocabulary: tuple[str, ...]) -> str | None:
    """The English concept word `word` is a small typo of (bugdet → budget), if any."""
    if len(word) < 4 or not word.isascii() or not word.isalpha():
        return None
    close = difflib.get_close_matches(word, vocabulary, n=1, cutoff=FUZZY_CUTOFF)
    return close[0] if close else None


def _scores(lex: Lexicon, concepts: set[str], values: set[str]) -> dict[str, float]:
    present = concepts | values
    scores = {}
    for name, intent in lex.intents.items():
        if not present & set(intent.needs):
            continue
        scores[name] = sum(w for feature, w in intent.weights.items() if feature in present)
    return scores


def _choose(lex: Lexicon, scores: dict[str, float]) -> tuple[str | None, str | None]:
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    if not ranked:
        return None, None
    best, score = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else float("-inf")
    clear = score >= lex.intents[best].min and score > runner_up
    return (best if clear else None), best
