"""Charts drawn on the server as inline SVG: no script, no CDN, readable at 390 px and in print."""

from __future__ import annotations

import html
from collections.abc import Sequence
from decimal import Decimal

WIDTH = 340
BAR_H = 22
GAP = 8
LABEL_W = 92
COLORS = ("#07c160", "#2b7cf6", "#f0a020", "#e64340", "#8a8a8a")


def bars(items: Sequence[tuple[str, float, str]], *, title: str, color: str = COLORS[1]) -> str:
    """Horizontal bars: (label, value, shown text) each; scaled to the largest value."""
    if not items:
        return f'<p class="none">{html.escape(title)}：暂无数据</p>'
    top = max(v for _, v, _ in items) or 1.0
    height = len(items) * (BAR_H + GAP)
    rows = []
    for i, (label, value, shown) in enumerate(items):
        y = i * (BAR_H + GAP)
        w = max(2.0, (WIDTH - LABEL_W - 70) * value / top)
        rows.append(
            f'<text x="0" y="{y + 15}" class="l">{html.escape(label[:7])}</text>'
            f'<rect x="{LABEL_W}" y="{y}" width="{w:.1f}" height="{BAR_H}" rx="4" fill="{color}"/>'
            f'<text x="{LABEL_W + w + 6:.1f}" y="{y + 15}" class="v">{html.escape(shown)}</text>'
        )
    return (f'<figure><figcaption>{html.escape(title)}</figcaption>'
            f'<svg viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="{html.escape(title)}">'
            f'{"".join(rows)}</svg></figure>')


def gauge(label: str, percent: Decimal | None, detail: str) -> str:
    """One rate as a filled track (delivery, invoice reading, dialog completion)."""
    value = float(percent) if percent is not None else 0.0
    shown = "—" if percent is None else f"{percent}%"
    fill = COLORS[0] if value >= 90 else (COLORS[2] if value >= 60 else COLORS[3])
    return (f'<div class="gauge"><div class="gl"><span>{html.escape(label)}</span><b>{shown}</b></div>'
            f'<svg viewBox="0 0 100 6" width="100%" preserveAspectRatio="none" aria-hidden="true">'
            f'<rect width="100" height="6" rx="3" fill="#eceef1"/>'
            f'<rect width="{value:.1f}" height="6" rx="3" fill="{fill}"/></svg>'
            f'<div class="gd">{html.escape(detail)}</div></div>')
