"""A tax id only the check character produced is never certain; agreeing readings are; a number
with one doubtful glyph is not; seals fade while print stays; the page is never cut through text."""

import cv2
import numpy as np
import pytest

from ocr.candidates import Reading, choose_uscc, vote
from ocr.constrained import CodeDecode
from ocr.engines import TextLine
from ocr.models import DEFAULT_THRESHOLD
from ocr.preprocess import crop_page, fade_red
from ocr.reader import _by_least_sure_glyph, _code_box, _code_views, _repair_score, _reread_codes
from ocr.validate import is_valid_uscc, uscc_check_char

TRUTH = "91320115K1Q52GL34C"


class FakeEngine:
    """Stands in for a recogniser that reports per-glyph alternatives for whatever crop it gets."""

    def __init__(self, *views: list[list[tuple[str, float]]]) -> None:
        self.views = views  # what it reads from the first, second, ... crop it is given, then the last again
        self.calls = 0

    def char_alternatives(self, crop: np.ndarray) -> list[list[tuple[str, float]]]:
        self.calls += 1
        return self.views[min(self.calls, len(self.views)) - 1]


def _alts(text: str, doubtful: dict[int, list[tuple[str, float]]] | None = None) -> list[list[tuple[str, float]]]:
    return [(doubtful or {}).get(i, [(ch, 0.98), ("8", 0.01)]) for i, ch in enumerate(text)]


def _code_line(text: str) -> TextLine:
    return TextLine(f"纳税人识别号：{text}", (10.0, 10.0, 400.0, 34.0), 0.97)


PAGE = np.full((60, 420, 3), 255, dtype=np.uint8)


def test_code_read_plainly_is_a_strong_reading() -> None:
    [extra] = _reread_codes(PAGE, FakeEngine(_alts(TRUTH)), [_code_line(TRUTH)])  # type: ignore[arg-type]
    assert extra.text == TRUTH and extra.score >= DEFAULT_THRESHOLD


def test_code_only_the_check_character_produced_stays_uncertain() -> None:
    misread = TRUTH[:10] + "0" + TRUTH[11:]  # Q read as 0; Q was the runner-up
    assert not is_valid_uscc(misread)
    engine = FakeEngine(_alts(misread, {10: [("0", 0.9), ("Q", 0.05)]}))
    [extra] = _reread_codes(PAGE, engine, [_code_line(misread)])  # type: ignore[arg-type]
    assert extra.text == TRUTH
    assert extra.score < DEFAULT_THRESHOLD
    chosen = choose_uscc([Reading(misread, 0.99), Reading(extra.text, extra.score)])
    assert chosen is not None and chosen.value == TRUTH and chosen.score < DEFAULT_THRESHOLD


def test_valid_code_with_a_close_call_glyph_is_not_sure() -> None:
    """A D read as 0 at 0.56 to 0.44 with another glyph misread too can still pass the check (1 in 31):
    valid, plainly read, and yet no more certain than its closest call."""
    engine = FakeEngine(_alts(TRUTH, {10: [("Q", 0.56), ("0", 0.44)]}))
    [extra] = _reread_codes(PAGE, engine, [_code_line(TRUTH)])  # type: ignore[arg-type]
    assert extra.text == TRUTH and extra.score < DEFAULT_THRESHOLD


def test_number_with_one_doubtful_digit_is_not_sure() -> None:
    number = "24612935045416207254"
    line = TextLine(f"发票号码：{number}", (10.0, 10.0, 400.0, 34.0), 0.97)
    engine = FakeEngine(_alts(number, {8: [(number[8], 0.55), ("8", 0.4)]}))
    [rescored] = _by_least_sure_glyph(PAGE, engine, [line])  # type: ignore[arg-type]
    assert rescored.score == 0.55
    short = TextLine("¥35.00", (10.0, 10.0, 100.0, 34.0), 0.97)
    assert _by_least_sure_glyph(PAGE, engine, [short]) == [short]  # type: ignore[arg-type]


