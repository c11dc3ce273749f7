"""Server-rendered SVG charts: readable without JavaScript, with a text alternative."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

from riskhub.assessments import LEVEL_RANK
from riskhub.models.assessments import Assessment

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 110, 20, 45, 40
SERIES = {
    "survivor": {"label": "Survivor side", "colour": "#1d70b8", "dash": "", "marker": "circle"},
    "perpetrator": {"label": "Perpetrator side", "colour": "#d4351c", "dash": "6 4", "marker": "square"},
}
ROW_LABELS = ("Standard / low", "Medium", "High")


def _x(day: date, first: date, last: date) -> float:
    span = max((last - first).days, 1)
    return LEFT + (WIDTH - LEFT - RIGHT) * (day - first).days / span


def _y(level: str) -> float:
    rank = LEVEL_RANK[level]
    return TOP + (HEIGHT - TOP - BOTTOM) * (2 - rank) / 2


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    if kind == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{colour}"/>'
    return f'<rect x="{x - 6:.1f}" y="{y - 6:.1f}" width="12" height="12" fill="{colour}"/>'


def risk_history_svg(assessments: Sequence[Assessment]) -> Markup:
    """Risk level of each side over time; an empty string when there is nothing to draw."""
    if not assessments:
        return Markup("")
    first = min(a.assessed_on for a in assessments)
    last = max(a.assessed_on for a in assessments)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        'aria-labelledby="risk-chart-title risk-chart-desc" xmlns="http://www.w3.org/2000/svg">',
        '<title id="risk-chart-title">Risk level over time, both services</title>',
        f'<desc id="risk-chart-desc">{len(assessments)} assessments from {first:%d %B %Y} to {last:%d %B %Y}. '
        'The table below lists the same figures.</desc>',
    ]
    for level, label in zip(("low", "medium", "high"), ROW_LABELS, strict=True):
        y = _y(level)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#b1b4b6"/>')
        parts.append(f'<text x="{LEFT - 8}" y="{y + 5:.1f}" text-anchor="end" font-size="14" fill="#0b0c0c">'
                     f'{escape(label)}</text>')
    parts.append(f'<text x="{LEFT}" y="{HEIGHT - 10}" font-size="13" fill="#505a5f">{first:%d %b %Y}</text>')
    parts.append(f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 10}" text-anchor="end" font-size="13" '
                 f'fill="#505a5f">{last:%d %b %Y}</text>')
    for side, style in SERIES.items():
        points = [(_x(a.assessed_on, first, last), _y(a.level)) for a in assessments if a.side == side]
        if not points:
            continue
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            dash = f' stroke-dasharray="{style["dash"]}"' if style["dash"] else ""
            parts.append(f'<polyline points="{path}" fill="none" stroke="{style["colour"]}" stroke-width="3"{dash}/>')
        parts.extend(_marker(style["marker"], x, y, style["colour"]) for x, y in points)
    legend_x = LEFT
    for style in SERIES.values():
        parts.append(_marker(style["marker"], legend_x + 6, 10, style["colour"]))
        parts.append(f'<text x="{legend_x + 18}" y="15" font-size="13" fill="#0b0c0c">{style["label"]}</text>')
        legend_x += 170
    parts.append("</svg>")
    # Every interpolated value above is a number, a formatted date or escaped text.
    return Markup("".join(parts))  # noqa: S704
