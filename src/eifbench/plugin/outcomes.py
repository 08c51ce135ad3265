"""From a record to a pytest outcome: gate it, attach it to the test, pass / fail / xfail / skip.

The record itself is built without pytest (``eifbench.pipeline``); this is the plugin's
side: the baseline comparison, the test's user properties, and the outcome.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pytest

from eifbench.desiderata.base import FAIL, INCONCLUSIVE, NOT_APPLICABLE
from eifbench.report.results.records import RECORD_KEY, Record

if TYPE_CHECKING:
    from eifbench.cases import EifCase
    from eifbench.pipeline import Measured
    from eifbench.report.results.baseline import Baseline


def describe(record: Record) -> str:
    """``distance: spearman rho = -0.12 [-0.20, -0.05] (pass needs <= -0.3, n=12)``."""
    if record.value is None:
        return f"{record.desideratum}: no value ({record.reason or 'nothing measured'})"
    low, high = record.ci or (float("nan"), float("nan"))
    side = ">=" if record.higher_is_better else "<="
    unmeasured = f", {record.unmeasured} not learned" if record.unmeasured else ""
    return (
        f"{record.desideratum}: {record.metric} = {record.value:.3f} [{low:.3f}, {high:.3f}] "
        f"(pass needs {side} {record.threshold:g}, n={record.n}{unmeasured})"
    )


def gate(
    record: Record, baseline: Baseline | None, columns: Mapping[str, str], tolerances: Mapping[str, float]
) -> Record:
    """The record with its comparison to the baseline's cell of the same column (itself without a baseline).

    Args:
        record: the measured record.
        baseline: the run's baseline, if it has one.
        columns: this run's column -> the baseline's (``--eif-compare-as``).
        tolerances: per desideratum, how far a value may move in the bad direction.

    Raises:
        BaselineError: the baseline measured other stimuli (the session ends the run, exit 4).

    """
    from eifbench.report.results.baseline import compare

    if baseline is None:
        return record
    column = columns.get(record.column, record.column)
    return record.replace(gate=compare(baseline.match(column, record), record, tolerances, baseline.path))


def apply_verdict(
    case: EifCase, record: Record, measured: Measured, item: pytest.Item | None, samples: str | None
) -> None:
    """Attach a gated record to the running test item and raise the matching pytest outcome.

    Args:
        case: the case measured.
        record: its record, gated (``gate``).
        measured: what it was measured on (written to ``samples`` when asked).
        item: the running test item, if any (its user properties carry the record to the report).
        samples: the ``--eif-log-samples`` file, if asked.

    """
    task, results = measured.task, measured.results
    if task is not None and results and samples is not None:
        from eifbench.report.results.samples import log_samples

        log_samples(samples, record, task, results)
    if item is not None:
        serialised = record.to_json()  # once: the figure and examples make it the costliest step of a record
        item.user_properties.append((RECORD_KEY, json.dumps(serialised)))
        for key in ("status", "value", "n", "seconds"):
            item.user_properties.append((f"eif_{key}", serialised[key]))
        if record.ci is not None:
            item.user_properties.append(("eif_ci", f"{record.ci[0]:.6g},{record.ci[1]:.6g}"))
    where = f"{case.model} ({case.recipe.label()})" if case.condition == "finetune" else f"{case.model} (in-context)"
    comparison = record.gate
    if comparison is not None and comparison.kind == "regression":  # before n/a: a cell measured before, n/a now
        from eifbench.report.rendering.tables import comparison_table

        pytest.fail(
            f"REGRESSION of {where} against {comparison.baseline_file}: {comparison.why}\n{comparison_table(record)}",
            pytrace=False,
        )
    if record.status == NOT_APPLICABLE:
        pytest.skip(f"n/a: {record.reason}")
    if record.status == FAIL:
        if comparison is not None and comparison.kind == "known-violation":
            pytest.xfail(f"known violation (also failing in the baseline): {describe(record)}")
        details = f"; {record.reason}" if record.reason else ""
        pytest.fail(f"{where} violates {describe(record)}{details}", pytrace=False)
    if record.status == INCONCLUSIVE:
        pytest.xfail(f"inconclusive, the CI straddles the threshold: {describe(record)}")
