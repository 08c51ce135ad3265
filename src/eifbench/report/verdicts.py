"""From a measurement to a pytest outcome: record it, gate it, pass / fail / xfail / skip."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pytest

from eifbench.desiderata.base import FAIL, INCONCLUSIVE, NOT_APPLICABLE, Measurement
from eifbench.report.records import RECORD_KEY, Record, finite, package_versions

if TYPE_CHECKING:
    from eifbench.cases import EifCase, RunOptions
    from eifbench.influence import InfluenceResult
    from eifbench.session import EifSession
    from eifbench.tasks.base import Task


def recipe_record(case: EifCase, options: RunOptions) -> dict[str, Any]:
    """Everything a baseline must share with a run besides the stimuli.

    In context there is no fine-tune, only the engine; language models add the stimulus
    format (statement or completion loss) and whether a chat template was applied. The
    weights' dtype is recorded too: it sets the float-noise floor below which an influence
    is not measured, so a float32 run is not gated against a float64 baseline. A PEFT
    model's fine-tune records what it trained (``trained``: ``adapter`` or ``all``; a plain
    model trains all its weights, and ``report.baseline`` reads a missing key so).
    """
    recipe: dict[str, Any] = {"engine": case.engine}
    if case.dtype:
        recipe["dtype"] = case.dtype
    if case.condition == "finetune":
        recipe.update(case.recipe.as_record())
        if case.trained:
            recipe["trained"] = case.trained
    if case.kind.reads_completions:
        recipe["stimulus_format"] = options.stimulus_format
        recipe["chat_template"] = case.chat_template
    return recipe


def batched_recipe(recipe: dict[str, Any], results: Mapping[str, InfluenceResult] | None) -> dict[str, Any]:
    """The recipe plus ``batched=B`` when the exact engine fine-tuned B stimuli at once.

    A record shows how its matrices were computed; baselines compare recipes without it
    (batching changes nothing but float rounding).
    """
    batched = max((result.batched for result in (results or {}).values()), default=0)
    return {**recipe, "batched": batched} if batched else recipe


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


def build_record(
    case: EifCase,
    options: RunOptions,
    measurement: Measurement,
    seconds: float,
    task: Task[Any] | None,
    results: Mapping[str, InfluenceResult] | None,
    nodeid: str = "",
) -> Record:
    """The record of one desideratum on one case (the suite's and ``evaluate``'s alike)."""
    from eifbench.influence.digest import task_digest
    from eifbench.report.explain import figure_of, worst_items

    suffix = f"@{case.model}"  # pytest-xdist's loadgroup appends the group to the node id
    nodeid = nodeid[: -len(suffix)] if nodeid.endswith(suffix) else nodeid
    examples: tuple[dict[str, Any], ...] = ()
    figure: dict[str, Any] | None = None
    if task is not None and results:
        examples = tuple(worst_items(measurement, task, results, case.condition))
        figure = figure_of(measurement, task, results, case.condition)
    applies = measurement.status != NOT_APPLICABLE
    ci = measurement.ci if applies and measurement.ci is not None else None
    return Record(
        model=case.model,
        column=case.column,
        kind=case.kind.value,
        desideratum=measurement.desideratum,
        condition=case.condition,
        status=measurement.status,
        metric=measurement.metric,
        value=finite(measurement.value),  # NaN means "nothing measured": None, as in the JSON
        ci=None if ci is None or not all(math.isfinite(c) for c in ci) else ci,
        threshold=measurement.threshold,
        higher_is_better=measurement.higher_is_better,
        n=measurement.n,
        unmeasured=measurement.unmeasured,
        seconds=round(seconds, 3),
        recipe=batched_recipe(recipe_record(case, options), results),
        stimuli=task_digest(task) if task is not None else "",
        bank=task.bank if task is not None else "",
        reason=measurement.reason,
        details=measurement.details,
        nodeid=nodeid,
        test=nodeid.replace(case.id, "{case}"),
        examples=examples,
        figure=figure,
        versions=package_versions(),
    )


def gate(session: EifSession, case: EifCase, record: Record) -> Record:
    """The record with its baseline comparison.

    Raises:
        BaselineError: the baseline measured other stimuli (the session ends the run, exit 4).

    """
    from eifbench.report.baseline import compare

    baseline = session.baseline
    if baseline is None:
        return record
    column = session.baseline_columns.get(record.column, record.column)
    comparison = compare(baseline.match(column, record), record, session.options.tolerances, baseline.path)
    return record.replace(gate=comparison)


def apply_verdict(
    session: EifSession,
    case: EifCase,
    measurement: Measurement,
    seconds: float,
    task: Task[Any] | None = None,
    results: Mapping[str, InfluenceResult] | None = None,
) -> None:
    """Attach the record to the running test item and raise the matching pytest outcome."""
    item = session.current_item
    nodeid = item.nodeid if item is not None else ""
    record = gate(session, case, build_record(case, session.options, measurement, seconds, task, results, nodeid))
    if task is not None and results and "log-samples" in session.options.reports:
        from eifbench.report.samples import log_samples

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
        from eifbench.report.tables import comparison_table

        pytest.fail(
            f"REGRESSION of {where} against {comparison.baseline_file}: {comparison.why}\n{comparison_table(record)}",
            pytrace=False,
        )
    if measurement.status == NOT_APPLICABLE:
        pytest.skip(f"n/a: {measurement.reason}")
    if measurement.status == FAIL:
        if comparison is not None and comparison.kind == "known-violation":
            pytest.xfail(f"known violation (also failing in the baseline): {describe(record)}")
        details = f"; {measurement.reason}" if measurement.reason else ""
        pytest.fail(f"{where} violates {describe(record)}{details}", pytrace=False)
    if measurement.status == INCONCLUSIVE:
        pytest.xfail(f"inconclusive, the CI straddles the threshold: {describe(record)}")
