"""From a measurement to a pytest outcome: record it, compare it, pass / fail / xfail / skip."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eifbench.desiderata.base import FAIL, INCONCLUSIVE, NOT_APPLICABLE, Measurement
from eifbench.report.baseline import compare
from eifbench.report.records import RECORD_KEY, make_record, record_key


def describe(record: dict[str, Any]) -> str:
    """``distance: spearman rho = -0.12 [-0.20, -0.05] (pass needs <= -0.3, n=12)``."""
    if record["value"] is None:
        return f"{record['desideratum']}: no value ({record['reason'] or 'nothing measured'})"
    ci = record["ci"] or [float("nan")] * 2
    side = ">=" if record["higher_is_better"] else "<="
    return (
        f"{record['desideratum']}: {record['metric']} = {record['value']:.3f} "
        f"[{ci[0]:.3f}, {ci[1]:.3f}] (pass needs {side} {record['threshold']:g}, n={record['n']})"
    )


def apply_verdict(
    session: Any, case: Any, measurement: Measurement, seconds: float, figure: dict[str, Any] | None = None
) -> None:
    """Attach the record to the running test item and raise the matching pytest outcome."""
    item = session.current_item
    record = make_record(case, measurement, seconds, item.nodeid if item is not None else "")
    if figure is not None:
        record["figure"] = figure
    comparison = None
    if session.baseline is not None and measurement.status != NOT_APPLICABLE:
        comparison = compare(session.baseline.match(record_key(record)), record, session.options.tolerances)
        record["gate"] = comparison.kind
    if item is not None:
        item.user_properties.append((RECORD_KEY, json.dumps(record)))
        for key in ("status", "value", "n", "seconds"):
            item.user_properties.append((f"eif_{key}", record[key]))
        if record["ci"]:
            item.user_properties.append(("eif_ci", f"{record['ci'][0]:.6g},{record['ci'][1]:.6g}"))
    where = f"{case.spec} ({case.recipe.label()})" if case.condition == "finetune" else f"{case.spec} (in-context)"
    if measurement.status == NOT_APPLICABLE:
        pytest.skip(f"n/a: {measurement.reason}")
    if comparison is not None and comparison.kind == "regression":
        pytest.fail(f"REGRESSION of {where} against the baseline: {comparison.table}", pytrace=False)
    if measurement.status == FAIL:
        if comparison is not None and comparison.kind == "known-violation":
            pytest.xfail(f"known violation (also failing in the baseline): {describe(record)}")
        details = f"; {measurement.reason}" if measurement.reason else ""
        pytest.fail(f"{where} violates {describe(record)}{details}", pytrace=False)
    if measurement.status == INCONCLUSIVE:
        pytest.xfail(f"inconclusive, the CI straddles the threshold: {describe(record)}")
