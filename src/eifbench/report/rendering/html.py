"""One self-contained HTML file: the verdict table, then per model a verdict chart and each verdict explained.

Per record: what the desideratum asks and where the model stands, its baseline comparison,
its worst items in words (with thumbnails of images), and its heatmap with a caption of
what a logical learner's picture looks like. A Content-Security-Policy forbids the page
to load anything (only inline styles and ``data:`` images), so it opens offline and
cannot leak a request.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

from eifbench.desiderata.base import FAIL, INCONCLUSIVE, NOT_APPLICABLE
from eifbench.report.explanation.explain_text import gate_line, sentence, worst_heading
from eifbench.report.rendering.charts import curve_svg, curves_of, summary_svg, value_ranges
from eifbench.report.rendering.figures import heatmap_svg
from eifbench.report.rendering.tables import LEGEND, recipe_lines, report_rank, status_label, summary_rows
from eifbench.report.rendering.thumbnails import png_data_uri
from eifbench.report.rendering.verdict_line import exit_code_of, verdict_line
from eifbench.report.results.incomplete import incomplete_lines
from eifbench.report.results.records import Record

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1180px;padding:0 1em;color:#222;line-height:1.4}
table{border-collapse:collapse;font-size:13px;max-width:100%}td,th{border:1px solid #ccc;padding:4px 8px}
.pass{background:#e6f4ea}.fail{background:#fce8e6}.inconcl{background:#fef7e0}.na{color:#888}
.regressed{background:#c5221f;color:#fff;font-weight:bold}.known{background:#f6d7d5}.improved{background:#ceead6;font-weight:bold}
svg{max-width:100%;height:auto}figure{margin:.6em 0}figcaption{font-size:12px;color:#555;max-width:760px}
details.record{border:1px solid #ddd;border-radius:4px;margin:.5em 0;padding:.3em .8em}
details.record>summary{cursor:pointer;font-weight:600;padding:.2em 0}
p,li,figcaption{overflow-wrap:anywhere}.worst li{margin:.4em 0}
.thumbs{display:flex;flex-wrap:wrap;gap:10px;margin:.3em 0}.thumbs figure{margin:0;text-align:center;font-size:11px}
.thumbs img{width:56px;height:56px;image-rendering:pixelated;border:1px solid #999;display:block;margin:auto}
.charts{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
.verdict{font-size:1.15em;font-weight:bold;padding:.4em .8em;border-radius:4px}
.verdict.ok{background:#e6f4ea}.verdict.bad{background:#fce8e6}
"""
QUOTED = re.compile("\u201c([^\u201d]*)\u201d")
NA_CLASS = {"pass": "pass", "fail": "fail", "inconclusive": "inconcl", "n/a": "na"}


def css_class(record: Record | None) -> str:
    """The cell's style class, from the record's status and gate (never from rendered text)."""
    if record is None:
        return ""
    if record.gate is not None and record.gate.kind in ("regression", "known-violation", "improvement"):
        return {"regression": "regressed", "known-violation": "known", "improvement": "improved"}[record.gate.kind]
    return NA_CLASS[record.status.value]


def prose(text: str) -> str:
    """Escaped text with quoted statements set in italics."""
    return QUOTED.sub(lambda m: f"\u201c<em>{m.group(1)}</em>\u201d", html.escape(text))


def example_html(example: dict[str, Any]) -> str:
    """One worst item: its sentence (or label) and thumbnails of the images it names."""
    text = example.get("text") or f"{example['item']} ({example['value']:+.3f})"
    thumbs = "".join(
        f'<figure><img alt="{html.escape(t["label"])}" src="{png_data_uri(t)}">'
        f"<figcaption>{html.escape(t['role'])}<br>{html.escape(t['label'])}</figcaption></figure>"
        for t in example.get("images") or ()
    )
    return f"<li>{prose(text)}" + (f"<div class='thumbs'>{thumbs}</div>" if thumbs else "") + "</li>"


def record_html(r: Record) -> str:
    """A record explained: open when it regressed, fails or is inconclusive; collapsed when it passes."""
    opened = " open" if urgency(r) < PASSING else ""  # a reader opens what failed, not what passed
    parts = [
        f"<details class='record {css_class(r)}'{opened}><summary>{html.escape(r.desideratum)} · "
        f"{html.escape(r.condition)}: {html.escape(status_label(r))}</summary>",
        f"<p>{prose(sentence(r))}</p>",
    ]
    if r.gate is not None and r.gate.kind != "new":
        parts.append(f"<p>{html.escape(gate_line(r))}</p>")
    if r.examples:
        parts.append(f"<p>{worst_heading(r)}</p><ol class='worst'>")
        parts += [example_html(e) for e in r.examples]
        parts.append("</ol>")
    if r.figure is not None and r.figure.get("kind") == "heatmap":
        title = f"{r.desideratum} · {r.condition}: influence in nats"
        caption = html.escape(r.figure.get("caption", ""))
        parts.append(f"<figure>{heatmap_svg(r.figure, title)}<figcaption>{caption}</figcaption></figure>")
    parts.append("</details>")
    return "".join(parts)


PASSING = 4  # urgency of a passing (or improved and passing) record: collapsed


