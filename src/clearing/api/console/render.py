"""Rendering helpers of the console: exact token amounts, and charts drawn as inline SVG on the server.

Amounts are integers of the token's smallest unit; they are shown in whole tokens
with exact decimal arithmetic (``divmod``, never floats), the raw integer in the
``title``. Charts are SVG the server writes (no JS, no request): only their
coordinates use floats, as ratios of the plot.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

TEMPLATES = Path(__file__).with_name("templates")


def format_units(value: int, decimals: int) -> str:
    """``value`` smallest units as whole tokens: 1234500 with 6 decimals is ``1.2345``; thousands grouped."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(int(value)), 10**decimals)
    text = f"{whole:,}"
    if decimals and frac:
        text += "." + f"{frac:0{decimals}d}".rstrip("0")
    return sign + text


def bps(value: int | None) -> str:
    """Basis points as a percentage with two decimals (exact: integer arithmetic)."""
    if value is None:
        return "–"
    whole, frac = divmod(abs(value), 100)
    return f"{'-' if value < 0 else ''}{whole}.{frac:02d}%"


def _scale(values: Sequence[int], lo: int | None = None, hi: int | None = None) -> tuple[int, int]:
    lo = min(values) if lo is None else lo
    hi = max(values) if hi is None else hi
    return (lo, hi) if hi > lo else (lo - 1, hi + 1)


def sparkline(values: Sequence[int], *, label: str, width: int = 96, height: int = 24) -> Markup:
    """A line of ``values`` (the forecast's median balance per day), red below zero; labelled for readers."""
    if not values:
        return Markup('<span class="muted">no forecast</span>')
    lo, hi = _scale(values, min(0, *values), max(0, *values))
    step = width / max(1, len(values) - 1)
    pts = " ".join(f"{i * step:.1f},{height - (v - lo) / (hi - lo) * height:.1f}" for i, v in enumerate(values))
    zero = height - (0 - lo) / (hi - lo) * height
    colour = "#b00020" if min(values) < 0 else "#1b5e20"
    return Markup(
        f'<svg class="spark" role="img" aria-label="{escape(label)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><line x1="0" x2="{width}" y1="{zero:.1f}" y2="{zero:.1f}" '
        f'stroke="#999" stroke-width="0.5"/><polyline fill="none" stroke="{colour}" stroke-width="1.5" '
        f'points="{pts}"/></svg>'
    )


def band_chart(
    dates: Sequence[date],
    low: Sequence[int],
    mid: Sequence[int],
    high: Sequence[int] | None,
    *,
    label: str,
    decimals: int,
    mark: date | None = None,
    width: int = 640,
    height: int = 200,
) -> Markup:
    """A band (``low``..``high``, or ``low``..``mid`` without ``high``) around the ``mid`` line, a zero line,
    the first and last dates, the range in tokens, and an optional marked day (the shortfall date)."""
    if not dates:
        return Markup('<p class="muted">no forecast yet</p>')
    top = list(high) if high is not None else list(mid)
    lo, hi = _scale([*low, *mid, *top, 0])
    pad = 4
    step = (width - 2 * pad) / max(1, len(dates) - 1)

    def y(v: int) -> float:
        return pad + (hi - v) / (hi - lo) * (height - 2 * pad)

    def x(i: int) -> float:
        return pad + i * step

    upper = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(top))
    lower = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in reversed(list(enumerate(low))))
    line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(mid))
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(label)}" viewBox="0 0 {width} {height + 18}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet"><title>{escape(label)}</title>',
        f'<line x1="{pad}" x2="{width - pad}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#777" stroke-dasharray="3 3"/>',
        f'<polygon fill="#90caf9" fill-opacity="0.5" points="{upper} {lower}"/>',
        f'<polyline fill="none" stroke="#0d47a1" stroke-width="2" points="{line}"/>',
    ]
    if mark is not None and mark in dates:
        mx = x(list(dates).index(mark))
        parts.append(f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="0" y2="{height}" stroke="#b00020" stroke-width="2"/>')
    parts.append(
        f'<text x="{pad}" y="{height + 14}" font-size="11">{dates[0].isoformat()}</text>'
        f'<text x="{width - pad}" y="{height + 14}" font-size="11" text-anchor="end">{dates[-1].isoformat()}</text>'
        f'<text x="{pad + 2}" y="12" font-size="11">{escape(format_units(hi, decimals))}</text>'
        f'<text x="{pad + 2}" y="{height - 2}" font-size="11">{escape(format_units(lo, decimals))}</text></svg>'
    )
    return Markup("".join(parts))


def bars(values: dict[str, int], *, label: str, decimals: int, width: int = 480) -> Markup:
    """Horizontal bars of net positions: credits right (green), debits left (red) of a centre line."""
    if not values:
        return Markup('<p class="muted">no positions</p>')
    row, half = 18, width // 2
    peak = max(abs(v) for v in values.values()) or 1
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(label)}" viewBox="0 0 {width} {row * len(values) + 4}" '
        f'width="100%"><title>{escape(label)}</title>'
    ]
    for i, (name, v) in enumerate(sorted(values.items(), key=lambda kv: kv[1])):
        w = abs(v) / peak * (half - 90)
        x0 = half if v >= 0 else half - w
        colour = "#2e7d32" if v >= 0 else "#c62828"
        parts.append(
            f'<rect x="{x0:.1f}" y="{i * row + 2}" width="{max(w, 1):.1f}" height="{row - 4}" fill="{colour}"/>'
            f'<text x="{half + (6 if v < 0 else -6)}" y="{i * row + 14}" font-size="11" '
            f'text-anchor="{"start" if v < 0 else "end"}">{escape(name)} {escape(format_units(v, decimals))}</text>'
        )
    parts.append(f'<line x1="{half}" x2="{half}" y1="0" y2="{row * len(values) + 4}" stroke="#555"/></svg>')
    return Markup("".join(parts))


def environment(decimals: int) -> Environment:
    """The templates' environment: autoescaped, with ``amount(v)`` and the chart helpers as globals."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))

    def amount(value: int | None) -> Markup:
        if value is None:
            return Markup('<span class="muted">–</span>')
        v = int(value)  # digits, sign, commas and a dot only: nothing to escape (and 1,000 rows render fast)
        return Markup(f'<span class="amt" title="{v}">{format_units(v, decimals)}</span>')

    env.filters["combine_qs"] = lambda base, **kw: urlencode({k: v for k, v in {**base, **kw}.items() if v})
    env.globals.update(
        amount=amount,
        bps=bps,
        sparkline=sparkline,
        band_chart=lambda *a, **k: band_chart(*a, decimals=decimals, **k),
        bars=lambda *a, **k: bars(*a, decimals=decimals, **k),
        decimals=decimals,
    )
    return env
