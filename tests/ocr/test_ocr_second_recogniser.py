"""The second recogniser (PP-OCRv5) reads the views of a tax id the first model left in doubt, and
its readings join the vote: it chooses the code, it never makes it certain; a code the first model
reads certainly is not read twice."""

import random

import cv2
import numpy as np

from ocr.constrained import Alternatives
from ocr.engines import SecondOpinion, TextLine, get_engine
from ocr.models import DEFAULT_THRESHOLD
from ocr.reader import _by_least_sure_glyph, _code_box, _reread_codes
from ocr.validate import USCC_ALPHABET, uscc_check_char
from tests.ocr.test_ocr_certainty import PAGE, TRUTH, FakeEngine, _alts, _code_line

LINE = _code_line(TRUTH)


class TwoModels(FakeEngine):
    """... and with a second recogniser, counting the views it is asked to read."""

    def __init__(self, first: Alternatives, second: Alternatives) -> None:
        super().__init__(first)  # every view read the same way
        self.second, self.second_reads = second, 0

    def second_alternatives(self, crop: np.ndarray) -> Alternatives:
        self.second_reads += 1
        return self.second


def test_the_second_model_chooses_the_code_the_first_misread_but_does_not_vouch_for_it() -> None:
    """The first model reads Q as 0 in every view and never considers Q: the check character can only
    repair the code into another one. The second reads it plainly: its code is chosen, in doubt."""
    misread = _alts(TRUTH[:10] + "0" + TRUTH[11:], {10: [("0", 0.97), ("8", 0.01)]})
    [alone] = _reread_codes(PAGE, FakeEngine(misread), [LINE])  # type: ignore[arg-type]
    assert alone.text != TRUTH and alone.score < DEFAULT_THRESHOLD
    engine = TwoModels(misread, _alts(TRUTH))
    [both] = _reread_codes(PAGE, engine, [LINE])  # type: ignore[arg-type]
    assert engine.second_reads == 2  # the two cuts, not their enlarged views too
    assert both.text == TRUTH and both.score < DEFAULT_THRESHOLD


def test_a_code_the_first_model_reads_certainly_is_not_read_again() -> None:
    changed = TRUTH[:5] + ("7" if TRUTH[5] != "7" else "8") + TRUTH[6:17]
    engine = TwoModels(_alts(TRUTH), _alts(changed + uscc_check_char(changed)))
    [found] = _reread_codes(PAGE, engine, [LINE])  # type: ignore[arg-type]
    assert engine.second_reads == 0
    assert found.text == TRUTH and found.score >= DEFAULT_THRESHOLD


def _code_crop(code: str, rng: random.Random) -> np.ndarray:
    """A printed code as the re-read cuts it: dark glyphs on off-white, a little blur and JPEG loss."""
    scale = rng.uniform(0.7, 0.9)
    (w, h), base = cv2.getTextSize(code, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
    crop = np.full((h + base + 12, w + 16, 3), rng.randint(215, 240), dtype=np.uint8)
    cv2.putText(crop, code, (8, h + 6), cv2.FONT_HERSHEY_SIMPLEX, scale, (40, 40, 40), 2, cv2.LINE_AA)
    crop = cv2.GaussianBlur(crop, (3, 3), 0.6)
    ok, jpeg = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 60])
    assert ok
    return cv2.imdecode(jpeg, cv2.IMREAD_COLOR)


def test_the_engine_carries_the_second_model_and_it_reads_printed_codes() -> None:
    """The model ships in its wheel and loads with the engine; on printed codes (random, valid) its
    plain reading is the code."""
    engine = get_engine("rapidocr")
    assert isinstance(engine, SecondOpinion)
    rng = random.Random(20261125)
    codes = []
    for _ in range(6):
        body = "9" + str(rng.randint(1, 5)) + "".join(rng.choice(USCC_ALPHABET) for _ in range(15))
        codes.append(body + uscc_check_char(body))
    read = ["".join(options[0][0] for options in engine.second_alternatives(_code_crop(code, rng)) if options)
            for code in codes]
    assert sum(r == c for r, c in zip(read, codes, strict=True)) >= 5, list(zip(read, codes, strict=True))


def test_a_line_its_crop_reads_otherwise_takes_the_second_models_reading_in_doubt() -> None:
    """The page reads 2021 with 年 lost, the crop read again 2024: the second model, asked only
    then, reads the whole date; the line takes its reading and stays in doubt."""
    line = TextLine("开票日期：202112月21日", (10.0, 10.0, 400.0, 34.0), 0.98)
    engine = TwoModels(_alts("开票日期：202412月21日"), _alts("开票日期：2024年12月21日"))
    [third] = _by_least_sure_glyph(PAGE, engine, [line])  # type: ignore[arg-type]
    assert engine.second_reads == 1
    assert third.text == "开票日期：2024年12月21日" and third.score < DEFAULT_THRESHOLD
    agreed = TwoModels(_alts("开票日期：202112月21日"), _alts("开票日期：2024年12月21日"))
    [kept] = _by_least_sure_glyph(PAGE, agreed, [line])  # type: ignore[arg-type]
    assert agreed.second_reads == 0 and kept.text == line.text


def test_a_code_with_a_glyph_read_as_a_symbol_is_still_read_again() -> None:
    """A W under the seal's ring read as #, and no label on the line: still a code to re-read."""
    assert _code_box(TextLine(f"{TRUTH[:9]}#{TRUTH[10:]}", (10.0, 10.0, 300.0, 34.0), 0.44)) is not None
    assert _code_box(TextLine("苏州中新区大道57号069460923298", (10.0, 10.0, 300.0, 34.0), 0.44)) is None


class RedReader(TwoModels):
    """A second model that reads the code right only where the seal's red is gone: in a view whose
    three channels are one (the red channel), not in the colour cut."""

    def second_alternatives(self, crop: np.ndarray) -> Alternatives:
        self.second_reads += 1
        grey = bool((crop[:, :, 0] == crop[:, :, 2]).all())
        return self.second if grey else self.views[0]


def test_the_second_model_reads_the_cuts_in_their_red_channel() -> None:
    """Red seal ink over the code: the second model is shown each cut's red channel, where the ink
    is as pale as paper, at the cut's own size."""
    sealed = np.full((60, 420, 3), (150, 140, 235), dtype=np.uint8)  # paper under a wash of red ink
    misread = _alts(TRUTH[:10] + "0" + TRUTH[11:], {10: [("0", 0.97), ("8", 0.01)]})
    engine = RedReader(misread, _alts(TRUTH))
    [found] = _reread_codes(sealed, engine, [LINE])  # type: ignore[arg-type]
    assert engine.second_reads == 2
    assert found.text == TRUTH and found.score < DEFAULT_THRESHOLD


def test_a_date_that_lost_a_digit_is_read_again_and_by_the_second_model_in_its_red_channel() -> None:
    """2023年05月05日 read as 20205月05日 (seven digits, no 年): still a date to check; its crop
    reads otherwise, and the second model, shown the crop's red channel, reads the whole date."""
    line = TextLine("20205月05日", (10.0, 10.0, 400.0, 34.0), 0.9)
    sealed = np.full((60, 420, 3), (150, 140, 235), dtype=np.uint8)
    engine = RedReader(_alts("202305月03日"), _alts("2023年05月05日"))
    [third] = _by_least_sure_glyph(sealed, engine, [line])  # type: ignore[arg-type]
    assert engine.second_reads == 1
    assert third.text == "2023年05月05日" and third.score < DEFAULT_THRESHOLD
