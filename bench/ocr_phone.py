"""Phone-photo conditions the invoice generator never makes, applied on top of its images.

Each condition is a function (BGR image, random source) -> JPEG bytes, so the benchmark can track
how reading holds up under what real phones produce: sideways and upside-down shots, motion blur,
glare, small heavily compressed photos, folded paper and photos of a screen.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import cv2
import numpy as np

Condition = Callable[[np.ndarray, random.Random], bytes]


def _jpeg(image: np.ndarray, quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


def _turn(code: int) -> Condition:
    def apply(image: np.ndarray, rng: random.Random) -> bytes:
        return _jpeg(cv2.rotate(image, code), rng.randint(70, 90))

    return apply


def motion_blur(image: np.ndarray, rng: random.Random) -> bytes:
    """A hand moving during the exposure: a line kernel of 0.4-0.8 % of the width at any angle."""
    length = max(3, round(image.shape[1] * rng.uniform(0.004, 0.008)))
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2, :] = 1.0
    rot = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), rng.uniform(0, 180), 1.0)
    kernel = cv2.warpAffine(kernel, rot, (length, length))
    kernel /= kernel.sum()
    return _jpeg(cv2.filter2D(image, -1, kernel), rng.randint(70, 90))


def glare(image: np.ndarray, rng: random.Random) -> bytes:
    """A lamp reflected on glossy paper: a bright soft ellipse that washes out the print beneath."""
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = rng.uniform(0.15, 0.85) * w, rng.uniform(0.2, 0.8) * h
    rx, ry = rng.uniform(0.08, 0.2) * w, rng.uniform(0.08, 0.2) * h
    ang = rng.uniform(0, math.pi)
    dx, dy = xx - cx, yy - cy
    u = (dx * math.cos(ang) + dy * math.sin(ang)) / rx
    v = (-dx * math.sin(ang) + dy * math.cos(ang)) / ry
    spot = np.exp(-(u * u + v * v)) * rng.uniform(0.55, 0.8)
    out = image.astype(np.float32) * (1 - spot[..., None]) + 255 * spot[..., None]
    return _jpeg(out.clip(0, 255).astype(np.uint8), rng.randint(70, 90))


def small_compressed(image: np.ndarray, rng: random.Random) -> bytes:
    """What chat apps make of a photo: 700 px wide, JPEG quality 30."""
    h, w = image.shape[:2]
    small = cv2.resize(image, (700, round(h * 700 / w)), interpolation=cv2.INTER_AREA)
    return _jpeg(small, 30)


def folded(image: np.ndarray, rng: random.Random) -> bytes:
    """Paper folded in half (or thirds) and not pressed flat: kinked rows, shaded panels, a crease."""
    h, w = image.shape[:2]
    vertical = rng.random() < 0.6  # a crease running top to bottom
    size = w if vertical else h
    folds = sorted(rng.uniform(0.3, 0.7) * size for _ in range(rng.choice((1, 1, 2))))
    pos = np.arange(size, dtype=np.float32)
    # Each panel tilts a little: the displacement across the crease is piecewise linear (a kink).
    lift = np.zeros(size, np.float32)
    shade = np.ones(size, np.float32)
    for f in folds:
        slope = rng.uniform(0.01, 0.03) * rng.choice((-1, 1))
        lift += slope * np.abs(pos - f)
        shade *= np.where(pos > f, rng.uniform(0.75, 0.95), 1.0).astype(np.float32)
        shade *= 1 - 0.35 * np.exp(-((pos - f) / (0.004 * size)) ** 2)  # the crease itself
    lift -= lift.mean()
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if vertical:
        map_x, map_y = xx, yy + lift[None, :]
        light = shade[None, :]
    else:
        map_x, map_y = xx + lift[:, None], yy
        light = shade[:, None]
    warped = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    out = warped.astype(np.float32) * light[..., None]
    return _jpeg(out.clip(0, 255).astype(np.uint8), rng.randint(70, 90))


def screen_photo(image: np.ndarray, rng: random.Random) -> bytes:
    """The invoice shown on a monitor and photographed: pixel grid, moire, blue cast, raised blacks."""
    h, w = image.shape[:2]
    img = image.astype(np.float32)
    img = 35 + img * (200 / 255)  # a screen's black is grey and its white is not paper white
    img *= np.array([rng.uniform(1.0, 1.15), rng.uniform(0.95, 1.05), rng.uniform(0.8, 0.95)], np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    pitch = rng.uniform(2.6, 3.6)  # the screen's pixel grid seen by the camera
    grid = 0.88 + 0.12 * np.cos(2 * math.pi * xx / pitch) * np.cos(2 * math.pi * yy / pitch)
    ang = rng.uniform(0, math.pi)
    period = rng.uniform(8, 30)  # moire: the beat between screen and sensor grids
    moire = 1 + rng.uniform(0.06, 0.14) * np.sin(2 * math.pi * (xx * math.cos(ang) + yy * math.sin(ang)) / period)
    img = img * (grid * moire)[..., None]
    bezel = round(0.04 * w)
    framed = cv2.copyMakeBorder(img.clip(0, 255).astype(np.uint8), bezel, bezel, bezel, bezel,
                                cv2.BORDER_CONSTANT, value=(20, 20, 22))
    fh, fw = framed.shape[:2]
    d = 0.03
    src = np.array([[0, 0], [fw, 0], [fw, fh], [0, fh]], np.float32)
    dst = src + np.array([[rng.uniform(-d, d) * fw, rng.uniform(-d, d) * fh] for _ in range(4)], np.float32)
    dst -= dst.min(axis=0)
    out_w, out_h = int(dst[:, 0].max()), int(dst[:, 1].max())
    warped = cv2.warpPerspective(framed, cv2.getPerspectiveTransform(src, dst), (out_w, out_h),
                                 borderValue=(30, 30, 30))
    warped = cv2.GaussianBlur(warped, (0, 0), rng.uniform(0.6, 1.1))
    return _jpeg(warped, rng.randint(65, 85))


CONDITIONS: dict[str, Condition] = {
    "rot90": _turn(cv2.ROTATE_90_CLOCKWISE),
    "rot270": _turn(cv2.ROTATE_90_COUNTERCLOCKWISE),
    "rot180": _turn(cv2.ROTATE_180),
    "motion": motion_blur,
    "glare": glare,
    "small_q30": small_compressed,
    "folded": folded,
    "screen": screen_photo,
}
