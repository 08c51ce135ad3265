"""What a report must say up front when it is not the whole story: missing tests, ungated cells.

Markdown and HTML render the same lines (each escapes them its own way), so a partial
run or a gate that lost a cell reads the same in a step summary and in the browser.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SHOWN = 5  # missing tests named in full; the rest are counted


def incomplete_lines(doc: Mapping[str, Any]) -> list[str]:
    """Plain-text lines for a partial run and for baseline cells this run did not measure.

    Args:
        doc: the run's JSON document (``complete``, ``missing``, ``gate``).

    Returns:
        Nothing for a complete, fully gated run; else one line per fact, worst first.

    """
    lines: list[str] = []
    missing = list(doc.get("missing") or [])
    if not doc.get("complete", True):
        if missing:
            lines.append(
                f"Incomplete run: {len(missing)} selected test(s) produced no result; "
                "the table shows only the results that exist, and gates refuse this report."
            )
            lines += [f"No result: {m.get('test', '?')} ({m.get('why', '')})" for m in missing[:SHOWN]]
            if len(missing) > SHOWN:
                lines.append(f"… and {len(missing) - SHOWN} more (listed in the JSON report's `missing`).")
        else:
            lines.append(
                "Incomplete run (interrupted or stopped early): only finished tests are shown, and gates refuse it."
            )
    gate = doc.get("gate") or {}
    for cell in gate.get("not_measured") or []:
        lines.append(
            f"REGRESSED {cell.get('column')} · {cell.get('desideratum')} · {cell.get('condition')}: {cell.get('why')}"
        )
    return lines
