"""Verdicts explained in words: what the desideratum asks, value vs threshold, the worst items."""

from __future__ import annotations

from collections.abc import Sequence

from eifbench.desiderata import DESIDERATA
from eifbench.desiderata.base import FAIL, NOT_APPLICABLE
from eifbench.report.records import Record


def sentence(record: Record) -> str:
    """One line: what is asked, and where the model stands."""
    desideratum = DESIDERATA.get(record.desideratum)
    asks = desideratum.description if desideratum else record.desideratum
    if record.status == NOT_APPLICABLE:
        return f"{record.desideratum} ({record.condition}): n/a - {record.reason}"
    if record.value is None:
        return f"{record.desideratum} ({record.condition}): asks that {asks}; no value ({record.reason})"
    side = ">=" if record.higher_is_better else "<="
    return (
        f"{record.desideratum} ({record.condition}): asks that {asks}; {record.metric} = {record.value:.3f} "
        f"[{record.ci[0]:.3f}, {record.ci[1]:.3f}], pass needs {side} {record.threshold:g} "
        f"-> {record.status.value.upper()}"
        if record.ci
        else f"{record.desideratum}: {record.value:.3f}"
    )


def item_lines(record: Record) -> list[str]:
    """The worst items of a record, one line each."""
    return [f"    worst: {e['item']} ({e['value']:+.3f})" for e in record.examples]


def terminal_explanations(records: Sequence[Record], *, verbose: bool) -> list[str]:
    """Lines for the terminal: every record with -v, else only the failing ones."""
    chosen = [r for r in records if verbose or r.status == FAIL]
    lines: list[str] = []
    for r in chosen:
        lines.append(f"{r.column}: {sentence(r)}")
        lines += item_lines(r)
    return lines
