"""Chinese word segmentation: jieba, with the lexicon's words added to its dictionary.

jieba's dictionary ships inside the wheel (nothing is downloaded); building its prefix table takes
about a second, so one tokenizer is made per process: the bot starts building it in a thread when
its router is assembled, so neither the event loop nor the first message waits for it (a message
that comes sooner waits on the lock); jieba caches the table in the temp folder for the next process.
"""

from __future__ import annotations

import logging
import threading
from functools import cache

import jieba

from nlu.lexicon import lexicon

USER_WORD_FREQ = 50_000  # high enough that a lexicon word is kept whole (待审批, 报个销)
_BUILDING = threading.Lock()


def _tokenizer() -> jieba.Tokenizer:
    with _BUILDING:  # one build, whichever thread asks first
        return _build()


@cache
def _build() -> jieba.Tokenizer:
    logging.getLogger("jieba").setLevel(logging.WARNING)  # its start-up chatter is not ours to log
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for word in sorted(lexicon().words()):
        tokenizer.add_word(word, USER_WORD_FREQ)
    return tokenizer


def warm_up() -> None:
    """Build the tokenizer now instead of on the first message (the benchmark times it apart)."""
    _tokenizer()


def warm_up_in_background() -> None:
    """Start building the tokenizer in a thread, off the event loop (at start)."""
    threading.Thread(target=warm_up, name="segmenter-warm-up", daemon=True).start()


def words(text: str) -> list[str]:
    """The words of `text` in order, whitespace and punctuation dropped, English lower-cased."""
    return [w.lower() for w in _tokenizer().lcut(text) if w.strip() and not _is_punct(w)]


def _is_punct(word: str) -> bool:
    return all(not ch.isalnum() and ch not in "?？%％¥￥" for ch in word)
