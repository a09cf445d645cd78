"""The reading pipeline: QR first, then the PDF text layer or OCR of the prepared page."""

from __future__ import annotations

import math
import re

import cv2
import numpy as np

from ocr.candidates import as_uscc_chars
from ocr.constrained import (
    GLYPH_SYMBOLS,
    Alternatives,
    CodeDecode,
    best_valid_uscc,
    best_valid_uscc_of_views,
    read_plainly_by_all,
)
from ocr.einvoice import is_ofd, is_xml, read_invoice_xml, read_ofd
from ocr.engines import (
    ENGINES,
    Box,
    BoxFilter,
    CharAlternatives,
    OcrEngine,
    SecondOpinion,
    Survey,
    TextLine,
    get_engine,
)
from ocr.extract import extract_invoice
from ocr.layout import Page, compact
from ocr.models import DEFAULT_THRESHOLD, Invoice
from ocr.preprocess import (
    crop_page,
    fade_red,
    load_image,
    red_mask,
    remove_motion_blur,
    straighten,
    turn_upright,
)
from ocr.qr import QrData, decode_invoice_qr

DEFAULT_ENGINE = "rapidocr"
# A tax id as OCR may read it: a glyph lost or doubled, a speck read as a dot inside, a glyph read as a symbol.
_CODE_LIKE = re.compile(rf"[0-9A-Z](?:[.·]?[0-9A-Z]|[{re.escape(GLYPH_SYMBOLS)}]){{15,19}}")
_NOT_A_CODE_LINE = re.compile(r"银行|账号|电话|开户|地址|[<>*+/-].*[<>*+/-]")  # accounts, phones, 密码区 cipher
_TAX_ID_LABEL = re.compile(r"识别号|信用代码|别号")
_GLYPH = 0.6  # width of a letter or digit relative to the line height
_BROKEN_CODE = 12  # letters and digits after a tax-id label that make a code with a glyph misread as Chinese
_TAX_ID_LENGTHS = (17, 18, 19)  # digits only, yet as long as a tax id read with a glyph lost or doubled
_MANY_DIGITS = 8  # an 8-digit paper invoice number, a date; shorter runs are prices and quantities
_DATE_SHAPED = re.compile(r"20\d.*月.*\d")  # a date with a digit lost still shows its year and its 月
_LEAST_LIKELY = 0.001  # constrained decodes less likely than this are left to the other readings
_PLAIN = 0.999  # relative likelihood of a constrained decode that is the plain reading itself
_REPAIRED_SCORE = 0.5  # a code only the check character produced: below any "certain" threshold
_SURE_GLYPH = 0.8  # a code with a glyph less likely than this was a close call, valid or not
_CLEAR = 1.5  # how much likelier than its runner-up every view must find each glyph of a certain code
_DISPUTED = 0.6  # a code one view read surely but the views together do not find likeliest: asked
# A line whose crop, read again, shows other digits: a coin toss, so that two copies of a number
# read so (paper invoices print it twice) still do not make it certain together.
_READ_OTHERWISE = 0.5
_STEADIED_TEXT = 0.8  # share of the photo's text boxes an undone shake must still show (the detector varies)
_QR_ZOOM = 2.0
_PDF_RENDER_WIDTH = 2400  # enough for any engine's page width; pages are scaled down from here


def is_pdf(data: bytes) -> bool:
    """PDF by magic bytes (allowing the leading junk some generators write)."""
    return b"%PDF-" in data[:1024]


def _source(qr: QrData | None, base: str) -> str:
    return f"qr+{base}" if qr else base


def _fails_checks(inv: Invoice) -> bool:
    """A key field is missing, unchecked or only guessed: worth a second look at the page."""
    return bool(inv.uncertain_fields()) or inv.confidence.get("buyer_tax_id", 0.0) < DEFAULT_THRESHOLD


def _crop(image: np.ndarray, line: TextLine) -> np.ndarray:
    x0, y0, x1, y1 = line.box
    pad_y, pad_x = 0.15 * line.height, 0.3 * line.height
    h, w = image.shape[:2]
    return image[max(0, int(y0 - pad_y)):min(h, int(y1 + pad_y) + 1), max(0, int(x0 - pad_x)):min(w, int(x1 + pad_x) + 1)]


