"""Chinese word segmentation: jieba, with the lexicon's words added to its dictionary.

jieba's dictionary ships inside the wheel (nothing is downloaded); building its prefix table takes
about a second, so one tokenizer is made per process, on the first message that needs it (processes
that never read chat, such as the audit command, never pay for it), and jieba caches the table in
the temp folder for the next process.
"""

from __future__ import annotations

import logging
from functools import cache

import jieba

from nlu.lexicon import lexicon

USER_WORD_FREQ = 50_000  # high enough that a lexicon word is kept whole (待审批, 报个销)


@cache
def _tokenizer() -> jieba.Tokenizer:
    logging.getLogger("jieba").setLevel(logging.WARNING)  # its start-up chatter is not ours to log
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for word in sorted(lexicon().words()):
        tokenizer.add_word(word, USER_WORD_FREQ)
    return tokenizer


def warm_up() -> None:
    """Build the tokenizer now instead of on the first message (the benchmark times it apart)."""
    _tokenizer()


def words(text: str) -> list[str]:
    """The words of `text` in order, whitespace and punctuation dropped, English lower-cased."""
    return [w.lower() for w in _tokenizer().lcut(text) if w.strip() and not _is_punct(w)]


def _is_punct(word: str) -> bool:
    return all(not ch.isalnum() and ch not in "?？%％¥￥" for ch in word)
