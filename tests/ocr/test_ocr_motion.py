"""Camera shake: a straight smear is measured from the photo itself and undone before reading."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ocr import DEFAULT_ENGINE, read_document
from ocr.engines import get_engine
from ocr.models import KEY_FIELDS
from ocr.preprocess import load_image, motion_blur, remove_motion_blur
from ocr.reader import _steadied
from simulator.invoice_art import render_invoice_png, sample_fields


def shaken(page: np.ndarray, length: int, angle: float) -> np.ndarray:
    """The page smeared along a line of `length` pixels at `angle` degrees, as a hand moving would."""
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0
    turn = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), angle, 1.0)
    kernel = cv2.warpAffine(kernel, turn, (length, length))
    return cv2.filter2D(page, -1, kernel / kernel.sum())


def jpeg(image: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()


def page(seed: int) -> np.ndarray:
    return load_image(render_invoice_png(sample_fields(seed)))


def axis_gap(a: float, b: float) -> float:
    """Angle between two undirected lines, in degrees (0..90)."""
    d = abs(a - b) % 180
    return min(d, 180 - d)


@pytest.mark.parametrize(("length", "angle"), [(9, 0.0), (13, 35.0), (15, 90.0), (11, 140.0)])
def test_a_straight_shake_is_measured(length: int, angle: float) -> None:
    found_length, found_angle = motion_blur(cv2.cvtColor(shaken(page(41), length, angle), cv2.COLOR_BGR2GRAY))
    assert abs(found_length - length) <= 2.5
    # OpenCV turns the kernel counter-clockwise with y down; the cepstrum angle is measured with y down too
    assert axis_gap(found_angle, -angle) <= 12


@pytest.mark.parametrize("seed", [41, 42, 43])
def test_a_sharp_page_is_left_as_it_is(seed: int) -> None:
    sharp = page(seed)
    assert motion_blur(cv2.cvtColor(sharp, cv2.COLOR_BGR2GRAY)) == (0.0, 0.0)
    assert remove_motion_blur(sharp) is sharp


def test_undoing_the_shake_brings_the_edges_back() -> None:
    sharp = cv2.cvtColor(page(44), cv2.COLOR_BGR2GRAY)
    blurred = shaken(page(44), 13, 20.0)
    restored = cv2.cvtColor(remove_motion_blur(blurred), cv2.COLOR_BGR2GRAY)

    def edges(gray: np.ndarray) -> float:
        return float(cv2.Laplacian(gray, cv2.CV_64F).var())

    assert edges(restored) > 2 * edges(cv2.cvtColor(blurred, cv2.COLOR_BGR2GRAY))
    assert edges(restored) < 3 * edges(sharp)  # sharpened back, not blown up into noise


@pytest.mark.parametrize(("seed", "length", "angle"), [(45, 14, 25.0), (46, 16, 120.0)])
def test_a_shaken_photo_is_read(seed: int, length: int, angle: float) -> None:
    fields = sample_fields(seed)
    [inv] = read_document(jpeg(shaken(load_image(render_invoice_png(fields)), length, angle)))
    got = inv.to_json_dict()
    wrong = [k for k in KEY_FIELDS if k != "seller_tax_id" and str(got[k]) != str(fields[k])]
    assert not wrong, {k: (got[k], fields[k]) for k in wrong}


def test_a_deconvolution_that_loses_text_is_not_used() -> None:
    """A double exposure shows in the cepstrum as a shake, yet undoing a smear it never had leaves
    less text to find: the photo is read as it is. A real shake is still undone."""
    photo = page(41)
    ghost = cv2.addWeighted(photo, 0.6, np.roll(photo, (9, 12), axis=(0, 1)), 0.4, 0)
    assert motion_blur(cv2.cvtColor(ghost, cv2.COLOR_BGR2GRAY))[0] > 0
    engine = get_engine(DEFAULT_ENGINE)
    kept, survey = _steadied(ghost, engine)
    assert kept is ghost and survey.text
    blurred = shaken(photo, 13, 35.0)
    steadied, _ = _steadied(blurred, engine)
    assert steadied is not blurred
