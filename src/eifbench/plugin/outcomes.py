"""From a record to a pytest outcome: gate it, attach it to the test, pass / fail / xfail / skip.

The record itself is built without pytest (``eifbench.pipeline``); this is the plugin's
side: the baseline comparison, the test's user properties, and the outcome.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from eifbench.desiderata.base import FAIL, INCONCLUSIVE, NOT_APPLICABLE
from eifbench.report.results.records import RECORD_KEY, Record

if TYPE_CHECKING:
    from eifbench.cases import EifCase
    from eifbench.pipeline import Measured
    from eifbench.plugin.session import EifSession


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


def gate(session: EifSession, case: EifCase, record: Record) -> Record:
    """The record with its baseline comparison.

    Raises:
        BaselineError: the baseline measured other stimuli (the session ends the run, exit 4).

    """
    from eifbench.report.results.baseline import compare

    baseline = session.baseline
    if baseline is None:
        return record
    column = session.baseline_columns.get(record.column, record.column)
    comparison = compare(baseline.match(column, record), record, session.options.tolerances, baseline.path)
    return record.replace(gate=comparison)


def apply_verdict(session: EifSession, case: EifCase, measured: Measured) -> None:
    """Gate a measured case's record, attach it to the running test item, raise the matching pytest outcome."""
    item = session.current_item
    record = gate(session, case, measured.record)
    task, results = measured.task, measured.results
    if task is not None and results and "log-samples" in session.options.reports:
        from eifbench.report.results.samples import log_samples

        log_samples(session.options.reports["log-samples"], record, task, results)
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