def _code_span(text: str) -> tuple[int, int] | None:
    """Where in a line's text its tax id stands: the last code-like run, or, when a misread glyph
    broke the run (a Chinese character read inside the code), all that follows the tax-id label."""
    if _NOT_A_CODE_LINE.search(text):
        return None
    label = list(_TAX_ID_LABEL.finditer(text))
    runs = list(_CODE_LIKE.finditer(as_uscc_chars(text)))
    if runs:
        run = re.sub(r"[.·]", "", runs[-1].group(0))
        if not run.isdigit() or len(run) in _TAX_ID_LENGTHS or label:
            return runs[-1].span()
        return None  # invoice numbers, check codes and accounts are digits; most tax ids hold a letter
    if label and len(re.findall(r"[0-9A-Z]", text[label[-1].end():])) >= _BROKEN_CODE:
        return label[-1].end(), len(text)
    return None


def _code_box(line: TextLine) -> Box | None:
    """The part of a line where a tax-id-like run stands (after its label), by glyph widths:
    Chinese characters are square, letters and digits about half as wide."""
    text = compact(line.text)
    span = _code_span(text)
    if span is None:
        return None
    widths = [1.0 if ord(ch) > 0x2E80 else 0.55 for ch in text]
    total = sum(widths)
    x0, y0, x1, y1 = line.box
    left = x0 + (x1 - x0) * sum(widths[: span[0]]) / total
    right = x0 + (x1 - x0) * sum(widths[: span[1]]) / total
    # A code that ends its line may have lost its last glyph to the detector's box: look one further.
    end = x1 + _GLYPH * line.height if span[1] == len(text) else x1
    return (max(x0, left - 0.5 * line.height), y0, min(end, right + 0.5 * line.height + _GLYPH * line.height), y1)


def _letters_and_digits(text: str) -> str:
    """What a number, a date or a code consists of, with look-alikes a code cannot hold read alike."""
    return re.sub(r"[^0-9A-Z]", "", as_uscc_chars(compact(text)))


def _by_least_sure_glyph(image: np.ndarray, engine: OcrEngine, lines: list[TextLine]) -> list[TextLine]:
    """Lines of many digits (numbers, dates, also one that lost a digit, codes) scored by their least
    certain glyph, not the mean.

    A line's score averages its glyphs, so one doubtful digit in twenty hardly shows; yet that
    digit makes the number wrong. The line is read again from its crop for this: where that
    second reading finds other letters or digits, one of the two misread a glyph surely, and the
    line is in doubt however sure each was. Engines without per-glyph probabilities keep their scores.

    A line so disputed is read a third time by the engine's second recogniser, when it has one,
    and takes that reading: trained on other data, it sides with whichever of the two read right
    or reads what both missed (a 年 lost between year and month). It chooses, it does not vouch:
    the line stays in doubt.
    """
    if not isinstance(engine, CharAlternatives):
        return lines
    out: list[TextLine] = []
    for ln in lines:
        text = compact(ln.text)
        many = len(re.findall(r"\d", text)) >= _MANY_DIGITS or _DATE_SHAPED.search(text)
        crop = _crop(image, ln) if many else None
        if crop is not None and crop.size and not _NOT_A_CODE_LINE.search(text):
            glyphs = [options[0] for options in engine.char_alternatives(crop) if options]
            if glyphs:
                score, read = min(ln.score, *(p for _, p in glyphs)), ln.text
                if _letters_and_digits("".join(ch for ch, _ in glyphs)) != _letters_and_digits(text):
                    score = min(score, _READ_OTHERWISE)
                    if _code_span(text) is None:  # tax ids are read again from their views anyway
                        read = _third_reading(engine, crop) or read
                ln = TextLine(read, ln.box, score)
        out.append(ln)
    return out


def _third_reading(engine: OcrEngine, crop: np.ndarray) -> str | None:
    """The second recogniser's plain reading of a disputed line's crop in its red channel, where a
    seal's ink is pale (None without a second recogniser)."""
    if not isinstance(engine, SecondOpinion):
        return None
    red = cv2.cvtColor(_red_channel(crop), cv2.COLOR_GRAY2BGR)
    return "".join(options[0][0] for options in engine.second_alternatives(red) if options) or None


def _repair_score(found: CodeDecode) -> float:
    """A repaired code counts by how likely the recogniser found it: a tenth as likely as the plain
    reading weighs a third less, a thousandth as likely nothing."""
    return _REPAIRED_SCORE * max(0.0, 1.0 + math.log10(found.relative) / 3)


def _red_channel(crop: np.ndarray) -> np.ndarray:
    """The crop's red channel, where red seal ink is nearly as pale as paper and print stays dark."""
    return crop[:, :, 2] if crop.ndim == 3 else crop