def test_a_line_its_crop_reads_with_other_digits_is_in_doubt() -> None:
    """The page's reading says 2021, the crop read again says 2024, each sure of its glyphs: one of
    the two misread a digit, and the line is no more certain than a disputed reading."""
    line = TextLine("开票日期：2021年04月20日", (10.0, 10.0, 400.0, 34.0), 0.98)
    [disputed] = _by_least_sure_glyph(PAGE, FakeEngine(_alts("开票日期：2024年04月20日")), [line])  # type: ignore[arg-type]
    assert disputed.score < DEFAULT_THRESHOLD
    both = vote([Reading("2021-04-20", disputed.score)] * 2)  # two printed copies, each read so
    assert both is not None and both.score < DEFAULT_THRESHOLD
    [agreed] = _by_least_sure_glyph(PAGE, FakeEngine(_alts("开票日期:2021年04月20日")), [line])  # type: ignore[arg-type]
    assert agreed.score == 0.98
    code = _code_line(TRUTH)
    [letter] = _by_least_sure_glyph(PAGE, FakeEngine(_alts(TRUTH.replace("Q", "0"))), [code])  # type: ignore[arg-type]
    assert letter.score < DEFAULT_THRESHOLD


def test_agreeing_readings_are_independent_evidence() -> None:
    one = vote([Reading("12345678", 0.7)])
    two = vote([Reading("12345678", 0.7), Reading("12345678", 0.7)])
    split = vote([Reading("12345678", 0.7), Reading("12345679", 0.7)])
    assert one is not None and two is not None and split is not None
    assert one.score < DEFAULT_THRESHOLD <= two.score
    assert split.score < one.score


def test_seal_fades_and_print_stays() -> None:
    page = np.full((100, 200, 3), (235, 240, 245), dtype=np.uint8)
    page[20:40, 20:180] = (40, 40, 40)  # black print
    page[60:80, 20:180] = (45, 40, 200)  # red seal ink (BGR), as paper tinted by a multiply blend
    faded = fade_red(page)
    assert faded[30, 100] < 80
    assert faded[70, 100] > 240 and faded[90, 100] > 240


def test_page_is_cut_around_text_the_paper_outline_would_lose() -> None:
    photo = np.full((600, 800, 3), (60, 90, 140), dtype=np.uint8)  # a brown desk
    cv2.rectangle(photo, (100, 100), (500, 400), (245, 245, 245), -1)  # lit part of the page
    cv2.rectangle(photo, (500, 100), (700, 400), (110, 110, 110), -1)  # the same page in deep shadow
    text = tuple(np.array([[x, y], [x + 150, y], [x + 150, y + 20], [x, y + 20]], dtype=np.float32)
                 for x in (130, 530) for y in (150, 250, 350))
    page = crop_page(photo, text)
    assert page.shape[1] >= 550  # both halves kept: the text spans x 130..680


def test_views_of_a_code_outvote_one_that_reads_a_wrong_code_valid_by_chance() -> None:
    """The crop as cut and tight to its box, each also in the red channel. One view reads a wrong
    code that passes the check by chance (two glyphs misread, one in 31), though not surely; the
    others misread one glyph of the true code with the true one as runner-up. The true code is
    plausible in every view and the chance one in a single view: one reading enters, the true one."""
    changed = TRUTH[:5] + ("7" if TRUTH[5] != "7" else "8") + TRUTH[6:17]
    wrong = changed + uscc_check_char(changed)
    assert is_valid_uscc(wrong) and wrong[17] != TRUTH[17]
    chance = _alts(wrong, {i: [(wrong[i], 0.55), (TRUTH[i], 0.4)] for i in (5, 17)})
    misread = TRUTH[:10] + "0" + TRUTH[11:]
    likely = _alts(misread, {10: [("0", 0.6), ("Q", 0.3)]})
    engine = FakeEngine(likely, chance, likely)
    [extra] = _reread_codes(PAGE, engine, [_code_line(misread)])  # type: ignore[arg-type]
    assert engine.calls == 4
    assert extra.text == TRUTH and extra.score < DEFAULT_THRESHOLD


def test_a_repair_weighs_by_how_likely_the_recogniser_found_it() -> None:
    weights = [_repair_score(CodeDecode(TRUTH, relative, 0.1)) for relative in (1.0, 0.1, 0.01, 0.001)]
    assert weights == sorted(weights, reverse=True) and weights[0] < DEFAULT_THRESHOLD and weights[-1] == 0.0


