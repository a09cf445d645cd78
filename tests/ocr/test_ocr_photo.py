"""Phone-photo conditions: a page in perspective on a desk, photos on their side or upside down."""

import cv2
import numpy as np
import pytest

from ocr import DEFAULT_ENGINE, read_invoice
from ocr.engines import OcrEngine, Survey, get_engine
from ocr.models import KEY_FIELDS
from ocr.preprocess import find_page, load_image, skew_angle
from ocr.qr import decode_invoice_qr
from ocr.reader import _read_page_image
from simulator.invoice_art import render_invoice_png, sample_fields


def _photo(png: bytes, angle: float) -> np.ndarray:
    """The page rotated and in slight perspective on a brown desk, with JPEG-like softness."""
    page = load_image(png)
    h, w = page.shape[:2]
    canvas_w, canvas_h = int(w * 1.3), int(h * 1.4)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    cx, cy = canvas_w / 2, canvas_h / 2
    rad = np.deg2rad(angle)
    rot = np.array([[np.cos(rad), -np.sin(rad)], [np.sin(rad), np.cos(rad)]])
    corners = (src - [w / 2, h / 2]) * [[1.0, 1.0], [0.97, 1.0], [1.0, 1.0], [0.97, 1.0]]
    dst = (corners @ rot.T + [cx, cy]).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    desk = np.full((canvas_h, canvas_w, 3), (40, 70, 120), dtype=np.uint8)
    photo = cv2.warpPerspective(page, matrix, (canvas_w, canvas_h), dst=desk, borderMode=cv2.BORDER_TRANSPARENT)
    return cv2.GaussianBlur(photo, (3, 3), 0)


def test_page_is_found_and_straightened() -> None:
    photo = _photo(render_invoice_png(sample_fields(21)), angle=4.0)
    corners = find_page(photo)
    assert corners is not None
    assert abs(skew_angle(photo)) > 2.0


def test_photo_in_perspective_reads_key_fields() -> None:
    fields = sample_fields(22)
    ok, jpeg = cv2.imencode(".jpg", _photo(render_invoice_png(fields, with_qr=False), angle=-3.5),
                            [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    got = read_invoice(jpeg.tobytes()).to_json_dict()
    assert {k: got[k] for k in KEY_FIELDS} == {k: fields[k] for k in KEY_FIELDS}


def test_photo_on_its_side_is_turned_by_the_qr_code() -> None:
    fields = sample_fields(23)
    ok, jpeg = cv2.imencode(".jpg", cv2.rotate(load_image(render_invoice_png(fields)), cv2.ROTATE_90_CLOCKWISE))
    assert ok
    inv = read_invoice(jpeg.tobytes())
    assert inv.to_json_dict() == fields


@pytest.mark.parametrize("turn, degrees", [(cv2.ROTATE_90_CLOCKWISE, 90), (cv2.ROTATE_180, 180),
                                           (cv2.ROTATE_90_COUNTERCLOCKWISE, 270), (None, 0)])
def test_rotation_is_found_from_the_text_alone(turn: int | None, degrees: int) -> None:
    page = load_image(render_invoice_png(sample_fields(24), with_qr=False))
    turned = page if turn is None else cv2.rotate(page, turn)
    assert get_engine(DEFAULT_ENGINE).survey(turned).rotation == degrees


def test_upside_down_photo_without_qr_is_read() -> None:
    fields = sample_fields(25)
    page = cv2.rotate(load_image(render_invoice_png(fields, with_qr=False)), cv2.ROTATE_180)
    ok, jpeg = cv2.imencode(".jpg", page, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    got = read_invoice(jpeg.tobytes()).to_json_dict()
    assert {k: got[k] for k in KEY_FIELDS} == {k: fields[k] for k in KEY_FIELDS}


class _WrongWayUp:
    """The real engine, except that its survey takes every photo for upside down (as shadows made
    the direction classifier do on some photos)."""

    def __init__(self, engine: OcrEngine) -> None:
        self._engine = engine

    def __getattr__(self, name: str) -> object:
        return getattr(self._engine, name)

    def survey(self, image: np.ndarray) -> Survey:
        return Survey(self._engine.survey(image).text, 180)


def test_qr_code_found_on_the_page_overrules_a_wrong_survey() -> None:
    fields = sample_fields(26)
    desk = _photo(render_invoice_png(fields), angle=0.0)
    # Soft and small enough that the code decodes only from the enlarged page, after the turn.
    small = cv2.resize(desk, (1100, round(desk.shape[0] * 1100 / desk.shape[1])), interpolation=cv2.INTER_AREA)
    photo = cv2.GaussianBlur(small, (0, 0), 1.2)
    assert decode_invoice_qr(photo) is None
    inv = _read_page_image(photo, _WrongWayUp(get_engine(DEFAULT_ENGINE)), qr=None)
    got = inv.to_json_dict()
    assert {k: got[k] for k in KEY_FIELDS} == {k: fields[k] for k in KEY_FIELDS}
    assert inv.confidence["seller_tax_id"] >= 0.8  # read from the upright page, not the QR alone


@pytest.mark.parametrize("turn, degrees", [(cv2.ROTATE_180, 180), (None, 0)])
def test_split_direction_votes_are_decided_by_recognition(turn: int | None, degrees: int,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    engine = get_engine(DEFAULT_ENGINE)
    monkeypatch.setattr(engine, "split_vote", 0.0)  # every vote counts as split: recognition decides
    page = load_image(render_invoice_png(sample_fields(27), with_qr=False))
    assert engine.survey(page if turn is None else cv2.rotate(page, turn)).rotation == degrees