def _code_views(crop: np.ndarray) -> list[np.ndarray]:
    """The crop as it is, and its red channel (where seal ink vanishes) enlarged and sharpened."""
    red = cv2.resize(_red_channel(crop), None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    blur = cv2.GaussianBlur(red, (0, 0), 1.5)
    sharp = cv2.addWeighted(red, 1.6, blur, -0.6, 0)
    return [crop, cv2.cvtColor(sharp, cv2.COLOR_GRAY2BGR)]


def _read_surely(found: CodeDecode | None) -> bool:
    """The code is the plain reading, and no glyph of it was a close call."""
    return found is not None and found.relative >= _PLAIN and found.least >= _SURE_GLYPH


def _best_of_views(engine: CharAlternatives, views: list[np.ndarray]) -> tuple[str, float] | None:
    """A code and its weight from several views of it, as the engine's recogniser reads them.

    When that leaves the code in doubt and the engine has a second recogniser, it reads the views
    too and all readings vote again: a model trained on other data errs on other glyphs, so it often
    tells which candidate is right. It chooses, it does not vouch: what the first model left in
    doubt stays in doubt (at most disputed), and the user is asked. A code the first reads
    certainly is not read twice: most are, and the second model costs ~30 ms a view. It reads the
    red channel of the cuts (``_code_views`` pairs each cut with its enlarged red view), as they
    are: there seal ink is pale and the glyphs keep the size that model reads best."""
    alternatives = [engine.char_alternatives(view) for view in views]
    found = _vote(alternatives)
    if isinstance(engine, SecondOpinion) and (found is None or found[1] < DEFAULT_THRESHOLD):
        red = (cv2.cvtColor(_red_channel(cut), cv2.COLOR_GRAY2BGR) for cut in views[::2])
        again = _vote([*alternatives, *(engine.second_alternatives(view) for view in red)])
        found = (again[0], min(again[1], _DISPUTED)) if again else found
    return found


def _vote(alternatives: list[Alternatives]) -> tuple[str, float] | None:
    """A code and its weight from readings of several views of it: a code some view reads surely,
    else the valid code all views together find likeliest (one reading: the views are not independent).

    A sure reading is certain only when the views together find the same code likeliest and every
    view reads it without hesitating over a glyph: with four views, one of them reading a wrong code
    surely (and valid by chance) happens, and then the others disagree or waver. Otherwise it is
    kept, in doubt, and the user is asked."""
    found = best_valid_uscc_of_views(alternatives)
    sure = [d.code for d in map(best_valid_uscc, alternatives) if d is not None and _read_surely(d)]
    if sure and found is not None and found.code in sure:
        return found.code, 0.95 if read_plainly_by_all(found.code, alternatives, _CLEAR) else _DISPUTED
    if sure:
        return sure[0], _DISPUTED
    if found is None or found.relative < _LEAST_LIKELY:
        return None
    return found.code, _repair_score(found)


def _reread_codes(image: np.ndarray, engine: OcrEngine, lines: list[TextLine]) -> list[TextLine]:
    """Read every tax-id-like run again from crops of the code alone (without its label).

    Each code is seen four ways: cut with a margin and tight to its box, each as it is and in the
    red channel, enlarged (seal ink vanishes there; seals cover the seller's code on many photos).
    With per-character probabilities the most likely valid code is decoded exactly. When that code
    is the plain reading of the crop, it was read; when the check character made the decoder pick
    runner-up glyphs, it was repaired, and a repair only ever enters as an uncertain candidate (the
    check filters readings, it never vouches for a code nobody read). Engines without
    alternatives re-recognise the crop alone, often cleaner than the same text within the page.
    """
    extra: list[TextLine] = []
    for ln in lines:
        box = _code_box(ln)
        crop = _crop(image, TextLine(ln.text, box, ln.score)) if box else None
        if box is None or crop is None or crop.size == 0:
            continue
        if isinstance(engine, CharAlternatives):
            x0, y0, x1, y1 = (max(0, int(v)) for v in box)
            tight = image[y0:y1 + 1, x0:x1 + 1]
            views = [*_code_views(crop), *(_code_views(tight) if tight.size else [])]
            found = _best_of_views(engine, views)
            if found:
                extra.append(TextLine(found[0], box, found[1]))
        else:
            text, score = engine.read_line(engine.prepare(crop))
            if text:
                extra.append(TextLine(text, box, score))
    return extra


def _under_seal_or_unread(seal: np.ndarray, lines: list[TextLine]) -> BoxFilter:
    """Boxes worth a second reading: touched by red seal ink, or not read at all the first time."""

    def keep(box: Box) -> bool:
        x0, y0, x1, y1 = (max(0, int(v)) for v in box)
        area = seal[y0:y1 + 1, x0:x1 + 1]
        if area.size and cv2.countNonZero(area) > 0.03 * area.size:
            return True
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        return not any(ln.box[0] <= cx <= ln.box[2] and ln.box[1] <= cy <= ln.box[3] for ln in lines)

    return keep


def _qr_on_page(page: np.ndarray) -> QrData | None:
    """The QR code on the upright page, enlarged: on small photos its modules are a pixel or two."""
    gray = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
    return decode_invoice_qr(gray) or decode_invoice_qr(
        cv2.resize(gray, None, fx=_QR_ZOOM, fy=_QR_ZOOM, interpolation=cv2.INTER_CUBIC))


def _read_page_image(image: np.ndarray, engine: OcrEngine, qr: QrData | None,
                     survey: Survey | None = None) -> Invoice:
    """OCR the prepared page and re-read failing tax ids; if checks still fail, read what the seals
    cover (or what was missed) again with red ink faded, pooling all readings for the extractor."""
    survey = survey or engine.survey(image)
    page = crop_page(image, survey.text)
    qr = qr or decode_invoice_qr(page)
    page_img = straighten(turn_upright(page, qr.orientation if qr else survey.rotation), engine.page_width)
    if qr is None:
        qr = _qr_on_page(page_img)
        if qr and qr.orientation:  # the code, found only now, says the survey turned the page wrong
            page_img = straighten(turn_upright(page_img, qr.orientation), engine.page_width)
    size = (float(page_img.shape[1]), float(page_img.shape[0]))
    source = _source(qr, "ocr")
    lines = _by_least_sure_glyph(page_img, engine, engine.read_lines(engine.prepare(page_img)))
    lines += _reread_codes(page_img, engine, lines)
    invoice = extract_invoice(Page(tuple(lines), *size), qr, source)
    if engine.fades_seals or not _fails_checks(invoice):
        return invoice
    faded = cv2.cvtColor(fade_red(page_img), cv2.COLOR_GRAY2BGR)
    more = _by_least_sure_glyph(faded, engine, engine.read_lines(
        engine.prepare(faded), keep=_under_seal_or_unread(red_mask(page_img), lines)))
    more += _reread_codes(faded, engine, more)
    return extract_invoice(Page((*lines, *more), *size), qr, source)


def _check_engine(engine: str | None) -> str:
    name = engine or DEFAULT_ENGINE
    if name not in ENGINES:
        raise ValueError(f"unknown OCR engine {name!r}; choose one of {', '.join(ENGINES)}")
    return name


def _looks_like_invoice(inv: Invoice) -> bool:
    """A page that yielded an invoice number or a total (not a 销货清单 or a cover page)."""
    return inv.invoice_number is not None or inv.total is not None


def _read_pdf(data: bytes, engine: str) -> list[Invoice]:
    """Every page of a PDF: its text layer when it has one, else OCR of the rendering."""
    # PDF libraries load only when a PDF arrives: most invoices are photos.
    from ocr.pdf import has_text_layer, pdf_pages

    found: list[Invoice] = []
    for page in pdf_pages(data, _PDF_RENDER_WIDTH):
        qr = decode_invoice_qr(page.image)
        if has_text_layer(page.lines):
            inv = extract_invoice(Page(tuple(page.lines), page.width, page.height), qr, _source(qr, "pdf-text"))
        else:
            inv = _read_page_image(page.image, get_engine(engine), qr)
        found.append(inv)
    if not found:
        raise ValueError("PDF without pages")
    invoices = [inv for inv in found if _looks_like_invoice(inv)]
    return invoices or found[:1]


def _steadied(photo: np.ndarray, engine: OcrEngine) -> tuple[np.ndarray, Survey]:
    """The photo with camera shake undone, and its survey. A deconvolution that leaves less text to
    find than the photo had is not used: a desk's grain or a print's pattern was taken for shake."""
    survey = engine.survey(photo)
    sharp = remove_motion_blur(photo)
    if sharp is photo:
        return photo, survey
    again = engine.survey(sharp)
    return (sharp, again) if len(again.text) >= _STEADIED_TEXT * len(survey.text) else (photo, survey)


def read_document(data: bytes, *, engine: str | None = None) -> list[Invoice]:
    """Every invoice in an upload: a photo or scan (one), a PDF (one per invoice page), an OFD
    package (one per document) or a 数电票 XML (one). E-invoice files are read as data, not by OCR."""
    name = _check_engine(engine)
    if is_ofd(data):
        return read_ofd(data)
    if is_pdf(data):
        return _read_pdf(data, name)
    if is_xml(data):
        return [read_invoice_xml(data)]
    ocr = get_engine(name)
    image, survey = _steadied(load_image(data), ocr)
    return [_read_page_image(image, ocr, decode_invoice_qr(image), survey)]


def read_invoice(data: bytes, *, engine: str | None = None) -> Invoice:
    """The (first) invoice in image, PDF, OFD or XML bytes, read with the named OCR engine if OCR is needed."""
    return read_document(data, engine=engine)[0]
