"""Verdicts explained in words: what the desideratum asks, value vs threshold, the worst items."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eifbench.desiderata import DESIDERATA
from eifbench.desiderata.base import FAIL, NOT_APPLICABLE, PASS
from eifbench.report.rendering.tables import learned_note
from eifbench.report.results.records import Record


def sentence(record: Record) -> str:
    """One line: what is asked, and where the model stands."""
    desideratum = DESIDERATA.get(record.desideratum)
    asks = desideratum.description if desideratum else record.desideratum
    where = f"{record.desideratum} ({record.condition})"
    if record.status == NOT_APPLICABLE:
        return f"{where}: n/a - {record.reason}"
    if record.value is None:
        return f"{where}: asks that {asks}; no value ({record.reason})"
    side = ">=" if record.higher_is_better else "<="
    interval = f" [{record.ci[0]:.3f}, {record.ci[1]:.3f}]" if record.ci else ""
    learned = learned_note(record)
    reason = f"; {record.reason}" if record.reason else ""
    return (
        f"{where}: asks that {asks}; {record.metric} = {record.value:.3f}{interval} over {record.n} items"
        f"{learned}, pass needs {side} {record.threshold:g} -> {record.status.value.upper()}{reason}"
    )


def gate_line(record: Record) -> str:
    """The baseline comparison in one line, or "" without one."""
    gate = record.gate
    if gate is None:
        return ""
    was = "-" if gate.baseline_value is None else f"{gate.baseline_value:.3f}"
    why = f" ({gate.why})" if gate.why else ""
    return f"baseline {gate.baseline_file}: {gate.baseline_status or '-'} {was} -> {gate.kind}{why}"


def example_line(example: dict[str, Any]) -> str:
    """A worst item in words: its sentence, or its label and score when the report has no sentence."""
    text = example.get("text")
    return text if text else f"{example['item']} ({example['value']:+.3f})"


def worst_heading(record: Record) -> str:
    """The words above a record's worst items: a passing record's are only its weakest."""
    return "Its weakest items:" if record.status == PASS else "The items that violate it most:"


def item_lines(record: Record) -> list[str]:
    """The worst items of a record, one line each."""
    return [f"    {k}. {example_line(e)}" for k, e in enumerate(record.examples, 1)]


def terminal_explanations(records: Sequence[Record], *, verbose: bool) -> list[str]:
    """Lines for the terminal: every measured record with -v, else only the failing ones."""
    chosen = [r for r in records if r.status != NOT_APPLICABLE and (verbose or r.status == FAIL)]
    lines: list[str] = []
    for r in chosen:
        lines.append(f"{r.column}: {sentence(r)}")
        if r.gate is not None and r.gate.kind != "new":
            lines.append(f"    {gate_line(r)}")
        lines += item_lines(r)
    return lines
