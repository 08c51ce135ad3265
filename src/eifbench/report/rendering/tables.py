"""Tabulate tables: the verdict table of a run, a gate's before/after, influence matrices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tabulate import tabulate

from eifbench.desiderata.base import NOT_APPLICABLE, SecondCriterion, Status
from eifbench.report.results.records import Record

LABELS = {Status.PASS: "PASS", Status.FAIL: "FAIL", Status.INCONCLUSIVE: "INCONCL", Status.NOT_APPLICABLE: "n/a"}
GATE_LABELS = {"regression": "REGRESSED", "known-violation": "FAIL (known)", "improvement": "IMPROVED"}
LEGEND = (
    "FAIL = the model violates the desideratum · INCONCL = the interval straddles the threshold · "
    "REGRESSED = worse than the baseline beyond tolerance · FAIL (known) = fails in the baseline too · "
    "IMPROVED = better than the baseline"
)


def _short(text: str, width: int = 28) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def influence_table(result: Any, stimulus_labels: Sequence[str], probe_labels: Sequence[str]) -> str:
    """Rows = stimuli, columns = probes, plus a baseline row f_theta0(probe)."""
    headers = ["stimulus \\ probe"] + [_short(p) for p in probe_labels]
    rows: list[list[Any]] = [["f(probe) before"] + [f"{v:.3f}" for v in result.baseline.tolist()]]
    for label, row in zip(stimulus_labels, result.matrix.tolist()):
        rows.append([_short(label)] + [f"{v:+.4f}" for v in row])
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)


def influence_key(
    stimuli: Sequence[str | tuple[str, str]], probes: Sequence[tuple[str, str]], width: int = 100
) -> list[str]:
    """Every stimulus and probe in full, wrapped, quoted so leading spaces show: the key to a matrix's labels.

    A probe (and a completion stimulus) is its prompt and its completion: ``' April'`` and
    ``' not … April'`` must read differently, so nothing is cut.
    """
    import textwrap

    def text(item: str | tuple[str, str]) -> str:
        return repr(item) if isinstance(item, str) else f"prompt {item[0]!r} -> completion {item[1]!r}"

    def wrapped(tag: str, item: str | tuple[str, str]) -> list[str]:
        return textwrap.wrap(f"{tag} {text(item)}", width, subsequent_indent=" " * (len(tag) + 1)) or [tag]

    lines = []
    for k, stimulus in enumerate(stimuli, 1):
        lines += wrapped(f"S{k}", stimulus)
    for k, probe in enumerate(probes, 1):
        lines += wrapped(f"P{k}", probe)
    return lines


def status_label(record: Record) -> str:
    """``PASS``, ``FAIL``, ``INCONCL``, ``n/a``, or the gate's label when gated."""
    if record.gate is not None and record.gate.kind in GATE_LABELS:
        return GATE_LABELS[record.gate.kind]
    return LABELS[record.status]


def cell(record: Record | None) -> str:
    """``PASS -0.52 [-0.61, -0.43]``, ``n/a``, or blank when the run lacks the record."""
    if record is None:
        return ""
    label = status_label(record)
    gate = record.gate
    if record.status == NOT_APPLICABLE or record.value is None:
        if gate is not None and gate.kind == "regression":  # e.g. measured in the baseline, not now
            was = "—" if gate.baseline_value is None else f"{gate.baseline_value:.2f}"
            return f"{label} (was {was}: {gate.why})"
        return label
    interval = f" [{record.ci[0]:.2f}, {record.ci[1]:.2f}]" if record.ci else ""
    secondary = ""
    for criterion in second_criteria(record.desideratum):  # distance's contrast, noise invariance's spill
        second = record.details.get(criterion.key)
        if isinstance(second, dict) and second.get("value") is not None:
            secondary += f" · {criterion.short} {second['value']:.2f}"
    secondary += learned_note(record, short=True)
    was = ""
    if gate is not None and gate.baseline_value is not None and gate.kind != "ok":
        # a regression says why in the cell: "REGRESSED 0.11 (was 0.09)" alone reads as a rise
        why = f": {gate.why}" if gate.kind == "regression" and gate.why else ""
        was = f" (was {gate.baseline_value:.2f}{why})"
    return f"{label} {record.value:.2f}{interval}{secondary}{was}"


