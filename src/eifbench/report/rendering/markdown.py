"""GitHub-flavoured markdown report (fits ``$GITHUB_STEP_SUMMARY``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from eifbench.desiderata.base import NOT_APPLICABLE
from eifbench.report.explanation.explain_text import example_line, sentence, worst_heading
from eifbench.report.rendering.tables import LEGEND, recipe_lines, status_label, summary_table
from eifbench.report.rendering.verdict_line import verdict_line
from eifbench.report.results.incomplete import incomplete_lines
from eifbench.report.results.records import Record

QUOTED = re.compile("\u201c([^\u201d]*)\u201d")


def escape(text: str) -> str:
    """Markdown-safe text for table cells and prose (pipes, emphasis, HTML)."""
    for char in ("\\", "|", "*", "_", "`", "<", ">", "[", "]"):
        text = text.replace(char, "\\" + char)
    return text


def italic_quotes(text: str) -> str:
    """Quoted statements (curly quotes) in italics."""
    return QUOTED.sub(lambda m: f"\u201c*{m.group(1)}*\u201d", text)


def markdown_report(doc: dict[str, Any], records: Sequence[Record]) -> str:
    """The run's table, recipes, a collapsible explanation per desideratum, and the legend."""
    safe = [r.replace(column=escape(r.column), model=escape(r.model)) for r in records]
    lines = ["## eifbench: does the model learn logically from fine-tuning?", ""]
    lines += [f"**{escape(verdict_line(doc, records))}**", ""]
    lines += [f"> {escape(line)}" for line in incomplete_lines(doc)]
    lines += [""] if incomplete_lines(doc) else []
    lines += [summary_table(safe, tablefmt="github"), ""]
    lines += [f"- {escape(line)}" for line in recipe_lines(records)]
    for r in records:
        if r.status == NOT_APPLICABLE:
            continue
        title = f"{escape(r.column)} · {r.desideratum} · {r.condition}: {status_label(r)}"
        body = [escape(sentence(r))]
        if r.gate is not None and r.gate.kind != "new":
            was = "—" if r.gate.baseline_value is None else f"{r.gate.baseline_value:.3f}"
            now = "—" if r.value is None else f"{r.value:.3f}"
            body.append(
                f"Baseline `{r.gate.baseline_file.replace('`', '')}`: was {r.gate.baseline_status.upper()} {was}, now "
                f"{r.status.value.upper()} {now}: {escape(r.gate.why or r.gate.kind)}."
            )
        if r.examples:
            body += ["", worst_heading(r), ""]
            body += [f"{k}. {italic_quotes(escape(example_line(e)))}" for k, e in enumerate(r.examples, 1)]
        lines += ["", f"<details><summary>{title}</summary>", "", *body, "", "</details>"]
    when = doc.get("datetime", "")
    commit = (doc.get("commit_info") or {}).get("id", "")[:10]
    lines += ["", f"eifbench {doc.get('eifbench_version')} · {when}" + (f" · commit {commit}" if commit else ""), ""]
    lines += [LEGEND, ""]
    return "\n".join(lines)


def comparison_markdown(title: str, verdict: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """``eifbench compare`` as markdown: the verdict line, then the before/after table (escaped)."""
    from tabulate import tabulate

    safe = [[escape(str(cell)) for cell in row] for row in rows]
    return "\n".join(
        [
            "## eifbench compare",
            "",
            f"**{escape(verdict)}**",
            "",
            escape(title),
            "",
            tabulate(safe, headers=list(headers), tablefmt="github", disable_numparse=True),
            "",
            LEGEND,
            "",
        ]
    )
