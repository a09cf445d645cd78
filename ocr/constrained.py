"""Most likely valid tax id given the recogniser's per-character probabilities.

A misread tax id is usually one glyph whose runner-up was right. The USCC check character is a
weighted sum mod 31, so the best valid code over all per-position alternatives can be found
exactly with a small dynamic programme over the 31 possible partial sums.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ocr.validate import (
    ORG_BODY,
    ORG_WEIGHTS,
    USCC_ALPHABET,
    USCC_INDEX,
    USCC_POSITIONS,
    USCC_WEIGHTS,
    org_char_value,
    org_check_char,
)

_ORG_WEIGHT = dict(zip(range(ORG_BODY.start, ORG_BODY.stop), ORG_WEIGHTS, strict=True))
_ORG_CHECK = ORG_BODY.stop  # the position of the organisation code's check character
# Letters a USCC cannot contain, read as the character they most resemble.
_LOOKALIKE = {"O": "0", "I": "1", "Z": "2", "S": "5", "V": "Y", "o": "0", "l": "1", "i": "1", "]": "J", ")": "J"}
_SPECKS = ".·,'`"  # marks a speck of dirt or blur reads as, never part of a code
GLYPH_SYMBOLS = "#*%&@$?!|"  # symbols a glyph half hidden or smudged is read as: still a glyph of the code
_FLOOR = 1e-6  # probability assumed for a character the recogniser did not consider at all
_UNLIKELY = math.log(1e-4)  # a code this much less likely than the plain reading is not worth decoding
_VETO = math.log(1e-3)  # the most one view can count against a code (log relative likelihood)

Alternatives = list[list[tuple[str, float]]]  # per emitted character: (char, probability), best first


def _as_uscc_chars(options: list[tuple[str, float]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for ch, p in options:
        c = _LOOKALIKE.get(ch, ch.upper())
        if c in USCC_INDEX:
            out[c] = max(out.get(c, 0.0), p)
    return out


def _read_as_symbol(options: list[tuple[str, float]]) -> bool:
    """A glyph the recogniser read as a symbol (a W under a seal's ring as #), a letter or digit its runner-up."""
    return bool(options) and options[0][0] in GLYPH_SYMBOLS and bool(_as_uscc_chars(options))


def _symbol_cost(options: list[tuple[str, float]]) -> float:
    """How much less likely the recogniser found a glyph's likeliest letter or digit than the
    symbol it read there (log; 0.0 for a glyph read as a letter or digit)."""
    if not _read_as_symbol(options):
        return 0.0
    return math.log(max(max(_as_uscc_chars(options).values()), _FLOOR) / options[0][1])


def _code_runs(alts: Alternatives) -> list[Alternatives]:
    """Runs of consecutive positions whose best reading is a letter or digit (the code, not the label);
    a speck read as a dot inside a run is no glyph of the code, a glyph read as a symbol is one."""
    runs: list[Alternatives] = []
    current: Alternatives = []
    for options in alts:
        if current and options and options[0][0] in _SPECKS:
            continue
        if options and (options[0][0] in _LOOKALIKE or (options[0][0].isascii() and options[0][0].isalnum())
                        or (current and _read_as_symbol(options))):
            current.append(options)
        else:
            if current:
                runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


@dataclass(frozen=True)
class CodeDecode:
    """A valid code decoded from per-character probabilities."""

    code: str
    relative: float  # likelihood relative to the unconstrained best reading (1.0: that reading was valid)
    least: float  # probability of its least likely character: how close the call was


@dataclass(frozen=True)
class _Sequence:
    """18 positions a line offers for a code, and the log likelihood of the glyph left out to get
    them (0.0 when none was, or when it was label debris before a longer run)."""

    positions: list[dict[str, float]]
    dropped: float = 0.0  # also what reading its glyphs read as symbols as letters or digits costs


def _sequences(alts: Alternatives) -> list[_Sequence]:
    """The 18-position readings a line offers: each run of 18, and each run of 19 less one glyph.

    Leaving out a glyph the recogniser read is a repair like choosing a runner-up: it costs the
    chance that the glyph was not there (1 - its probability). One in 31 ways of leaving a glyph
    out of any 19 letters or digits (a bank account) passes the check by chance. Only the glyph
    before the last 19 of a longer run is free: what precedes the code there is a label's debris.
    """
    out: list[_Sequence] = []
    for whole in _code_runs(alts):
        run = whole[-19:]  # a longer run is label debris read as letters and digits, then the code
        misread = [_symbol_cost(o) for o in run]
        if len(run) == 18:
            out.append(_Sequence([_as_uscc_chars(o) for o in run], sum(misread)))
        elif len(run) == 19:
            for i in range(19):
                cost = 0.0 if i == 0 and len(whole) > 19 else math.log(max(1.0 - run[i][0][1], _FLOOR))
                out.append(_Sequence([_as_uscc_chars(o) for o in run[:i] + run[i + 1:]],
                                     cost + sum(misread) - misread[i]))
    return out


def best_valid_uscc(alts: Alternatives) -> CodeDecode | None:
    """The most probable 18-character code with a correct check character (a run of 19 may hold
    one spurious glyph), with its likelihood relative to the unconstrained best reading."""
    best: CodeDecode | None = None
    for seq in sorted(_sequences(alts), key=lambda seq: -seq.dropped):
        worth = max(_UNLIKELY, math.log(best.relative)) if best else _UNLIKELY
        if seq.dropped < worth:  # what leaving out a glyph costs already makes it less likely than the best
            break
        found = _decode18(seq.positions, seq.dropped, worth)
        if found and (best is None or found.relative > best.relative):
            best = found
    return best


def _log_relative(code: str, sequences: list[_Sequence]) -> float:
    """How much less likely than its plain reading one view finds the code (log), at worst _VETO:
    a view that lost the code's alignment says little against it."""
    best = max((seq.dropped + sum(math.log(max(p.get(c, 0.0), _FLOOR)) - math.log(max(max(p.values()), _FLOOR))
                                  for p, c in zip(seq.positions, code, strict=True))
                for seq in sequences if all(seq.positions)), default=_VETO)
    return max(best, _VETO)


def best_valid_uscc_of_views(views: list[Alternatives]) -> CodeDecode | None:
    """The valid code most likely over several views of one code (crops, channels, scales).

    Each view proposes its best valid code and every view scores every proposal; the geometric
    mean of its relative likelihoods decides. A view may read a wrong code as valid by chance (one
    in 31), but the other views then find it unlikely, while the true code is plausible in all.
    """
    sequences = [_sequences(v) for v in views]
    sequences = [seqs for seqs in sequences if seqs]
    proposals = {d.code: d for d in (best_valid_uscc(v) for v in views) if d is not None}
    if not proposals:
        return None
    scored = {code: sum(_log_relative(code, seqs) for seqs in sequences) / len(sequences) for code in proposals}
    code = max(scored, key=lambda c: scored[c])
    return CodeDecode(code, math.exp(scored[code]), proposals[code].least)


def read_plainly_by_all(code: str, views: list[Alternatives], margin: float) -> bool:
    """Every view that reads a code of this shape reads this one, each glyph at least margin times
    as likely as its runner-up: no view hesitated over any glyph of it.

    Views of one crop are not independent readings; a glyph one of them nearly read otherwise (a 4
    or an M, a 0 or a D) is one the others may have read wrong together, valid by chance.
    """

    def plain(seq: _Sequence) -> bool:
        for options, ch in zip(seq.positions, code, strict=True):
            rest = [p for c, p in options.items() if c != ch]
            read = options.get(ch, 0.0)
            if read == 0.0 or read < margin * max(rest, default=0.0):  # margin >= 1: the likeliest too
                return False
        return seq.dropped == 0.0

    return all(any(plain(seq) for seq in seqs) for seqs in map(_sequences, views) if seqs)


def _decode18(pos: list[dict[str, float]], dropped: float = 0.0, worth: float = _UNLIKELY) -> CodeDecode | None:
    """The likeliest code GB 32100 allows: each position what it may hold, both checks right; none
    when every such code is less likely than the plain reading by more than ``worth`` (log)."""
    if any(not p for p in pos):
        return None
    # dp maps (weighted sum mod 31, organisation code's weighted sum mod 11) so far
    # -> (log probability, characters so far)
    dp: dict[tuple[int, int], tuple[float, str]] = {(0, 0): (0.0, "")}
    floor = worth - dropped  # partial codes less likely than this can only end less likely still: dropped
    for i in range(17):
        floor += math.log(max(max(pos[i].values()), _FLOOR))
        org = _ORG_WEIGHT.get(i, 0)
        nxt: dict[tuple[int, int], tuple[float, str]] = {}
        for (s31, s11), (lp, prefix) in dp.items():
            allowed = org_check_char(s11) if i == _ORG_CHECK else USCC_POSITIONS[i]
            for ch, p in pos[i].items():
                if ch not in allowed:
                    continue
                state = ((s31 + USCC_INDEX[ch] * USCC_WEIGHTS[i]) % 31, (s11 + org_char_value(ch) * org) % 11)
                cand = lp + math.log(max(p, _FLOOR))
                if cand >= floor and (state not in nxt or cand > nxt[state][0]):
                    nxt[state] = (cand, prefix + ch)
        dp = nxt
    best: tuple[float, str] | None = None
    for (state, _), (lp, prefix) in dp.items():
        check = USCC_ALPHABET[(31 - state) % 31]
        total = lp + math.log(max(pos[17].get(check, 0.0), _FLOOR))
        if best is None or total > best[0]:
            best = (total, prefix + check)
    if best is None:
        return None
    plain = sum(math.log(max(max(p.values()), _FLOOR)) for p in pos)
    code = best[1]
    return CodeDecode(code, math.exp(best[0] - plain + dropped), min(p.get(c, 0.0) for p, c in zip(pos, code, strict=True)))