def learned_note(record: Record, *, short: bool = False) -> str:
    """How much of a cell's items the model learned: `` · 30/36 learned`` (short) or with the median rise.

    Empty for a record without the figures (an n/a cell, a record of an older run).
    """
    learning = record.details.get("learning")
    if not isinstance(learning, dict) or not learning.get("items"):
        return ""
    counted = f"{learning['learned']}/{learning['items']} learned"
    if short:
        return f" · {counted}"
    median = learning.get("median_self_influence")
    rise = f", median self-influence {median:.3g} nats" if median is not None else ""
    return f", {counted}{rise}"


def report_rank(name: str) -> tuple[int, str]:
    """Where a desideratum's rows go: the registry's order, then names it does not know, by name."""
    from eifbench.desiderata import DESIDERATA

    order = list(DESIDERATA)
    return (order.index(name) if name in order else len(order), name)


def second_criteria(name: str) -> tuple[SecondCriterion, ...]:
    """A desideratum's second criteria, by name (none for a name the registry does not know)."""
    from eifbench.desiderata import DESIDERATA

    desideratum = DESIDERATA.get(name)
    return desideratum.second_criteria if desideratum is not None else ()


def columns_of(records: Sequence[Record]) -> list[str]:
    """Report columns in first-seen order."""
    return list(dict.fromkeys(r.column for r in records))


def summary_rows(records: Sequence[Record]) -> tuple[list[str], list[list[str]]]:
    """Headers and rows: rows = desideratum x condition, columns = models (report order)."""
    columns = columns_of(records)
    by_key = {(r.desideratum, r.condition, r.column): r for r in records}
    names = sorted({r.desideratum for r in records}, key=report_rank)
    rows = []
    for name in names:
        for condition in ("finetune", "in-context"):
            cells = [cell(by_key.get((name, condition, c))) for c in columns]
            if any(cells):
                rows.append([name, condition, *cells])
    return ["desideratum", "condition", *columns], rows


def summary_table(records: Sequence[Record], tablefmt: str = "simple_grid") -> str:
    """The pass/fail table of a run, with the metric and its interval in each cell."""
    headers, rows = summary_rows(records)
    return tabulate(rows, headers=headers, tablefmt=tablefmt, disable_numparse=True)


RECIPE_EXTRAS = ("dtype", "stimulus_format", "chat_template", "trainable", "trained", "batched")


def recipe_lines(records: Sequence[Record]) -> list[str]:
    """One line per model and condition: how it was measured (engine, recipe, dtype, chat template, batching).

    An in-context record has no fine-tune recipe, but its dtype and chat template decide its
    numbers as much, so an in-context-only run still says how it read the model.
    """
    seen: dict[tuple[str, str], str] = {}
    for r in records:
        recipe = r.recipe
        if "engine" not in recipe or (r.condition == "finetune" and "lr" not in recipe):
            continue
        extra = "".join(f" {k}={recipe[k]}" for k in RECIPE_EXTRAS if recipe.get(k))
        if r.condition == "finetune":
            line = (
                f"{r.column}: engine={recipe['engine']} steps={recipe['steps']} lr={recipe['lr']:g} "
                f"optimizer={recipe['optimizer']}{extra}"
            )
        else:
            line = f"{r.column} ({r.condition}): engine={recipe['engine']}{extra}"
        seen.setdefault((r.column, r.condition), line)
    return list(seen.values())


def comparison_table(record: Record) -> str:
    """Baseline vs now for one gated record."""
    gate = record.gate
    if gate is None:
        return ""

    def interval(ci: Sequence[float] | None) -> str:
        return "—" if not ci else f"[{ci[0]:.3f}, {ci[1]:.3f}]"

    rows = [
        ["status", gate.baseline_status or "—", record.status.value],
        [
            "value",
            "—" if gate.baseline_value is None else f"{gate.baseline_value:.3f}",
            "—" if record.value is None else f"{record.value:.3f}",
        ],
        ["ci", interval(gate.baseline_ci), interval(record.ci)],
    ]
    return tabulate(rows, headers=["", f"baseline ({gate.baseline_file})", "now"], tablefmt="github")