def urgency(record: Record) -> int:
    """How soon a reader needs a record: REGRESSED 0, FAIL 1, FAIL (known) 2, INCONCL 3, PASS 4, n/a 5."""
    if record.gate is not None and record.gate.kind == "regression":
        return 0
    if record.status == FAIL:
        return 2 if record.gate is not None and record.gate.kind == "known-violation" else 1
    if record.status == INCONCLUSIVE:
        return 3
    return 5 if record.status == NOT_APPLICABLE else PASSING


def report_order(records: Sequence[Record]) -> list[Record]:
    """Records in the table's order: desideratum, then finetune before in-context."""
    return sorted(records, key=lambda r: (report_rank(r.desideratum), r.condition != "finetune"))


def verdict_order(records: Sequence[Record]) -> list[Record]:
    """Failing verdicts first (REGRESSED, FAIL, then INCONCL, then PASS, then n/a), the table's order within each."""
    return sorted(report_order(records), key=urgency)  # sorted() is stable: the table's order breaks ties


def model_html(column: str, records: Sequence[Record]) -> str:
    """One model's section: the verdict chart, the desiderata's curves, each record explained (failing first), n/a."""
    mine = report_order(records)
    measured = [r for r in mine if r.status != NOT_APPLICABLE]
    parts = [f"<section><h2>{html.escape(column)}</h2><div class='charts'>"]
    chart = summary_svg(measured, value_ranges())
    if chart:
        parts.append(
            f"<figure>{chart}<figcaption>Each row's axis is the range its per-item values are clipped to."
            "</figcaption></figure>"
        )
    for curve, series, bands in curves_of(mine):
        drawn = curve_svg(series, bands, curve.title, curve.labels)
        parts.append(f"<figure>{drawn}<figcaption>{html.escape(curve.caption, quote=False)}</figcaption></figure>")
    parts.append("</div>")
    parts += [record_html(r) for r in verdict_order(measured)]
    not_applicable = [r for r in mine if r.status == NOT_APPLICABLE]
    if not_applicable:  # listed once, collapsed: the table already shows where
        items = "".join(
            f"<li>{html.escape(r.desideratum)} · {html.escape(r.condition)}: {html.escape(r.reason)}</li>"
            for r in not_applicable
        )
        parts.append(
            f"<details class='record na'><summary>n/a: {len(not_applicable)} not applicable to this model</summary>"
            f"<ul class='na'>{items}</ul></details>"
        )
    parts.append("</section>")
    return "".join(parts)


def table_html(records: Sequence[Record]) -> str:
    """The verdict table (rows = desideratum x condition, columns = models), each cell styled by its verdict."""
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
    return f"<table><tr>{head}</tr>{body}</table>"


def html_report(doc: dict[str, Any], records: Sequence[Record]) -> str:
    """Render a run as one HTML page with inline SVG and data-URI thumbnails (no external resources)."""
    columns = summary_rows(records)[0][2:]
    parts = [
        "<h1>eifbench: does the model learn logically from fine-tuning?</h1>",
        verdict_html(doc, records),
        "<p>Each desideratum fine-tunes the model briefly on one stimulus at a time (or puts it in the prompt), "
        "reads how its log-probabilities on probes move (in nats), restores the weights, and checks the pattern "
        "against matched controls. Below the table: per model, each verdict explained with its worst items and "
        "its influence heatmap.</p>",
    ]
    parts += [f"<p class='partial'><strong>{html.escape(line)}</strong></p>" for line in incomplete_lines(doc)]
    parts.append(table_html(records))
    parts.append("<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in recipe_lines(records)) + "</ul>")
    stamp = f"eifbench {doc.get('eifbench_version')} · {doc.get('datetime')} · {LEGEND}"
    parts.append(f"<p class='stamp'>{html.escape(stamp)}</p>")
    for column in columns:
        parts.append(model_html(column, [r for r in records if r.column == column]))
    return page("eifbench report", "".join(parts))


def verdict_html(doc: dict[str, Any], records: Sequence[Record]) -> str:
    """The report's one-line verdict (``report.rendering.verdict_line``), green when the run exits 0."""
    tone = "ok" if exit_code_of(doc, records) == 0 else "bad"
    return f"<p class='verdict {tone}'>{html.escape(verdict_line(doc, records))}</p>"


def page(title: str, body: str) -> str:
    """A self-contained page: the Content-Security-Policy forbids loading anything, the style is inline."""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )


COMPARE_CLASSES = {"REGRESSION": "regressed", "known-violation": "known", "improvement": "improved"}


def comparison_html(title: str, verdict: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """``eifbench compare`` as one self-contained page: the verdict line, then the before/after table."""
    tone = "bad" if any(row[-2] == "REGRESSION" for row in rows) else "ok"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        f"<tr class='{COMPARE_CLASSES.get(row[-2], '')}'>"
        + "".join(f"<td>{html.escape(str(c))}</td>" for c in row)
        + "</tr>"
        for row in rows
    )
    return page(
        "eifbench compare",
        f"<h1>eifbench compare</h1><p class='verdict {tone}'>{html.escape(verdict)}</p>"
        f"<p>{html.escape(title)}</p><table><tr>{head}</tr>{body}</table><p class='stamp'>{html.escape(LEGEND)}</p>",
    )
