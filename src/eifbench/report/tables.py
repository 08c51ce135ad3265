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
