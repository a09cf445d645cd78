"""Turn a phone photo or scan into an upright, flat, evenly sized page for OCR (OpenCV).

Photos arrive rotated by EXIF, at an angle, in perspective, on a coloured desk, with shadows. Each
step here removes one of those so the extractor can rely on rows and columns of text.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import cv2
import numpy as np
from PIL import Image, ImageOps

from ocr.limits import MAX_JPEG_PIXELS, MAX_PAGE_PIXELS, DocumentTooLarge, check_pixels, jpeg_reduction

_DETECT_SIDE = 640  # page and skew detection work on a small copy: fast and robust to noise
_SEAL_TONE = 0.8  # red-channel brightness of seal ink relative to paper: from here up becomes white
_TEXT_MARGIN = 0.04  # around the text, as a share of its extent: the form's outer rules and the QR code
# Camera shake: looked for in a central square of this side; peaks this far out at most (pixels);
# a cepstrum peak at least this many times the mean magnitude around it, and at least this long.
_CEPSTRUM_SIDE = 512
_MAX_SHAKE = 40
_SHAKE_PEAK = -30.0
_MIN_SHAKE = 5.0
_WIENER_NOISE = 0.01  # noise-to-signal power assumed by the deconvolution: more is smoother, less sharper
# Pillow's own bomb check, a backstop behind the explicit ones in load_image (it raises at twice this).
Image.MAX_IMAGE_PIXELS = MAX_JPEG_PIXELS


def load_image(data: bytes) -> np.ndarray:
    """Decode image bytes to a BGR array, applying the EXIF orientation phones record.

    The size is checked from the header first (opening is lazy): a JPEG beyond the pixel budget is
    decoded at a reduced scale, any other image beyond it is refused with DocumentTooLarge.
    """
    try:
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
            if im.format == "JPEG":
                factor = jpeg_reduction(width, height)
                if factor > 1:
                    im.draft("RGB", (width // factor, height // factor))
            else:
                check_pixels(width, height)
            upright = ImageOps.exif_transpose(im)
            rgb = upright.convert("RGB")
    except Image.DecompressionBombError as exc:
        raise DocumentTooLarge(str(exc)) from exc
    return cv2.cvtColor(np.asarray(rgb), cv2.COLOR_RGB2BGR)


def _order_corners(pts: np.ndarray) -> np.ndarray:
    """Corners as top-left, top-right, bottom-right, bottom-left."""
    s = pts.sum(axis=1)
    d = np.diff(pts, axis=1).ravel()
    return np.array([pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]],
                    dtype=np.float32)


def turn_upright(image: np.ndarray, clockwise_degrees: float) -> np.ndarray:
    """Undo a quarter or half turn (e.g. as read from the QR code's orientation); small angles stay."""
    quarter = round(clockwise_degrees / 90) % 4
    if quarter == 0:
        return image
    turns = {1: cv2.ROTATE_90_COUNTERCLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_CLOCKWISE}
    return cv2.rotate(image, turns[quarter])


def find_page(image: np.ndarray) -> np.ndarray | None:
    """Corners of the paper when it lies on a distinctly darker or coloured background, else None.

    Paper is bright and unsaturated; desks are darker or coloured. A page that already fills the
    frame (a scan) returns None, so nothing is cropped.
    """
    h, w = image.shape[:2]
    scale = _DETECT_SIDE / max(h, w)
    small = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    whiteness = cv2.subtract(hsv[:, :, 2], hsv[:, :, 1])
    whiteness = cv2.GaussianBlur(whiteness, (5, 5), 0)
    _, mask = cv2.threshold(whiteness, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (15, 15))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    contour = max(contours, key=cv2.contourArea)
    area = cv2.contourArea(contour)
    frame = small.shape[0] * small.shape[1]
    if not 0.2 * frame <= area <= 0.93 * frame:
        return None
    hull = cv2.convexHull(contour)
    peri = cv2.arcLength(hull, True)
    for eps in (0.01, 0.02, 0.03, 0.05):
        approx = cv2.approxPolyDP(hull, eps * peri, True)
        if len(approx) == 4:
            break
    else:
        return None
    quad = approx.reshape(4, 2).astype(np.float32)
    # Only trust a quad that the paper mask fills and that leaves no paper outside it.
    quad_mask = np.zeros_like(mask)
    cv2.fillConvexPoly(quad_mask, quad.astype(np.int32), 255)
    inside = cv2.countNonZero(cv2.bitwise_and(mask, quad_mask))
    if inside < 0.92 * cv2.countNonZero(quad_mask) or inside < 0.9 * cv2.countNonZero(mask):
        return None
    return _order_corners(quad / scale)


def warp_page(image: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Perspective-correct the page to a flat rectangle."""
    tl, tr, br, bl = corners
    width = int(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl)))
    height = int(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr)))
    dst = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(corners, dst)
    return cv2.warpPerspective(image, matrix, (width, height), flags=cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_REPLICATE)


def skew_angle(image: np.ndarray) -> float:
    """Skew in degrees from the long near-horizontal lines (table rules, text baselines)."""
    h, w = image.shape[:2]
    scale = min(1.0, 1000 / max(h, w))
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if scale < 1.0:
        gray = cv2.resize(gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    edges = cv2.Canny(gray, 50, 150)
    min_len = gray.shape[1] // 4
    lines = cv2.HoughLinesP(edges, 1, math.pi / 720, threshold=80, minLineLength=min_len, maxLineGap=10)
    if lines is None:
        return 0.0
    angles: list[float] = []
    weights: list[float] = []
    for x1, y1, x2, y2 in lines.reshape(-1, 4):
        angle = math.degrees(math.atan2(y2 - y1, x2 - x1))
        if abs(angle) < 10:
            angles.append(angle)
            weights.append(math.hypot(x2 - x1, y2 - y1))
    if not angles:
        return 0.0
    order = np.argsort(angles)
    cum = np.cumsum(np.asarray(weights)[order])
    return float(np.asarray(angles)[order][np.searchsorted(cum, cum[-1] / 2)])  # weighted median


def rotate(image: np.ndarray, angle: float) -> np.ndarray:
    """Rotate about the centre by angle degrees (counter-clockwise), keeping the whole page."""
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = int(h * sin + w * cos), int(h * cos + w * sin)
    matrix[0, 2] += new_w / 2 - w / 2
    matrix[1, 2] += new_h / 2 - h / 2
    return cv2.warpAffine(image, matrix, (new_w, new_h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


def scale_to_width(image: np.ndarray, width: int) -> np.ndarray:
    """Resize so text has about the height the engine was trained on; a long narrow strip (a till
    roll, or a hostile 1:50 image) is scaled no further than MAX_PAGE_PIXELS allow."""
    h, w = image.shape[:2]
    width = min(width, int(w * math.sqrt(MAX_PAGE_PIXELS / (w * h))))
    if abs(w - width) < 0.05 * width:
        return image
    interp = cv2.INTER_AREA if w > width else cv2.INTER_CUBIC
    return cv2.resize(image, (max(1, width), max(1, round(h * width / w))), interpolation=interp)


def flatten_light(gray: np.ndarray) -> np.ndarray:
    """Even out shadows and uneven light by dividing by a blurred background estimate."""
    k = max(31, (min(gray.shape) // 20) | 1)
    background = cv2.morphologyEx(gray, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    return cv2.divide(gray, background, scale=255)


def red_mask(image: np.ndarray) -> np.ndarray:
    """Where red ink (seals) is: saturated reds, slightly grown to cover the text they touch."""
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    hue, sat, val = hsv[:, :, 0], hsv[:, :, 1], hsv[:, :, 2]
    mask = (((hue < 10) | (hue > 165)) & (sat > 70) & (val > 70)).astype(np.uint8) * 255
    return cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)))


def fade_red(image: np.ndarray) -> np.ndarray:
    """Grey page where red ink (seals) vanishes while black print stays dark.

    Red ink barely darkens the red channel, black ink darkens all three; so the red channel,
    evened out, shows a seal as a pale tone just under paper white, which the levels lift to white.
    """
    even = flatten_light(image[:, :, 2])
    return cv2.convertScaleAbs(even, alpha=1.0 / _SEAL_TONE)


def _text_rect(text: Sequence[np.ndarray]) -> np.ndarray:
    """The rectangle around all text, turned like its lines run and grown by a margin for the
    form's rules and the QR code (corners may fall outside the photo: the warp repeats its border).

    The lines' own direction is used, not the smallest enclosing rectangle, whose angle follows
    the outline of a page in perspective rather than its rows.
    """
    wide = [q for q in text if np.ptp(q[:, 0]) > 2 * np.ptp(q[:, 1])] or list(text)
    angle = float(np.median([math.atan2(q[1, 1] - q[0, 1], q[1, 0] - q[0, 0]) for q in wide]))
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]], dtype=np.float32)
    points = np.concatenate(text) @ turn  # into the frame where the lines run level
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    grow = _TEXT_MARGIN * max(x1 - x0, y1 - y0)
    box = np.array([[x0 - grow, y0 - grow], [x1 + grow, y0 - grow], [x1 + grow, y1 + grow], [x0 - grow, y1 + grow]],
                   dtype=np.float32)
    return box @ turn.T


def crop_page(image: np.ndarray, text: Sequence[np.ndarray] = ()) -> np.ndarray:
    """The paper alone, flat, when the photo shows it on a desk; otherwise the image as it is.

    Shadows and pale desks make the paper outline unreliable, so an outline that would cut off
    any of the text found on the photo is not used; the page is then cut around the text itself.
    """
    corners = find_page(image)
    if text:
        slack = -0.01 * max(image.shape[:2])
        cuts_text = corners is not None and any(
            cv2.pointPolygonTest(corners, (float(q[:, 0].mean()), float(q[:, 1].mean())), True) < slack
            for q in text)
        if corners is None or cuts_text:
            corners = _text_rect(text)
    return warp_page(image, corners) if corners is not None else image


def straighten(page: np.ndarray, width: int) -> np.ndarray:
    """Deskew an upright page and scale it to the given width."""
    angle = skew_angle(page)
    if abs(angle) > 0.2:
        page = rotate(page, angle)
    return scale_to_width(page, width)


def motion_blur(gray: np.ndarray) -> tuple[float, float]:
    """Length (pixels) and angle (degrees) of a straight camera shake, or (0, 0) when there is none.

    A shake of length L smears every point along a line, which multiplies the spectrum by a sinc
    with zeros every 1/L; the cepstrum (the spectrum of the log spectrum) turns that ripple into a
    deep negative peak at distance L in the direction of motion. Sharp pages show no such peak.
    """
    h, w = gray.shape
    side = min(_CEPSTRUM_SIDE, h, w)
    y0, x0 = (h - side) // 2, (w - side) // 2
    patch = gray[y0:y0 + side, x0:x0 + side].astype(np.float32)
    window = np.outer(np.hanning(side), np.hanning(side)).astype(np.float32)
    spectrum = np.abs(np.fft.fft2(patch * window))
    cepstrum = np.fft.fftshift(np.real(np.fft.ifft2(np.log(spectrum + 1e-3))))
    c, r = side // 2, _MAX_SHAKE
    near = cepstrum[c - r:c + r + 1, c - r:c + r + 1].copy()
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1]
    near[(yy * yy + xx * xx < 9) | (yy < 0) | ((yy == 0) & (xx < 0))] = 0.0  # origin, and one half of a symmetry
    iy, ix = np.unravel_index(int(np.argmin(near)), near.shape)
    length = math.hypot(ix - r, iy - r)
    if near.min() > _SHAKE_PEAK * np.abs(near).mean() or length < _MIN_SHAKE:
        return 0.0, 0.0
    return length, math.degrees(math.atan2(iy - r, ix - r))


def _line_kernel(length: float, angle: float) -> np.ndarray:
    """The point spread of a straight shake: a line of that length and angle, anti-aliased."""
    size = int(length) + 3 | 1
    big = np.zeros((size * 8, size * 8), np.float32)
    dx, dy = math.cos(math.radians(angle)) * length * 4, math.sin(math.radians(angle)) * length * 4
    centre = size * 4
    cv2.line(big, (round(centre - dx), round(centre - dy)), (round(centre + dx), round(centre + dy)), 1.0, 8)
    kernel = cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)
    return kernel / kernel.sum()


def remove_motion_blur(image: np.ndarray) -> np.ndarray:
    """The photo with a straight camera shake undone (Wiener deconvolution), or as it is without one."""
    length, angle = motion_blur(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    if not length:
        return image
    kernel = _line_kernel(length, angle)
    h, w = image.shape[:2]
    psf = np.zeros((h, w), np.float32)
    k = kernel.shape[0]
    psf[:k, :k] = kernel
    transfer = np.fft.rfft2(np.roll(psf, (-(k // 2), -(k // 2)), axis=(0, 1)))
    inverse = np.conj(transfer) / (np.abs(transfer) ** 2 + _WIENER_NOISE)
    channels = [np.fft.irfft2(np.fft.rfft2(ch.astype(np.float32)) * inverse, s=(h, w)) for ch in cv2.split(image)]
    return np.clip(cv2.merge(channels), 0, 255).astype(np.uint8)
