"""Figures for the HTML report as inline SVG: no plotting library, no network resources."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

MAX_CELLS = 32


def heatmap_data(matrix: Any, max_cells: int = MAX_CELLS) -> dict[str, Any]:
    """A JSON-ready, block-averaged copy of an influence matrix (at most max_cells per side)."""
    m = np.asarray(matrix, dtype=np.float64)
    rows = np.array_split(np.arange(m.shape[0]), min(max_cells, m.shape[0]))
    cols = np.array_split(np.arange(m.shape[1]), min(max_cells, m.shape[1]))

    def block_mean(block: np.ndarray) -> float:
        finite = block[np.isfinite(block)]  # masked-out cells are NaN: average what was computed
        return float(finite.mean()) if finite.size else float("nan")

    values = [[block_mean(m[np.ix_(r, c)]) for c in cols] for r in rows]
    return {
        "kind": "heatmap",
        "shape": list(m.shape),
        "values": [[v if math.isfinite(v) else None for v in row] for row in values],
    }


def _color(value: float | None, scale: float) -> str:
    if value is None:
        return "#cccccc"
    t = max(-1.0, min(1.0, value / scale)) if scale > 0 else 0.0
    # diverging blue (negative) - white - red (positive); signed square root for visibility
    t = math.copysign(math.sqrt(abs(t)), t)
    if t >= 0:
        return f"rgb(255,{int(255 * (1 - t))},{int(255 * (1 - t))})"
    return f"rgb({int(255 * (1 + t))},{int(255 * (1 + t))},255)"


def heatmap_svg(figure: dict[str, Any], title: str, cell: int = 9) -> str:
    """An SVG heatmap of ``heatmap_data`` output, red = influence up, blue = down."""
    values = figure["values"]
    finite = [abs(v) for row in values for v in row if v is not None]
    scale = max(finite) if finite else 1.0
    height, width = len(values) * cell, (len(values[0]) if values else 0) * cell
    rects = "".join(
        f'<rect x="{j * cell}" y="{i * cell + 16}" width="{cell}" height="{cell}" fill="{_color(v, scale)}">'
        f"<title>{'' if v is None else f'{v:.4g}'}</title></rect>"
        for i, row in enumerate(values)
        for j, v in enumerate(row)
    )
    shape = figure.get("shape", [len(values), width // cell])
    label = f"{html.escape(title)} ({shape[0]}×{shape[1]}, max |EIF| {scale:.3g})"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{max(width, 6 * len(label))}" height="{height + 20}">'
        f'<text x="0" y="11" font-size="11">{label}</text>{rects}</svg>'
    )


def curve_svg(series: dict[str, dict[str, float]], title: str, labels: Sequence[str]) -> str:
    """Mean |EIF| vs distance level, one polyline per condition (log scale)."""
    width, height, pad = 320, 180, 34
    colors = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd"]
    points = [v for s in series.values() for v in s.values() if v and v > 0]
    if not points:
        return ""
    low, high = math.log10(min(points)), math.log10(max(points))
    span = (high - low) or 1.0
    levels = max(len(labels) - 1, 1)

    def xy(level: int, value: float) -> tuple[float, float]:
        x = pad + (width - 2 * pad) * level / levels
        y = height - pad - (height - 2 * pad) * (math.log10(value) - low) / span
        return x, y

    parts = [f'<text x="0" y="12" font-size="11">{html.escape(title)}</text>']
    for k, (name, by_level) in enumerate(series.items()):
        pts = [xy(int(lvl) - 1, v) for lvl, v in sorted(by_level.items(), key=lambda kv: int(kv[0])) if v and v > 0]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        color = colors[k % len(colors)]
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>' for x, y in pts]
        parts.append(
            f'<text x="{width - 110}" y="{24 + 13 * k}" font-size="10" fill="{color}">{html.escape(name)}</text>'
        )
    for level, label in enumerate(labels):
        x, _ = xy(level, 10**low)
        parts.append(f'<text x="{x - 20:.1f}" y="{height - 12}" font-size="9">{html.escape(label)}</text>')
    parts.append(f'<text x="2" y="{pad}" font-size="9">{10**high:.2g}</text>')
    parts.append(f'<text x="2" y="{height - pad}" font-size="9">{10**low:.2g}</text>')
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">{"".join(parts)}</svg>'
