"""Pictures of the cabinet drawn on the server: the 12-month chart, the card's QR and barcode.

The site's CSP allows no inline styles, so the chart uses presentation attributes and
classes from the style sheet only; the QR code and the barcode are `data:` images, which
the CSP allows (`img-src data:`) and which scale cleanly (both SVG with a viewBox).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import barcode
import segno
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from kabinet.core.money import format_rub
from kabinet.loyalty.cabinet import MonthPoint, format_points

MONTHS_SHORT = ["янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек"]
MONTHS_FULL = [
    "январь", "февраль", "март", "апрель", "май", "июнь",
    "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь",
]  # fmt: skip


def month_label(point: MonthPoint) -> str:
    return f"{MONTHS_FULL[point.month.month - 1]} {point.month.year}"


def _nice_ceiling(value: int) -> int:
    """A round axis maximum at or above `value` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 100
    power = 1
    while power * 10 <= value:
        power *= 10
    for step in (1, 2, 2.5, 5, 10):
        top = int(power * step)
        if top >= value:
            return top
    return power * 10


def _tick(units: int) -> str:
    """An axis label in whole roubles or points, with kopecks only when there are some."""
    whole, frac = divmod(units, 100)
    text = f"{whole:,}".replace(",", "\u202f")
    return f"{text},{frac:02d}".rstrip("0").rstrip(",") if frac else text


def chart_svg(points: Sequence[MonthPoint]) -> SafeString:
    """Bars of money spent per month, a line of points earned; every bar has a <title>."""
    width, height = 760, 300
    left, right, top, bottom = 70, 60, 20, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    spend_max = _nice_ceiling(max((p.spend for p in points), default=0))
    earn_max = _nice_ceiling(max((p.earned for p in points), default=0))
    slot = plot_w / max(1, len(points))
    bar_w = slot * 0.6
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        'aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">',
        '<title id="chart-title">Траты и баллы за 12 месяцев</title>',
        '<desc id="chart-desc">Столбцы — потрачено за месяц, линия — начислено баллов. '
        "Те же числа — в таблице под графиком.</desc>",
    ]
    for i in range(5):
        y = top + plot_h * i / 4
        money = spend_max * (4 - i) // 4
        pts = earn_max * (4 - i) // 4
        parts.append(
            f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}"/>'
        )
        parts.append(
            f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{_tick(money)}\u00a0₽</text>"
        )
        parts.append(
            f'<text class="axis axis-points" x="{left + plot_w + 6}" y="{y + 4:.1f}">'
            f"{_tick(pts)}</text>"
        )
    line: list[str] = []
    for i, point in enumerate(points):
        x = left + slot * i + (slot - bar_w) / 2
        h = plot_h * max(0, point.spend) / spend_max
        label = escape(month_label(point))
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
            f'height="{h:.1f}"><title>{label}: потрачено {escape(format_rub(point.spend))}, '
            f"начислено {escape(format_points(point.earned))}, "
            f"списано {escape(format_points(point.redeemed))}</title></rect>"
        )
        cx = left + slot * i + slot / 2
        cy = top + plot_h - plot_h * max(0, point.earned) / earn_max
        line.append(f"{cx:.1f},{cy:.1f}")
        parts.append(
            f'<text class="axis" x="{cx:.1f}" y="{height - bottom + 18}" text-anchor="middle">'
            f"{MONTHS_SHORT[point.month.month - 1]}</text>"
        )
    parts.append(f'<polyline class="points-line" points="{" ".join(line)}"/>')
    for xy in line:
        dot_x, dot_y = xy.split(",")
        parts.append(f'<circle class="points-dot" cx="{dot_x}" cy="{dot_y}" r="3.5"/>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - built from numbers and escaped text


def qr_data_uri(payload: str) -> str:
    """The QR code as an SVG data URI (segno)."""
    return segno.make(payload, error="m", micro=False).svg_data_uri(scale=8, border=3)


def barcode_data_uri(digits: str) -> str:
    """A Code 128 barcode as an SVG data URI with a viewBox, so it scales to any width.

    Drawn from python-barcode's module pattern: its own SVG writer sizes in millimetres
    without a viewBox and would crop instead of scale.
    """
    (pattern,) = barcode.get("code128", digits).build()
    quiet = 10
    modules = len(pattern) + 2 * quiet
    bar_h = 60
    rects = []
    run_start = None
    for i, bit in enumerate(pattern + "0"):
        if bit == "1" and run_start is None:
            run_start = i
        elif bit != "1" and run_start is not None:
            rects.append(
                f'<rect x="{run_start + quiet}" y="0" width="{i - run_start}" height="{bar_h}"/>'
            )
            run_start = None
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {modules} {bar_h}" '
        f'preserveAspectRatio="none" shape-rendering="crispEdges">'
        f'<rect width="{modules}" height="{bar_h}" fill="#fff"/><g fill="#000">'
        + "".join(rects)
        + "</g></svg>"
    )
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
