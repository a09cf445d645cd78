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


STEP_COLORS = {"approved": COLORS[0], "pending": COLORS[2], "rejected": COLORS[3], "waiting": "#c9cdd4",
               "skipped": "#c9cdd4", "cancelled": "#c9cdd4"}
PERSON_MARK = {"approved": "✓{}", "rejected": "✗{}", "waiting": "{}（等待中）", "none": "{}"}
STEP_H = 58


def route_picture(steps: Sequence[tuple[str, str, str, str, Sequence[tuple[str, str]]]]) -> str:
    """The approval route top to bottom: (name, 或签/会签, status, status label, [(person, state)]) per
    step, plus how long each step took; a dot per step coloured by its state, joined by a line."""
    if not steps:
        return '<p class="none">无需审批</p>'
    rows = []
    for i, (name, mode, status, label, people) in enumerate(steps):
        y = i * STEP_H
        color = STEP_COLORS.get(status, "#c9cdd4")
        if i < len(steps) - 1:
            rows.append(f'<line x1="12" y1="{y + 24}" x2="12" y2="{y + STEP_H + 4}" stroke="#dfe1e5" stroke-width="2"/>')
        who = "  ".join(PERSON_MARK.get(state, "{}").format(person) for person, state in people)
        title = f"{i + 1}. {name}" + (f"（{mode}）" if mode else "")
        rows.append(
            f'<circle cx="12" cy="{y + 12}" r="8" fill="{color}"/>'
            f'<text x="30" y="{y + 16}" font-weight="bold">{html.escape(title)}</text>'
            f'<text x="{WIDTH}" y="{y + 16}" text-anchor="end" class="v">{html.escape(label)}</text>'
            f'<text x="30" y="{y + 36}" class="v">{html.escape(who)}</text>')
    height = len(steps) * STEP_H - 14
    return (f'<svg viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="审批路线">'
            f'{"".join(rows)}</svg>')


def stacked(parts: Sequence[tuple[str, float, str]], total: float, *, title: str) -> str:
    """One bar split into parts (used, pending, left) against a total, each part labelled below."""
    top = max(total, sum(v for _, v, _ in parts)) or 1.0
    x = 0.0
    rects, legend = [], []
    for i, (label, value, shown) in enumerate(parts):
        w = WIDTH * max(value, 0.0) / top
        color = COLORS[i] if i < 2 else "#dfe1e5"
        rects.append(f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="16" fill="{color}"/>')
        legend.append(f'<rect x="{i * 114}" y="26" width="10" height="10" rx="2" fill="{color}"/>'
                      f'<text x="{i * 114 + 14}" y="35" class="v">{html.escape(label)} {html.escape(shown)}</text>')
        x += w
    return (f'<figure><figcaption>{html.escape(title)}</figcaption>'
            f'<svg viewBox="0 0 {WIDTH} 42" width="100%" role="img" aria-label="{html.escape(title)}">'
            f'<rect width="{WIDTH}" height="16" rx="4" fill="#eceef1"/>{"".join(rects)}{"".join(legend)}</svg></figure>')


def burn(points: Sequence[tuple[int, float]], days: int, today: int | None, budget: float,
         forecast: int | None, *, title: str, start: str, end: str) -> str:
    """Spending over a period: the cumulative line (day index, amount) against the budget line and the
    even pace (dashed diagonal); today's mark; the forecast to the day the budget runs out, if it does."""
    w, h, left, bottom = WIDTH, 150, 4, 20
    top = max([budget, *(v for _, v in points)]) * 1.08 or 1.0

    def px(day: float) -> float:
        return left + (w - left - 4) * day / max(days, 1)

    def py(value: float) -> float:
        return (h - bottom) - (h - bottom - 6) * value / top

    steps, before = [(0, 0.0)], 0.0
    for day, value in points:  # a step per day: flat until the day the spending counts on
        steps += [(day - 1, before), (day, value)]
        before = value
    path = " ".join(f"{px(d):.1f},{py(v):.1f}" for d, v in steps)
    parts = [
        f'<line x1="{px(0):.1f}" y1="{py(budget):.1f}" x2="{px(days):.1f}" y2="{py(budget):.1f}" '
        f'stroke="{COLORS[3]}" stroke-dasharray="4 3"/>',
        f'<text x="{px(0) + 2:.1f}" y="{py(budget) - 4:.1f}" class="v">预算</text>',
        f'<line x1="{px(0):.1f}" y1="{py(0):.1f}" x2="{px(days):.1f}" y2="{py(budget):.1f}" stroke="#c9cdd4" '
        f'stroke-dasharray="2 3"/>',
        f'<polyline points="{path}" fill="none" stroke="{COLORS[1]}" stroke-width="2.5"/>',
        f'<line x1="0" y1="{h - bottom}" x2="{w}" y2="{h - bottom}" stroke="#dfe1e5"/>',
        f'<text x="0" y="{h - 4}" class="v">{html.escape(start)}</text>',
        f'<text x="{w}" y="{h - 4}" text-anchor="end" class="v">{html.escape(end)}</text>',
    ]
    if today is not None:
        parts.append(f'<line x1="{px(today):.1f}" y1="6" x2="{px(today):.1f}" y2="{h - bottom}" stroke="#8a8a8a" '
                     f'stroke-dasharray="1 2"/><text x="{px(today):.1f}" y="{h - 4}" text-anchor="middle" '
                     f'class="v">今天</text>')
        if forecast is not None and points:
            last = points[-1][1]
            parts.append(f'<line x1="{px(today):.1f}" y1="{py(last):.1f}" x2="{px(forecast):.1f}" y2="{py(budget):.1f}" '
                         f'stroke="{COLORS[3]}" stroke-width="2" stroke-dasharray="5 3"/>')
    return (f'<figure><figcaption>{html.escape(title)}</figcaption>'
            f'<svg viewBox="0 0 {w} {h}" width="100%" role="img" aria-label="{html.escape(title)}">'
            f'{"".join(parts)}</svg></figure>')
