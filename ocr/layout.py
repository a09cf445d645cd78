"""Geometry and text helpers over OCR lines: normalise text, find labels and what stands beside them."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from ocr.engines import TextLine

_CJK = r"\u4e00-\u9fff"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")


def norm(text: str) -> str:
    """NFKC (full-width digits, colons and brackets become ASCII) and no spaces between Chinese."""
    s = unicodedata.normalize("NFKC", text)
    s = s.replace("￥", "¥")
    return _SPACE_BETWEEN_CJK.sub("", s).strip()


def compact(text: str) -> str:
    """Normalised text without any whitespace, for codes split into groups (e.g. 校验码)."""
    return re.sub(r"\s+", "", norm(text))


@dataclass(frozen=True)
class Page:
    """All lines of one page, with its size, and queries for the extractor."""

    lines: tuple[TextLine, ...]
    width: float
    height: float

    @property
    def line_height(self) -> float:
        """Typical text height: the median box height."""
        heights = sorted(ln.height for ln in self.lines) or [self.height / 40]
        return heights[len(heights) // 2]

    def find(self, pattern: str) -> list[TextLine]:
        """Lines whose normalised text matches the regex, top to bottom."""
        rx = re.compile(pattern)
        return sorted((ln for ln in self.lines if rx.search(compact(ln.text))), key=lambda ln: ln.cy)

    def same_row(self, anchor: TextLine, lines: Iterable[TextLine] | None = None,
                 tolerance: float = 0.6) -> list[TextLine]:
        """Lines whose vertical centre is within tolerance x the row height of the anchor, left to right."""
        h = max(anchor.height, self.line_height)
        pool = self.lines if lines is None else lines
        return sorted((ln for ln in pool if abs(ln.cy - anchor.cy) <= tolerance * h), key=lambda ln: ln.cx)

    def right_of(self, anchor: TextLine, max_gap: float | None = None) -> list[TextLine]:
        """Lines on the anchor's row that start right of its start, nearest first."""
        gap = self.width * 0.35 if max_gap is None else max_gap
        return [ln for ln in self.same_row(anchor)
                if ln is not anchor and ln.box[0] > anchor.box[0] and ln.box[0] - anchor.box[2] <= gap]


def after_label(text: str, label: str) -> str:
    """The part of a line after a label such as 发票号码: (the label may be absent)."""
    s = compact(text)
    m = re.search(label + r"[:：]?", s)
    return s[m.end():] if m else s
