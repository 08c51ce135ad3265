"""One self-contained HTML file: the table, then per model the heatmaps and distance curves."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from eifbench.report.figures import curve_svg, heatmap_svg
from eifbench.report.records import Record
from eifbench.report.tables import LEGEND, recipe_lines, summary_rows

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:4px 8px}
.pass{background:#e6f4ea}.fail{background:#fce8e6}.inconcl{background:#fef7e0}.na{color:#888}
.regressed{background:#c5221f;color:#fff;font-weight:bold}.known{background:#f6d7d5}.improved{background:#ceead6;font-weight:bold}
.figs{display:flex;flex-wrap:wrap;gap:18px}.fig{border:1px solid #eee;padding:6px}
"""
LEVEL_LABELS = ("near", "related", "far")


def css_class(record: Record | None) -> str:
    """The cell's style class, from the record's status and gate (never from rendered text)."""
    if record is None:
        return ""
    if record.gate is not None and record.gate.kind in ("regression", "known-violation", "improvement"):
        return {"regression": "regressed", "known-violation": "known", "improvement": "improved"}[record.gate.kind]
    return {"pass": "pass", "fail": "fail", "inconclusive": "inconcl", "n/a": "na"}[record.status.value]


def html_report(doc: dict[str, Any], records: Sequence[Record]) -> str:
    """Render a run as one HTML page with inline SVG (no external resources)."""
    headers, rows = summary_rows(records)
    by_key = {(r.desideratum, r.condition, r.column): r for r in records}
    columns = headers[2:]
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + f"<td>{html.escape(row[0])}</td><td>{html.escape(row[1])}</td>"
        + "".join(
            f'<td class="{css_class(by_key.get((row[0], row[1], column)))}">{html.escape(text)}</td>'
            for column, text in zip(columns, row[2:])
        )
        + "</tr>"
        for row in rows
    )
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>eifbench report</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>eifbench: does the model learn logically from fine-tuning?</h1>",
    ]
    if not doc.get("complete", True):
        parts.append("<p><strong>Partial run (interrupted): only finished tests are shown.</strong></p>")
    parts.append(f"<table><tr>{head}</tr>{body}</table>")
    parts.append("<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in recipe_lines(records)) + "</ul>")
    parts.append(
        f"<p>eifbench {html.escape(str(doc.get('eifbench_version')))} · {html.escape(str(doc.get('datetime')))}"
        f" · {html.escape(LEGEND)}</p>"
    )
    for column in headers[2:]:
        mine = [r for r in records if r.column == column]
        parts.append(f"<h2>{html.escape(column)}</h2><div class='figs'>")
        curves = {
            r.condition: r.details["mean_abs_c_by_level"]
            for r in mine
            if r.desideratum == "distance" and r.details.get("mean_abs_c_by_level")
        }
        if curves:
            parts.append(f"<div class='fig'>{curve_svg(curves, 'mean |c| vs distance level', LEVEL_LABELS)}</div>")
        for r in mine:
            if r.figure is not None and r.figure.get("kind") == "heatmap":
                title = f"{r.desideratum} · {r.condition}"
                parts.append(f"<div class='fig'>{heatmap_svg(r.figure, title)}</div>")
        parts.append("</div>")
    parts.append("</body></html>")
    return "".join(parts)
