"""Decoding the most likely valid tax id from per-character alternatives, and item-row skipping."""

import pytest

from ocr.constrained import best_valid_uscc, read_plainly_by_all
from ocr.engines import item_table_rows
from ocr.validate import is_valid_uscc, uscc_check_char

TRUTH = "91320115K1Q52GL34C"


def _alts(text: str, runner_up: dict[int, tuple[str, float]] | None = None) -> list[list[tuple[str, float]]]:
    """Alternatives as a recogniser would give them: the read char first, a weak runner-up after."""
    out = []
    for i, ch in enumerate(text):
        options = [(ch, 0.97), ("8" if ch != "8" else "3", 0.01)]
        if runner_up and i in runner_up:
            options = sorted([(ch, 0.6), runner_up[i]], key=lambda o: -o[1])
        out.append(options)
    return out


def test_valid_reading_is_kept() -> None:
    found = best_valid_uscc(_alts(TRUTH))
    assert found is not None
    assert found.code == TRUTH
    assert found.relative == 1.0 and found.least == 0.97


def test_runner_up_fixes_the_check_character() -> None:
    misread = TRUTH[:10] + "0" + TRUTH[11:]  # Q read as 0, with Q the runner-up
    assert not is_valid_uscc(misread)
    found = best_valid_uscc(_alts(misread, {10: ("Q", 0.35)}))
    assert found is not None
    assert found.code == TRUTH
    assert 0.3 < found.relative < 1.0 and found.least == 0.35


def test_label_before_code_and_wrong_length() -> None:
    label = [[("号", 0.99)], [("：", 0.99)]]
    found = best_valid_uscc(label + _alts(TRUTH))
    assert found is not None and found.code == TRUTH
    assert best_valid_uscc(label + _alts(TRUTH[:15])) is None


def test_item_rows_are_skipped_but_names_amounts_taxes_party_and_total_rows_kept() -> None:
    h = 20.0

    def box(x: float, y: float, chars: int) -> tuple[float, float, float, float]:
        return (x, y, x + chars * h, y + h)

    boxes = [
        box(0, 0, 4), box(100, 0, 14), box(500, 0, 2), box(560, 0, 20),  # 名称 | company | 密 | cipher
        box(0, 100, 9), box(200, 100, 2), box(260, 100, 1), box(300, 100, 1),
        box(340, 100, 5), box(460, 100, 5), box(580, 100, 2), box(640, 100, 4),  # an item row
        box(0, 200, 2), box(300, 200, 6), box(600, 200, 5),  # 合计 | ¥amount | ¥tax
    ]
    assert item_table_rows(boxes) == {5, 6, 7, 8, 10}  # name (box 4), amount (9) and tax (11) are read


def test_a_speck_inside_the_code_is_no_glyph() -> None:
    speck = [[(".", 0.9), ("1", 0.05)]]
    found = best_valid_uscc(_alts(TRUTH[:11]) + speck + _alts(TRUTH[11:]))
    assert found is not None and found.code == TRUTH and found.relative == 1.0


def test_a_final_j_read_as_a_bracket_is_a_j() -> None:
    code = "91320104628Q5YH67J"
    assert is_valid_uscc(code)
    found = best_valid_uscc([*_alts(code[:-1]), [("]", 0.9), ("J", 0.05)]])
    assert found is not None and found.code == code


def test_label_debris_read_as_letters_before_the_code() -> None:
    """统一社会信用代码 with its last glyphs read as "09" right before the code: the code is the end."""
    found = best_valid_uscc(_alts("09" + TRUTH))
    assert found is not None and found.code == TRUTH and found.relative == 1.0


def test_leaving_out_a_glyph_read_surely_is_a_repair() -> None:
    """19 letters or digits less one make a valid code in one of 31 ways (a bank account does): a glyph
    the recogniser was sure of was there, so the code it leaves is no plain reading. A glyph it
    doubted (a speck read as a digit) costs little to leave out."""
    sure = _alts(TRUTH[:9] + "7" + TRUTH[9:])
    found = best_valid_uscc(sure)
    assert found is not None and found.relative < 0.05  # TRUTH, or another glyph left out (valid by chance)
    speck = [*_alts(TRUTH[:9]), [("7", 0.3), ("1", 0.2)], *_alts(TRUTH[9:])]
    found = best_valid_uscc(speck)
    assert found is not None and found.code == TRUTH and found.relative == pytest.approx(0.7)


def test_a_view_with_a_glyph_no_code_can_hold_does_not_read_the_code_plainly() -> None:
    """A glyph read as a letter a tax id never contains (z) leaves that position without a candidate:
    the view did not read the code plainly (and asking so does not fail)."""
    alts = _alts(TRUTH)
    alts[3] = [("z", 0.9)]
    assert not read_plainly_by_all(TRUTH, [alts], 1.5)
    assert read_plainly_by_all(TRUTH, [_alts(TRUTH)], 1.5)


def test_the_decoder_keeps_to_what_each_position_may_hold_and_both_checks() -> None:
    """A G read as 6 in the organisation code, G the runner-up; elsewhere a glyph whose runner-up
    makes the whole code pass its own check character (but not the organisation code's, nor, in
    the division, a letter): that likelier repair is refused and the true code decoded."""
    misread = TRUTH[:13] + "6" + TRUTH[14:]  # TRUTH[13] is G
    runner_ups = {13: ("G", 0.3)}
    for i in (*range(2, 13), 14, 15):  # a rival repair one glyph away that passes the mod-31 check
        for ch in "0123456789ABCDEFGHJKLMNPQRTUWXY":
            rival = misread[:i] + ch + misread[i + 1:]
            if ch != misread[i] and uscc_check_char(rival[:17]) == rival[17]:
                runner_ups[i] = (ch, 0.35)
                break
        if len(runner_ups) > 1:
            break
    [(i, (ch, _))] = [(i, o) for i, o in runner_ups.items() if i != 13]
    rival = misread[:i] + ch + misread[i + 1:]
    assert not is_valid_uscc(rival) and is_valid_uscc(TRUTH)
    found = best_valid_uscc(_alts(misread, runner_ups))
    assert found is not None and found.code == TRUTH and found.relative < 1.0


def test_a_glyph_read_as_a_symbol_is_a_glyph_of_the_code_but_not_a_plain_reading() -> None:
    """The seal's ring over a W makes it #, W the runner-up: the code is decoded, as a repair."""
    alts = _alts(TRUTH)
    alts[9] = [("#", 0.7), ("1", 0.2)]  # TRUTH[9] is 1
    found = best_valid_uscc(alts)
    assert found is not None and found.code == TRUTH and found.relative < 0.5
    assert not read_plainly_by_all(TRUTH, [alts], 1.5)
