"""GitHub-flavoured markdown report (fits ``$GITHUB_STEP_SUMMARY``)."""

from __future__ import annotations

from typing import Any

from eifbench.report.tables import recipe_lines, summary_table


def markdown_report(doc: dict[str, Any]) -> str:
    """The run's table, recipes, and a line on completeness."""
    records = doc["results"]
    lines = ["## eifbench: does the model learn logically from fine-tuning?", ""]
    if not doc.get("complete", True):
        lines += ["> **Partial run** (interrupted): only finished tests are shown.", ""]
    lines += [summary_table(records, tablefmt="github"), ""]
    lines += [f"- {line}" for line in recipe_lines(records)]
    when = doc.get("datetime", "")
    commit = (doc.get("commit_info") or {}).get("id", "")[:10]
    lines += ["", f"eifbench {doc.get('eifbench_version')} · {when}" + (f" · commit {commit}" if commit else ""), ""]
    lines += ["FAIL = the model violates the desideratum; INCONCL = the CI straddles the threshold.", ""]
    return "\n".join(lines)
