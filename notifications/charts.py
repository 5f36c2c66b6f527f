"""Line charts as inline SVG, drawn server-side: no script, no fonts or files fetched."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

FONT = ("'PingFang SC','Hiragino Sans GB','Microsoft YaHei','Noto Sans CJK SC',"
        "'Source Han Sans SC','WenQuanYi Micro Hei',sans-serif")


@dataclass(frozen=True)
class Series:
    label: str
    color: str
    points: Sequence[tuple[dt.date, float]]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step:
            return float(step)
    return float(value)


def line_chart(series: Sequence[Series], *, title: str, width: int = 560, height: int = 200,
               y_max: float | None = None, percent: bool = False) -> str:
    """An SVG line chart of dated points; a single point is drawn as a dot."""
    left, right, top, bottom = 44, 12, 28, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    days = sorted({d for s in series for d, _ in s.points})
    top_value = y_max if y_max is not None else _nice_max(max((v for s in series for _, v in s.points), default=0))
    parts = [f'<svg role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="11">',
             f'<title>{escape(title)}</title>',
             f'<text x="{left}" y="16" font-size="13" fill="#222">{escape(title)}</text>']
    for k in range(5):
        value = top_value * k / 4
        y = top + plot_h - plot_h * k / 4
        label = f"{value * 100:.0f}%" if percent else f"{value:g}"
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#e0e0e0"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#666">{label}</text>')
    if not days:
        parts.append(f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" text-anchor="middle" '
                     f'fill="#999">暂无历史数据</text></svg>')
        return "".join(parts)
    first, last = days[0], days[-1]
    span = max(1, (last - first).days)

    def x_of(day: dt.date) -> float:
        return left + (plot_w / 2 if first == last else plot_w * (day - first).days / span)

    def y_of(value: float) -> float:
        return top + plot_h - plot_h * min(value, top_value) / top_value

    shown = days if len(days) <= 8 else [days[round(i * (len(days) - 1) / 7)] for i in range(8)]
    for day in dict.fromkeys(shown):
        parts.append(f'<text x="{x_of(day):.1f}" y="{height - 10}" text-anchor="middle" fill="#666">'
                     f'{day:%m-%d}</text>')
    for i, s in enumerate(series):
        points = sorted(s.points)
        coords = " ".join(f"{x_of(d):.1f},{y_of(v):.1f}" for d, v in points)
        if len(points) > 1:
            parts.append(f'<polyline fill="none" stroke="{s.color}" stroke-width="2" points="{coords}"/>')
        for d, v in points:
            parts.append(f'<circle cx="{x_of(d):.1f}" cy="{y_of(v):.1f}" r="3" fill="{s.color}">'
                         f'<title>{escape(s.label)} {d}: {v * 100:.0f}%</title></circle>' if percent else
                         f'<circle cx="{x_of(d):.1f}" cy="{y_of(v):.1f}" r="3" fill="{s.color}">'
                         f'<title>{escape(s.label)} {d}: {v:g}</title></circle>')
        if len(series) > 1:
            lx = left + plot_w - 120
            parts.append(f'<rect x="{lx}" y="{6 + i * 14}" width="10" height="3" fill="{s.color}"/>'
                         f'<text x="{lx + 14}" y="{11 + i * 14}" fill="#333">{escape(s.label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
