"""Charts for the HTML report as inline SVG: the distance curve and the per-model verdict chart."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eifbench.desiderata.base import Curve
from eifbench.report.rendering.figures import FONT, svg_line, svg_text
from eifbench.report.rendering.tables import second_criteria
from eifbench.report.results.records import Record

SERIES_COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd")
STATUS_COLORS = {"pass": "#188038", "fail": "#c5221f", "inconclusive": "#b06000", "n/a": "#777"}


def _svg(width: float, height: float, title: str, body: Sequence[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
        f'height="{height:.0f}" role="img" style="{FONT}"><title>{html.escape(title)}</title>{"".join(body)}</svg>'
    )


def nice_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k at least ``raw``: readable tick spacing."""
    power = 10.0 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))


def curve_svg(
    series: Mapping[str, Mapping[str, float | None]],
    bands: Mapping[str, Mapping[str, Sequence[float | None]]],
    title: str,
    labels: Sequence[str],
) -> str:
    """Mean |c| per distance level, one line per condition, with its interval as a band.

    Args:
        series: condition -> {level ("1".."3"): mean |c|}.
        bands: condition -> {level: [low, high]} (the interval of the mean over items); may be empty.
        title: the chart's title.
        labels: the level names, level 1 first.

    """
    width, height, left, right, top, bottom = 380, 230, 58, 110, 28, 44
    values = [v for s in series.values() for v in s.values() if v is not None and math.isfinite(v)]
    values += [b for s in bands.values() for band in s.values() for b in band if b is not None and math.isfinite(b)]
    if not values:
        return ""
    low = min(0.0, min(values))
    step = nice_step((max(max(values), 1e-12) - low) / 4)
    high = low + step * math.ceil((max(max(values), 1e-12) - low) / step)
    ticks = int(round((high - low) / step))
    levels = max(len(labels) - 1, 1)

    def x(level: int) -> float:
        return left + (width - left - right) * level / levels

    def y(value: float) -> float:
        return height - bottom - (height - top - bottom) * (value - low) / (high - low)

    parts = [svg_text(0, 14, title, 12, extra=' font-weight="bold"')]
    for k in range(ticks + 1):  # y grid and ticks
        value = low + step * k
        parts.append(svg_line(left, width - right, y(value), y(value), "#e5e5e5"))
        parts.append(svg_text(left - 5, y(value) + 3.5, f"{value:.2g}", 10, "end"))
    parts.append(svg_line(left, left, top, height - bottom))
    parts.append(svg_line(left, width - right, height - bottom, height - bottom))
    for level, label in enumerate(labels):
        parts.append(svg_text(x(level), height - bottom + 14, f"{level + 1}: {label}", 10, "middle"))
    parts.append(svg_text((left + width - right) / 2, height - 8, "distance level →", 11, "middle"))
    mid = (top + height - bottom) / 2
    parts.append(svg_text(13, mid, "mean |c| (cosine units)", 11, "middle", f' transform="rotate(-90 13 {mid:.1f})"'))
    for k, (name, by_level) in enumerate(series.items()):
        color = SERIES_COLORS[k % len(SERIES_COLORS)]
        band = [
            (int(lvl) - 1, float(b[0]), float(b[1]))
            for lvl, b in sorted((bands.get(name) or {}).items(), key=lambda kv: int(kv[0]))
            if b and b[0] is not None and b[1] is not None
        ]
        if len(band) > 1:
            outline = [(x(lv), y(hi)) for lv, _, hi in band] + [(x(lv), y(lo)) for lv, lo, _ in reversed(band)]
            points = " ".join(f"{px:.1f},{py:.1f}" for px, py in outline)
            parts.append(f'<polygon points="{points}" fill="{color}" fill-opacity="0.15" stroke="none"/>')
        pts = [
            (x(int(lvl) - 1), y(v)) for lvl, v in sorted(by_level.items(), key=lambda kv: int(kv[0])) if v is not None
        ]
        parts.append(
            f'<polyline points="{" ".join(f"{px:.1f},{py:.1f}" for px, py in pts)}" fill="none" stroke="{color}" '
            'stroke-width="2"/>'
        )
        parts += [f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{color}"/>' for px, py in pts]
        parts.append(f'<rect x="{width - right + 12}" y="{top + 16 * k}" width="12" height="8" fill="{color}"/>')
        parts.append(svg_text(width - right + 28, top + 16 * k + 8, name, 11))
    return _svg(width, height, title, parts)


def summary_svg(records: Sequence[Record], value_ranges: Mapping[str, tuple[float, float]]) -> str:
    """One row per desideratum x condition: the passing side shaded, the threshold, the value and its interval.

    Args:
        records: one model's measured records (n/a ones are left out), in report order.
        value_ranges: desideratum -> the range its per-item values are clipped to (each row's axis).

    """
    rows = [row for r in records for row in chart_rows(r, value_ranges)]
    if not rows:
        return ""
    label_w, track_w, text_w, row_h, top = 200, 280, 310, 24, 34
    width, height = label_w + track_w + text_w, top + row_h * len(rows) + 10
    parts = [
        svg_text(0, 14, "value and interval per desideratum against its threshold", 12, extra=' font-weight="bold"'),
        svg_text(0, 28, "green: the passing side of the threshold (black line); bar: the interval; dot: the value", 10),
    ]
    for k, r in enumerate(rows):
        value = r.value
        low, high = r.axis
        values = [value, r.threshold, *(r.ci or ())]
        low, high = min(low, *values), max(high, *values)

        def x(value: float, low: float = low, high: float = high) -> float:
            return label_w + track_w * (value - low) / (high - low)

        y = top + k * row_h
        mid = y + row_h / 2
        threshold = x(r.threshold)
        passing = (threshold, x(high)) if r.higher_is_better else (x(low), threshold)
        parts.append(svg_text(label_w - 8, mid + 4, r.label, 11, "end"))
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{track_w}" height="{row_h - 8}" fill="#fbe9e7"/>')
        band = passing[1] - passing[0]
        parts.append(f'<rect x="{passing[0]:.1f}" y="{y + 4}" width="{band:.1f}" height="{row_h - 8}" fill="#e6f4ea"/>')
        parts.append(svg_line(threshold, threshold, y + 2, y + row_h - 2, "#000", 1.5))
        color = STATUS_COLORS.get(r.status, "#333")
        if r.ci is not None and all(math.isfinite(c) for c in r.ci):
            parts.append(svg_line(x(r.ci[0]), x(r.ci[1]), mid, mid, color, 3))
        parts.append(
            f'<circle cx="{x(value):.1f}" cy="{mid}" r="4.5" fill="{color}"><title>{value:.3f}</title></circle>'
        )
        parts.append(svg_text(label_w + 2, y + row_h - 6, f"{low:g}", 8, extra=' fill="#777"'))
        parts.append(svg_text(label_w + track_w - 2, y + row_h - 6, f"{high:g}", 8, "end", ' fill="#777"'))
        interval = f" [{r.ci[0]:.2f}, {r.ci[1]:.2f}]" if r.ci else ""
        side = ">=" if r.higher_is_better else "<="
        parts.append(
            svg_text(
                label_w + track_w + 8,
                mid + 4,
                f"{r.status.upper()} {value:.2f}{interval} (pass {side} {r.threshold:g})",
                11,
                extra=f' fill="{color}"',
            )
        )
    return _svg(width, height, "value and interval per desideratum against its threshold", parts)


@dataclass(frozen=True)
class ChartRow:
    """One row of the verdict chart: a criterion's value, interval and threshold on its own axis."""

    label: str
    value: float
    ci: tuple[float, float] | None
    threshold: float
    higher_is_better: bool
    status: str
    axis: tuple[float, float]


def chart_rows(record: Record, value_ranges: Mapping[str, tuple[float, float]]) -> list[ChartRow]:
    """A record's chart rows: its value, and each second criterion that also decides the verdict.

    Noise invariance passes only when transfer >= 0.5 *and* spill <= 0.1, distance only when
    its contrast clears 0.1 too; a chart of the main value alone would show a passing value
    beside a FAIL.
    """
    rows = []
    where = f"{record.desideratum} · {record.condition}"
    if record.value is not None and math.isfinite(record.value):
        rows.append(
            ChartRow(
                where,
                record.value,
                record.ci,
                record.threshold,
                record.higher_is_better,
                record.status.value,
                value_ranges.get(record.desideratum, (-1.0, 1.0)),
            )
        )
    for criterion in second_criteria(record.desideratum):
        second = record.details.get(criterion.key)
        if not isinstance(second, dict) or not isinstance(second.get("value"), (int, float)):
            continue
        if not math.isfinite(second["value"]):
            continue
        ci: list[Any] = second.get("ci") or []
        finite_ci = len(ci) == 2 and all(isinstance(c, (int, float)) for c in ci)
        rows.append(
            ChartRow(
                f"↳ its {criterion.short} ({record.condition})",
                float(second["value"]),
                (float(ci[0]), float(ci[1])) if finite_ci else None,
                float(second["threshold"]),
                criterion.higher_is_better,
                str(second.get("status", "n/a")),
                criterion.axis,
            )
        )
    return rows


def value_ranges() -> dict[str, tuple[float, float]]:
    """Each registered desideratum's clipping range: the natural axis of its value."""
    from eifbench.desiderata import DESIDERATA

    return {name: d.value_range for name, d in DESIDERATA.items()}


def curves_of(records: Sequence[Record]) -> list[tuple[Curve, dict[str, Any], dict[str, Any]]]:
    """Each declared curve with its series (condition -> level -> mean) and bands, from the records holding it."""
    from eifbench.desiderata import DESIDERATA

    drawn = []
    for desideratum in DESIDERATA.values():
        for curve in desideratum.curves:
            series, bands = {}, {}
            for r in records:
                if r.desideratum == desideratum.name and r.details.get(curve.series):
                    series[r.condition] = r.details[curve.series]
                    bands[r.condition] = r.details.get(curve.band) or {}
            if series:
                drawn.append((curve, series, bands))
    return drawn
