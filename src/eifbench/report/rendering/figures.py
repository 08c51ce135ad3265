"""Heatmaps for the HTML report as hand-written inline SVG: no plotting library, no network resources.

Why SVG by hand rather than matplotlib: the report must be one self-contained file that
opens anywhere; SVG is text (small, diffable, scales with the page, searchable), needs no
new dependency, and hovering a cell shows its value. A heatmap here has labelled axes,
block separators between probe families (or classes), and a colour bar in nats.
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np

MAX_CELLS = 32
FONT = "font-family:system-ui,sans-serif"


def heatmap_data(matrix: Any, max_cells: int = MAX_CELLS) -> dict[str, Any]:
    """A JSON-ready, block-averaged copy of a whole influence matrix (at most max_cells per side).

    The fallback figure of a task no view in ``report.explanation.views`` reads.
    """
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
        "rows": {"title": "stimuli", "groups": [["", 0, len(values)]]},
        "columns": {"title": "probes (block means)", "groups": [["", 0, len(values[0]) if values else 0]]},
        "caption": "The whole influence matrix, block-averaged; grey cells were not computed.",
    }


def color(value: float | None, scale: float) -> str:
    """Diverging blue (down) - white - red (up), signed square root so small moves stay visible."""
    if value is None or not math.isfinite(value):
        return "#d9d9d9"
    t = max(-1.0, min(1.0, value / scale)) if scale > 0 else 0.0
    t = math.copysign(math.sqrt(abs(t)), t)
    fade = int(round(255 * (1 - abs(t))))
    return f"rgb(255,{fade},{fade})" if t >= 0 else f"rgb({fade},{fade},255)"


def svg_text(x: float, y: float, text: str, size: int = 11, anchor: str = "start", extra: str = "") -> str:
    """An SVG text element (escaped)."""
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{extra}>{html.escape(text)}</text>'


def svg_line(x1: float, x2: float, y1: float, y2: float, stroke: str = "#333", width: float = 1) -> str:
    """An SVG line."""
    return f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{y1:.1f}" y2="{y2:.1f}" stroke="{stroke}" stroke-width="{width}"/>'


def colorbar(x: float, top: float, height: float, scale: float) -> str:
    """A vertical colour bar from -scale to +scale nats, ticks at 0, +-scale/4 and +-scale."""
    steps = 40
    parts = [
        f'<rect x="{x}" y="{top + height * k / steps:.1f}" width="12" height="{height / steps + 0.5:.1f}" '
        f'fill="{color(scale * (1 - 2 * k / steps), scale)}"/>'
        for k in range(steps)
    ]
    parts.append(f'<rect x="{x}" y="{top}" width="12" height="{height}" fill="none" stroke="#888"/>')
    for value in (scale, scale / 4, 0.0, -scale / 4, -scale):
        # the colour is sqrt-mapped: place each tick where its colour sits on the bar
        t = math.copysign(math.sqrt(abs(value) / scale), value) if scale > 0 else 0.0
        y = top + height * (1 - t) / 2
        parts.append(svg_line(x + 12, x + 15, y, y, "#444"))
        parts.append(svg_text(x + 17, y + 3.5, f"{value:+.2g}" if value else "0", 10))
    parts.append(svg_text(x - 2, top - 10, "nats", 10))
    return "".join(parts)


def heatmap_svg(figure: dict[str, Any], title: str) -> str:
    """An SVG heatmap of a view (``report.explanation.views``) or ``heatmap_data``: axes, separators, colour bar."""
    values = figure["values"]
    n_rows, n_cols = len(values), len(values[0]) if values else 0
    rows = figure.get("rows") or {"title": "stimuli", "groups": [["", 0, n_rows]]}
    columns = figure.get("columns") or {"title": "probes", "groups": [["", 0, n_cols]]}
    finite = [abs(v) for row in values for v in row if v is not None and math.isfinite(v)]
    scale = max(finite) if finite and max(finite) > 0 else 1.0
    cell_w = max(5, min(24, 540 // max(n_cols, 1)))
    cell_h = max(4, min(16, 380 // max(n_rows, 1)))
    labelled_rows = any(g[0] for g in rows["groups"])
    left = 118 if labelled_rows else 44
    longest = max((len(str(g[0])) for g in columns["groups"]), default=0)
    top = 30 + min(100, 5 * longest)
    width, height = n_cols * cell_w, n_rows * cell_h
    parts = [svg_text(0, 14, title, 12, extra=' font-weight="bold"')]
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            tip = "not computed" if v is None else f"{v:+.4g} nats"
            parts.append(
                f'<rect x="{left + j * cell_w}" y="{top + i * cell_h}" width="{cell_w}" height="{cell_h}" '
                f'fill="{color(v, scale)}"><title>{tip}</title></rect>'
            )
    for label, low, high in columns["groups"]:
        x = left + (low + high) / 2 * cell_w
        parts.append(svg_text(x, top - 5, str(label), 10, extra=f' transform="rotate(-50 {x:.1f} {top - 5})"'))
        if low > 0:
            parts.append(svg_line(left + low * cell_w, left + low * cell_w, top, top + height))
    for label, low, high in rows["groups"]:
        y = top + (low + high) / 2 * cell_h
        if label:
            parts.append(svg_text(left - 4, y + 3.5, str(label), 10, "end"))
        if low > 0:
            parts.append(svg_line(left, left + width, top + low * cell_h, top + low * cell_h))
    parts.append(f'<rect x="{left}" y="{top}" width="{width}" height="{height}" fill="none" stroke="#333"/>')
    if not labelled_rows:  # item numbers, first and last
        parts.append(svg_text(left - 4, top + cell_h - 1, "1", 9, "end"))
        parts.append(svg_text(left - 4, top + height - 1, str(n_rows), 9, "end"))
    row_x = 12
    parts.append(
        svg_text(
            row_x,
            top + height / 2,
            f"{rows['title']} →",
            11,
            "middle",
            f' transform="rotate(-90 {row_x} {top + height / 2:.1f})"',
        )
    )
    parts.append(svg_text(left + width / 2, top + height + 16, f"{columns['title']} →", 11, "middle"))
    bar_height = max(height, 90)
    parts.append(colorbar(left + width + 22, top, bar_height, scale))
    total_w, total_h = max(left + width + 80, 7 * len(title)), top + max(height, bar_height) + 24
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {total_w} {total_h}" width="{total_w}" '
        f'height="{total_h}" role="img" style="{FONT}"><title>{html.escape(title)}</title>{"".join(parts)}</svg>'
    )