def test_a_tax_id_read_as_digits_alone_is_read_again() -> None:
    """18 digits without a label (a seal covered it) may be a tax id; 8- and 20-digit numbers are not."""
    misread = "923205086018336536"
    code = "9232050860L833653C"
    engine = FakeEngine(_alts(misread, {10: [("1", 0.6), ("L", 0.3)], 17: [("6", 0.6), ("C", 0.3)]}))
    line = TextLine(misread, (10.0, 10.0, 300.0, 34.0), 0.97)
    [extra] = _reread_codes(PAGE, engine, [line])  # type: ignore[arg-type]
    assert extra.text == code and extra.score < DEFAULT_THRESHOLD
    for number in ("55672222", "24322379683682613642"):
        assert _code_box(TextLine(number, (10.0, 10.0, 300.0, 34.0), 0.97)) is None


def test_a_code_broken_by_a_glyph_read_as_chinese_is_cut_after_its_label() -> None:
    text = "统一社会信用代码/纳税人识别号：914403039018家3477F"
    box = _code_box(TextLine(text, (0.0, 0.0, 600.0, 30.0), 0.9))
    assert box is not None and 300.0 < box[0] < 400.0
    assert box[2] == pytest.approx(618.0)  # one glyph past the line: the detector may cut the last one off
    assert _code_box(TextLine("1244030048L.78U9734", (0.0, 0.0, 300.0, 30.0), 0.9)) is not None  # a speck inside


def test_the_red_view_of_a_code_loses_the_seal_and_keeps_the_print() -> None:
    crop = np.full((30, 200, 3), (228, 236, 238), dtype=np.uint8)
    crop[8:22, 10:190] = (30, 30, 30)  # the code's print
    crop[:, 120:140] = (60, 50, 200)  # a seal's stroke over paper (BGR: red)
    crop[8:22, 120:140] = (20, 15, 60)  # and over the print, multiplied
    plain, view = _code_views(crop)
    red = view[:, :, 0]
    assert plain is crop and red.shape == (60, 400)  # enlarged for the recogniser
    assert red[:, 250:270].min() < 100 < red[:4, 250:270].min()  # print stays, the seal over paper is gone
    assert red[16, 20] < 100 and red[2, 20] > 180


def test_a_code_one_view_reads_surely_is_certain_only_when_the_views_together_agree() -> None:
    """Four views are four chances for one of them to read a wrong code surely that passes the check
    by chance; the other views then find another code likelier, and the sure reading stays in doubt.
    A code is certain only when every view reads it plainly; one view reading another code keeps
    the likelier one in doubt."""
    changed = TRUTH[:5] + ("7" if TRUTH[5] != "7" else "8") + TRUTH[6:17]
    wrong = changed + uscc_check_char(changed)
    truth_in_doubt = _alts(TRUTH, {10: [("0", 0.45), (TRUTH[10], 0.44)]})  # true code likeliest over the views
    [alone] = _reread_codes(PAGE, FakeEngine(_alts(wrong), truth_in_doubt), [_code_line(wrong)])  # type: ignore[arg-type]
    assert alone.text == wrong and alone.score < DEFAULT_THRESHOLD
    [outvoted] = _reread_codes(PAGE, FakeEngine(_alts(wrong), _alts(TRUTH)), [_code_line(wrong)])  # type: ignore[arg-type]
    assert outvoted.text == TRUTH and outvoted.score < DEFAULT_THRESHOLD  # three views say TRUTH, one another code
    [agreed] = _reread_codes(PAGE, FakeEngine(_alts(TRUTH)), [_code_line(TRUTH)])  # type: ignore[arg-type]
    assert agreed.text == TRUTH and agreed.score >= DEFAULT_THRESHOLD


def test_a_code_every_view_reads_is_still_in_doubt_when_one_view_hesitated_over_a_glyph() -> None:
    """All four views read the same valid code, but one nearly read a glyph otherwise (4 or M): the
    views share the crop, so the others may have read that glyph wrong together, valid by chance."""
    hesitant = _alts(TRUTH, {11: [(TRUTH[11], 0.47), ("M", 0.42)]})
    [read] = _reread_codes(PAGE, FakeEngine(hesitant, _alts(TRUTH)), [_code_line(TRUTH)])  # type: ignore[arg-type]
    assert read.text == TRUTH and read.score < DEFAULT_THRESHOLD
    clear = _alts(TRUTH, {11: [(TRUTH[11], 0.85), ("M", 0.12)]})
    [sure] = _reread_codes(PAGE, FakeEngine(clear, _alts(TRUTH)), [_code_line(TRUTH)])  # type: ignore[arg-type]
    assert sure.text == TRUTH and sure.score >= DEFAULT_THRESHOLD
