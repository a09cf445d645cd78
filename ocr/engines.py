"""OCR engines behind one small interface, chosen by name and loaded once per process."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from ocr.constrained import Alternatives
from ocr.preprocess import fade_red
from ocr.second_recogniser import glyph_options, load_second_recogniser

ENGINES: tuple[str, ...] = ("rapidocr", "tesseract")

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in page pixels
BoxFilter = Callable[[Box], bool]  # which text boxes of a page are worth recognising


@dataclass(frozen=True)
class TextLine:
    """One recognised line: text, axis-aligned box (x0, y0, x1, y1) in page pixels, confidence 0..1."""

    text: str
    box: Box
    score: float

    @property
    def cx(self) -> float:
        return (self.box[0] + self.box[2]) / 2

    @property
    def cy(self) -> float:
        return (self.box[1] + self.box[3]) / 2

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


@dataclass(frozen=True)
class Survey:
    """A quick look at a whole photo: text quads (4 x 2 corners, image pixels) and the clockwise
    degrees (0, 90, 180, 270) its text is turned."""

    text: tuple[np.ndarray, ...]
    rotation: int


class OcrEngine(Protocol):
    """What the reader needs from an engine: the lines of a page (optionally only the boxes ``keep``
    accepts), the text of a one-line crop, how it likes its page prepared, and a quick survey of a
    whole photo (where its text is, and how far it is turned when no QR code says so)."""

    name: str
    page_width: int  # width the page is scaled to before reading; engines differ in what suits them
    fades_seals: bool  # prepare() already removes red ink, so a second, seal-faded reading adds nothing

    def prepare(self, page: np.ndarray) -> np.ndarray: ...

    def read_lines(self, image: np.ndarray, keep: BoxFilter | None = None) -> list[TextLine]: ...

    def read_line(self, crop: np.ndarray) -> tuple[str, float]: ...

    def survey(self, image: np.ndarray) -> Survey: ...


def _bbox(quad: np.ndarray) -> Box:
    return (float(quad[:, 0].min()), float(quad[:, 1].min()), float(quad[:, 0].max()), float(quad[:, 1].max()))


def item_table_rows(boxes: list[Box]) -> set[int]:
    """Indices of boxes on item-table rows not worth reading: rows of six or more boxes, none of
    them long text besides the first.

    Invoice item rows and the table header are many short cells side by side (name, spec, unit,
    quantity, price, amount, rate, tax); party, total and header rows have at most four boxes or
    carry a long name/code box, so they are never dropped. Of an item row, the first cell (the item
    name: what was bought) and the amount and tax cells (third last and last: their sums check the
    合计 row) are read; spec, unit, quantity, price and rate are skipped.
    """
    if not boxes:
        return set()
    heights = sorted(b[3] - b[1] for b in boxes)
    tol = 0.5 * heights[len(heights) // 2]
    rows: list[list[int]] = []
    for i in sorted(range(len(boxes)), key=lambda i: boxes[i][1] + boxes[i][3]):
        cy = (boxes[i][1] + boxes[i][3]) / 2
        if rows and abs(cy - sum((boxes[j][1] + boxes[j][3]) / 2 for j in rows[-1]) / len(rows[-1])) <= tol:
            rows[-1].append(i)
        else:
            rows.append([i])
    skipped: set[int] = set()
    for row in rows:
        leftmost = min(row, key=lambda i: boxes[i][0])
        long_text = any((boxes[i][2] - boxes[i][0]) > 8 * max(boxes[i][3] - boxes[i][1], 1.0)
                        for i in row if i != leftmost)
        if len(row) >= 6 and not long_text:
            by_x = sorted(row, key=lambda i: boxes[i][0])
            skipped.update(set(by_x[1:]) - {by_x[-1], by_x[-3]})
    return skipped


@runtime_checkable
class CharAlternatives(Protocol):
    """Engines that can also say which other characters each recognised glyph might have been."""

    def char_alternatives(self, crop: np.ndarray) -> Alternatives: ...


@runtime_checkable
class SecondOpinion(Protocol):
    """Engines with a second recogniser whose per-glyph probabilities join the vote on re-read crops."""

    def second_alternatives(self, crop: np.ndarray) -> Alternatives: ...


class RapidOcrEngine:
    """PP-OCRv4 models via onnxruntime, and PP-OCRv5's recogniser for codes re-read in doubt; the models
    ship inside their wheels, so it works offline."""

    name = "rapidocr"
    page_width = 1600
    detect_width = 1280  # finding text boxes needs less detail than reading them
    survey_side = 800  # where text is and which way it runs shows at this size
    orient_lines = 16  # the largest lines vote on upright vs upside down
    split_vote = 0.25  # a minority above this share of the direction votes is too close to call
    fades_seals = False

    def __init__(self) -> None:
        from rapidocr_onnxruntime import RapidOCR

        # Pages are turned upright before reading, so classifying every line's direction only costs
        # time. The detector sees images at the size given ("max": never upscaled to a minimum side).
        self._ocr = RapidOCR(use_cls=False, det_limit_type="max", det_limit_side_len=2000)
        self._second = load_second_recogniser()

    def prepare(self, page: np.ndarray) -> np.ndarray:
        """The colour page as is: the detector copes with shading and seals."""
        return page

    def read_lines(self, image: np.ndarray, keep: BoxFilter | None = None) -> list[TextLine]:
        """Detect text boxes, drop the item-table rows (and boxes keep rejects), recognise the rest.

        Recognition dominates the cost, and most cells of the item rows (specs, units, quantities,
        prices, rates) carry nothing the extractor reads: only names, amounts and taxes are read.
        """
        ocr = self._ocr
        scale = min(1.0, self.detect_width / image.shape[1])
        small = image if scale == 1.0 else cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        boxes, _ = ocr.text_det(small)
        if boxes is None or len(boxes) == 0:
            return []
        quads = [np.asarray(b, dtype=np.float32) / scale for b in ocr.sorted_boxes(boxes)]
        skip = item_table_rows([_bbox(q) for q in quads])
        quads = [q for i, q in enumerate(quads) if i not in skip and (keep is None or keep(_bbox(q)))]
        if not quads:
            return []
        results, _ = ocr.text_rec(ocr.get_crop_img_list(image, quads))
        lines: list[TextLine] = []
        for quad, (text, score) in zip(quads, results, strict=True):
            if float(score) >= ocr.text_score and str(text).strip():
                lines.append(TextLine(str(text), _bbox(quad), float(score)))
        return lines

    def survey(self, image: np.ndarray) -> Survey:
        """Where the text is and which way it runs, from the detector on a small copy of the photo.

        Text lines are wider than tall, so detector boxes that run down the image mean a quarter
        turn; the direction classifier then votes, over the largest lines, between upright and
        upside down. Boxes and directions need no fine detail, so this costs a fraction of a read.
        """
        scale = min(1.0, self.survey_side / max(image.shape[:2]))
        small = image if scale == 1.0 else cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        found, _ = self._ocr.text_det(small)
        if found is None or len(found) == 0:
            return Survey((), 0)
        quads = [np.asarray(q, dtype=np.float32) for q in found]
        return Survey(tuple(q / scale for q in quads), self._rotation(small, quads))

    def _rotation(self, small: np.ndarray, quads: list[np.ndarray]) -> int:
        sizes = [(np.ptp(q[:, 0]), np.ptp(q[:, 1])) for q in quads]
        across = sum(w * h for w, h in sizes if w >= 2 * h)
        down = sum(w * h for w, h in sizes if h >= 2 * w)
        turned = 0
        if down > across:
            # Turn a quarter clockwise: (x, y) moves to (H - 1 - y, x) and the old bottom-left
            # corner becomes the top-left one, as the cropper expects corners in that order.
            height = small.shape[0]
            small = cv2.rotate(small, cv2.ROTATE_90_CLOCKWISE)
            quads = [np.roll(np.stack([height - 1 - q[:, 1], q[:, 0]], axis=1), 1, axis=0) for q in quads]
            turned = 90
        lines = sorted((q for q in quads if np.ptp(q[:, 0]) >= 2 * np.ptp(q[:, 1])),
                       key=lambda q: -np.ptp(q[:, 0]) * np.ptp(q[:, 1]))[: self.orient_lines]
        if lines:
            crops = self._ocr.get_crop_img_list(small, lines)
            _, votes, _ = self._ocr.text_cls(crops)
            flipped = sum(float(score) for label, score in votes if label == "180")
            upright = sum(float(score) for label, score in votes if label == "0")
            if min(flipped, upright) > self.split_vote * (flipped + upright):
                # Shadows and perspective can split the classifier; the recogniser is sure only of
                # text the right way up, so its scores on both turns of the same lines decide.
                upright = self._mean_score(crops)
                flipped = self._mean_score([cv2.rotate(c, cv2.ROTATE_180) for c in crops])
            if flipped > upright:
                turned += 180
        return (360 - turned) % 360

    def _mean_score(self, crops: list[np.ndarray]) -> float:
        results, _ = self._ocr.text_rec(crops)
        return sum(float(score) for _, score in results) / max(len(results), 1)

    def char_alternatives(self, crop: np.ndarray, top: int = 5) -> Alternatives:
        """Per emitted character, the recogniser's top candidates with probabilities (CTC greedy path)."""
        return glyph_options(self._ocr.text_rec, crop, top)

    def second_alternatives(self, crop: np.ndarray) -> Alternatives:
        """The same from the second, stronger recogniser: its readings of a re-read crop join the vote."""
        return glyph_options(self._second, crop)

    def read_line(self, crop: np.ndarray) -> tuple[str, float]:
        result, _ = self._ocr(crop, use_det=False, use_cls=False)
        if not result:
            return "", 0.0
        text, score = result[0][0], result[0][1]
        return str(text), float(score)


