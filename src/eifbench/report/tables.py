"""Tabulate tables: influence matrices (CLI)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tabulate import tabulate


def _short(text: str, width: int = 28) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def influence_table(result: Any, stimulus_labels: Sequence[str], probe_labels: Sequence[str]) -> str:
    """Rows = stimuli, columns = probes, plus a baseline row f_theta0(probe).

    Args:
        result: an InfluenceResult with ``matrix`` (n_s, n_p) and ``baseline`` (n_p,).
        stimulus_labels: n_s row labels.
        probe_labels: n_p column labels.

    """
    headers = ["stimulus \\ probe"] + [_short(p) for p in probe_labels]
    rows: list[list[Any]] = [["f(probe) before"] + [f"{v:.3f}" for v in result.baseline.tolist()]]
    for label, row in zip(stimulus_labels, result.matrix.tolist()):
        rows.append([_short(label)] + [f"{v:+.4f}" for v in row])
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


ORDER = ("distance", "sparseness", "noise invariance", "transitivity", "logical consistency", "asymmetry")
LABELS = {"pass": "PASS", "fail": "FAIL", "inconclusive": "INCONCL", "n/a": "n/a"}


def cell(record: dict[str, Any] | None) -> str:
    """``PASS -0.52 [-0.61, -0.43]``, ``n/a``, or blank when the run lacks the record."""
    if record is None:
        return ""
    label = LABELS.get(record["status"], record["status"].upper())
    if record.get("gate") == "known-violation":
        label = "FAIL (known)"
    elif record.get("gate") == "regression":
        label = "REGRESSED"
    if record["status"] == "n/a" or record.get("value") is None:
        return label
    ci = record.get("ci")
    interval = f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""
    extra = (record.get("details") or {}).get("noise_ratio")
    secondary = (
        f" · noise ratio {extra['value']:.2f}" if isinstance(extra, dict) and extra.get("value") is not None else ""
    )
    return f"{label} {record['value']:.2f}{interval}{secondary}"


def summary_rows(records: Sequence[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Headers and rows: rows = desideratum x condition, columns = models (report order)."""
    columns: list[str] = []
    for r in records:
        column = r.get("column") or r["model"]
        if column not in columns:
            columns.append(column)
    by_key = {(r["desideratum"], r["condition"], r.get("column") or r["model"]): r for r in records}
    names = [d for d in ORDER if any(r["desideratum"] == d for r in records)]
    names += sorted({r["desideratum"] for r in records} - set(names))
    rows = []
    for name in names:
        for condition in ("finetune", "in-context"):
            cells = [cell(by_key.get((name, condition, c))) for c in columns]
            if any(cells):
                rows.append([name, condition, *cells])
    return ["desideratum", "condition", *columns], rows


def summary_table(records: Sequence[dict[str, Any]], tablefmt: str = "simple_grid") -> str:
    """The pass/fail table of a run, with the metric and its CI in each cell."""
    headers, rows = summary_rows(records)
    return tabulate(rows, headers=headers, tablefmt=tablefmt, disable_numparse=True)


def recipe_lines(records: Sequence[dict[str, Any]]) -> list[str]:
    """One line per model: its fine-tune recipe."""
    seen: dict[str, str] = {}
    for r in records:
        if r["condition"] != "finetune":
            continue
        recipe = r["recipe"]
        column = r.get("column") or r["model"]
        seen.setdefault(
            column,
            f"{column}: engine={recipe['engine']} steps={recipe['steps']} "
            f"lr={recipe['lr']:g} optimizer={recipe['optimizer']}",
        )
    return list(seen.values())
