"""One self-contained HTML file: the table, then per model the heatmaps and distance curves."""

from __future__ import annotations

import html
from typing import Any

from eifbench.report.figures import curve_svg, heatmap_svg
from eifbench.report.tables import recipe_lines, summary_rows

STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:4px 8px}
.pass{background:#e6f4ea}.fail{background:#fce8e6}.inconcl{background:#fef7e0}.na{color:#888}
.figs{display:flex;flex-wrap:wrap;gap:18px}.fig{border:1px solid #eee;padding:6px}
"""
LEVEL_LABELS = ("same", "near", "far", "unrelated")


def _css(text: str) -> str:
    head = text.split(" ", 1)[0].lower()
    return {"pass": "pass", "fail": "fail", "regressed": "fail", "inconcl": "inconcl", "n/a": "na"}.get(head, "")


def html_report(doc: dict[str, Any]) -> str:
    """Render a report document as one HTML page with inline SVG (no external resources)."""
    records = doc["results"]
    headers, rows = summary_rows(records)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{_css(c) if i >= 2 else ""}">{html.escape(c)}</td>' for i, c in enumerate(row))
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
        " · FAIL = the model violates the desideratum; INCONCL = the CI straddles the threshold.</p>"
    )
    for column in headers[2:]:
        mine = [r for r in records if (r.get("column") or r["model"]) == column]
        parts.append(f"<h2>{html.escape(column)}</h2><div class='figs'>")
        curves = {
            r["condition"]: r["details"]["mean_abs_eif_by_level"]
            for r in mine
            if r["desideratum"] == "distance" and (r.get("details") or {}).get("mean_abs_eif_by_level")
        }
        if curves:
            parts.append(f"<div class='fig'>{curve_svg(curves, 'mean |EIF| vs distance', LEVEL_LABELS)}</div>")
        for r in mine:
            if r.get("figure", {}).get("kind") == "heatmap":
                title = f"{r['desideratum']} · {r['condition']}"
                parts.append(f"<div class='fig'>{heatmap_svg(r['figure'], title)}</div>")
        parts.append("</div>")
    parts.append("</body></html>")
    return "".join(parts)