class TesseractEngine:
    """Tesseract 5 with chi_sim+eng via pytesseract; slower, kept as an alternative."""

    name = "tesseract"
    page_width = 2400
    fades_seals = True
    lang = "chi_sim+eng"
    survey_side = 1200

    def __init__(self) -> None:
        import pytesseract

        self._tess = pytesseract
        self._tess.get_tesseract_version()  # fail early when the binary is missing

    def prepare(self, page: np.ndarray) -> np.ndarray:
        """Even light and pale seals; Tesseract binarises by itself and keeps bold titles whole that way."""
        return fade_red(page)

    def read_lines(self, image: np.ndarray, keep: BoxFilter | None = None) -> list[TextLine]:
        data: dict[str, list[Any]] = self._tess.image_to_data(
            image, lang=self.lang, config="--psm 11", output_type=self._tess.Output.DICT
        )
        groups: dict[tuple[int, int, int], list[int]] = {}
        for i, word in enumerate(data["text"]):
            if str(word).strip() and float(data["conf"][i]) >= 0:
                key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
                groups.setdefault(key, []).append(i)
        lines: list[TextLine] = []
        for idx in groups.values():
            x0 = min(data["left"][i] for i in idx)
            y0 = min(data["top"][i] for i in idx)
            x1 = max(data["left"][i] + data["width"][i] for i in idx)
            y1 = max(data["top"][i] + data["height"][i] for i in idx)
            text = " ".join(str(data["text"][i]).strip() for i in idx)
            score = sum(float(data["conf"][i]) for i in idx) / len(idx) / 100
            box = (float(x0), float(y0), float(x1), float(y1))
            if keep is None or keep(box):
                lines.append(TextLine(text, box, score))
        return lines

    def survey(self, image: np.ndarray) -> Survey:
        """Word boxes on a small copy, and the rotation by Tesseract's orientation detection (OSD)."""
        scale = min(1.0, self.survey_side / max(image.shape[:2]))
        small = image if scale == 1.0 else cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        data = self._tess.image_to_data(small, config="--psm 11", output_type=self._tess.Output.DICT)
        text = tuple(
            np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=np.float32) / scale
            for x, y, w, h, word in zip(data["left"], data["top"], data["width"], data["height"], data["text"],
                                        strict=True)
            if str(word).strip()
        )
        try:
            rotation = int(self._tess.image_to_osd(small, output_type=self._tess.Output.DICT).get("orientation", 0))
        except self._tess.TesseractError:  # too little text to decide
            rotation = 0
        return Survey(text, rotation % 360)

    def read_line(self, crop: np.ndarray) -> tuple[str, float]:
        data = self._tess.image_to_data(
            crop, lang=self.lang, config="--psm 7", output_type=self._tess.Output.DICT
        )
        words = [(str(w).strip(), float(c)) for w, c in zip(data["text"], data["conf"], strict=True)
                 if str(w).strip() and float(c) >= 0]
        if not words:
            return "", 0.0
        return " ".join(w for w, _ in words), sum(c for _, c in words) / len(words) / 100


_FACTORIES = {"rapidocr": RapidOcrEngine, "tesseract": TesseractEngine}
_loaded: dict[str, OcrEngine] = {}
_lock = threading.Lock()


def get_engine(name: str) -> OcrEngine:
    """The engine of that name, created on first use and then reused for the life of the process."""
    if name not in _FACTORIES:
        raise ValueError(f"unknown OCR engine {name!r}; choose one of {', '.join(ENGINES)}")
    with _lock:
        if name not in _loaded:
            _loaded[name] = _FACTORIES[name]()
        return _loaded[name]
