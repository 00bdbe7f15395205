"""Charts drawn on the server as inline SVG: no script, no library, nothing loaded from elsewhere."""

from __future__ import annotations

from datetime import date
from html import escape

from markupsafe import Markup


def bar_chart(per_day: dict[date, int], *, title: str, width: int = 720, height: int = 160,
              css_class: str = "chart") -> Markup:
    """Bars of counts per day, with the highest count and the first and last day as labels; each bar has a
    tooltip (an SVG <title>) with its day and count."""
    days = sorted(per_day)
    if not days:
        return Markup("")
    top = max(per_day.values()) or 1
    pad_left, pad_bottom, pad_top = 28, 18, 6
    inner_w, inner_h = width - pad_left - 4, height - pad_bottom - pad_top
    step = inner_w / len(days)
    bar = max(step * 0.8, 1.0)
    parts = [f'<svg class="{escape(css_class)}" role="img" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="none" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>",
             f'<line x1="{pad_left}" y1="{pad_top + inner_h}" x2="{width - 4}" y2="{pad_top + inner_h}" '
             'stroke="currentColor" stroke-width="1"/>',
             f'<text x="{pad_left - 4}" y="{pad_top + 10}" text-anchor="end" font-size="10" fill="currentColor">'
             f"{top}</text>",
             f'<text x="{pad_left - 4}" y="{pad_top + inner_h}" text-anchor="end" font-size="10" '
             'fill="currentColor">0</text>']
    for n, day in enumerate(days):
        count = per_day[day]
        h = inner_h * count / top
        x = pad_left + n * step + (step - bar) / 2
        y = pad_top + inner_h - h
        parts.append(f'<rect class="bar" data-day="{day.isoformat()}" data-count="{count}" x="{x:.1f}" y="{y:.1f}" '
                     f'width="{bar:.1f}" height="{h:.1f}"><title>{day.isoformat()}: {count}</title></rect>')
    baseline = pad_top + inner_h + 13
    parts.append(f'<text x="{pad_left}" y="{baseline}" font-size="10" fill="currentColor">{days[0].isoformat()}</text>')
    if len(days) > 1:
        parts.append(f'<text x="{width - 4}" y="{baseline}" text-anchor="end" font-size="10" fill="currentColor">'
                     f"{days[-1].isoformat()}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))
