"""One case measured one way, wherever it is asked for: the suite, ``eifbench run`` and ``evaluate``.

``measure_case`` takes a desideratum, a case (model, condition, recipe) and a way to
compute an influence run, and returns the case's ``Record``: n/a with the reason when
the desideratum does not apply, else its task built, its runs computed, measured and
recorded. Nothing here imports pytest: the plugin turns a record into a test outcome
(``plugin.outcomes``), ``evaluate`` collects them, and the falsification fixture
measures its drawn tasks with ``measure_task``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eifbench.desiderata.base import NOT_APPLICABLE, Desideratum, Measurement, Thresholds, no_in_context_learning
from eifbench.report.results.records import Record, finite, package_versions
from eifbench.tasks.base import Run, Task, TaskNotApplicable, TaskSpec

if TYPE_CHECKING:
    from eifbench.cases import EifCase, RunOptions
    from eifbench.influence import InfluenceResult

Compute = Callable[[Run], "InfluenceResult"]


@dataclass(frozen=True)
class Measured:
    """A case measured: its record, and what it was measured on (for sample logs and ``evaluate``).

    Attributes:
        record: the case's record, as every report holds it.
        task: the task it was measured on (None when the desideratum did not apply).
        results: the influence result of each of the task's runs, by run name.

    """

    record: Record
    task: Task[Any] | None = None
    results: Mapping[str, InfluenceResult] = field(default_factory=dict)


def measure_task(
    desideratum: Desideratum[Any], task: Task[Any], compute: Compute, thresholds: Thresholds, condition: str
) -> tuple[Measurement, dict[str, InfluenceResult]]:
    """Compute a task's runs with ``compute`` and measure it.

    In context, a model that learned none of the items from its prompt FAILs
    (``no_in_context_learning``): it is not "could not tell".
    """
    results = {name: compute(run) for name, run in task.runs.items()}
    measurement = desideratum.measure(task, results, thresholds)
    if condition == "in-context":
        measurement = no_in_context_learning(measurement)
    return measurement, results


def measure(
    desideratum: Desideratum[Any],
    spec: TaskSpec,
    compute: Compute,
    thresholds: Thresholds,
    condition: str = "finetune",
) -> tuple[Measurement, Task[Any] | None, dict[str, InfluenceResult]]:
    """Build a desideratum's task, compute its runs with ``compute``, measure it.

    A task that does not apply (a stimuli file without the columns it needs) gives an n/a
    measurement with the reason, and no task.
    """
    try:
        task = desideratum.build(spec)
    except TaskNotApplicable as error:
        return desideratum.not_applicable_measurement(str(error), thresholds), None, {}
    measurement, results = measure_task(desideratum, task, compute, thresholds, condition)
    return measurement, task, results


def measure_case(
    desideratum: Desideratum[Any],
    case: EifCase,
    spec: TaskSpec,
    compute: Compute,
    options: RunOptions,
    *,
    nodeid: str = "",
    elapsed: Callable[[], float] | None = None,
) -> Measured:
    """A desideratum on one case, as a record: n/a with the reason, or measured on its task.

    Args:
        desideratum: what to measure.
        case: the model, condition, recipe and engine.
        spec: what the task builder needs (kind, items, seed, data set, stimuli file).
        compute: run -> its influence result (the caller's cache, engine and device).
        options: the run's options (thresholds, stimulus format).
        nodeid: the pytest node id of the test measuring it, if any.
        elapsed: the seconds to charge the case, read when it is recorded (default: since
            this call; the session's clock leaves out a model's first load).

    """
    began = time.perf_counter()
    reason = desideratum.not_applicable(case.kind, case.condition)
    task: Task[Any] | None = None
    results: dict[str, InfluenceResult] = {}
    if reason is not None:
        measurement = desideratum.not_applicable_measurement(reason, options.thresholds)
    else:
        measurement, task, results = measure(desideratum, spec, compute, options.thresholds, case.condition)
    seconds = elapsed() if elapsed is not None else time.perf_counter() - began
    record = build_record(case, options, measurement, seconds, task, results, nodeid)
    return Measured(record, task, results)


def recipe_record(case: EifCase, options: RunOptions) -> dict[str, Any]:
    """Everything a baseline must share with a run besides the stimuli.

    In context there is no fine-tune, only the engine; language models add the stimulus
    format (statement or completion loss) and whether a chat template was applied. The
    weights' dtype is recorded too: it sets the float-noise floor below which an influence
    is not measured, so a float32 run is not gated against a float64 baseline. A PEFT
    model's fine-tune records what it trained (``trained``: ``adapter`` or ``all``; a plain
    model trains all its weights, and ``report.results.baseline`` reads a missing key so).
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
    from eifbench.report.explanation.explain import figure_of, worst_items

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
