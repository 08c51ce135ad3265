"""``eifbench.evaluate``: the desiderata on an in-memory model, the same code path as the suite.

The pytest suite (``eif.check``), ``eifbench run`` and ``evaluate`` all go through
``measure``: build the task from the bank, compute its runs, measure, record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eifbench.cases import CONDITIONS, EifCase, RunOptions
from eifbench.catalog import DEFAULT_ITEMS, KIND_RECIPES
from eifbench.desiderata import DESIDERATA
from eifbench.desiderata.base import Desideratum, Measurement, Thresholds
from eifbench.errors import InputError
from eifbench.finetune import FineTune
from eifbench.kinds import ModelKind
from eifbench.tasks.base import Run, Task, TaskNotApplicable, TaskSpec
from eifbench.zoo.specs import ModelSpec

if TYPE_CHECKING:
    from torch import nn

    from eifbench.adapters.base import ModelAdapter
    from eifbench.influence import InfluenceResult
    from eifbench.report.records import Record

Compute = Callable[[Run], "InfluenceResult"]


def measure(
    desideratum: Desideratum[Any], spec: TaskSpec, compute: Compute, thresholds: Thresholds
) -> tuple[Measurement, Task[Any] | None, dict[str, InfluenceResult]]:
    """Build a desideratum's task, compute its runs with ``compute``, measure it.

    A task that does not apply (a stimuli file without the columns it needs) gives an n/a
    measurement with the reason, and no task.
    """
    try:
        task = desideratum.build(spec)
    except TaskNotApplicable as error:
        return desideratum.not_applicable_measurement(str(error), thresholds), None, {}
    results = {name: compute(run) for name, run in task.runs.items()}
    return desideratum.measure(task, results, thresholds), task, results


@dataclass(frozen=True)
class Evaluation:
    """What ``evaluate`` found: one record per desideratum x condition, and the influence behind it.

    Attributes:
        records: typed records (the same fields as a JSON report's results).
        results: (desideratum, condition) -> {run name: InfluenceResult}.
        seconds: wall time.

    """

    records: tuple[Record, ...]
    results: Mapping[tuple[str, str], Mapping[str, InfluenceResult]] = field(default_factory=dict)
    seconds: float = 0.0

    def table(self, tablefmt: str = "simple_grid") -> str:
        """The verdict table, as the terminal report prints it."""
        from eifbench.report.tables import summary_table

        return summary_table(self.records, tablefmt=tablefmt)

    def metrics(self, prefix: str = "eif") -> dict[str, float]:
        """Flat scalars for a training log: ``eif/<desideratum>/<condition>`` and its ``/pass``.

        The value, plus 1.0 / 0.0 / 0.5 (inconclusive) per record; n/a and unmeasured are left out.
        """
        out: dict[str, float] = {}
        for r in self.records:
            if r.value is None:
                continue
            key = f"{prefix}/{r.desideratum.replace(' ', '_')}/{r.condition}"
            out[key] = float(r.value)
            out[f"{key}/pass"] = {"pass": 1.0, "fail": 0.0}.get(r.status.value, 0.5)
        return out


def as_adapter(
    model: Any, tokenizer: Any = None, *, name: str = "model", input_shape: Sequence[int] | None = None
) -> ModelAdapter:
    """Wrap an in-memory model: an adapter as it is, an HF model + tokenizer, or an ``nn.Module`` classifier."""
    from eifbench.adapters import CausalLMAdapter, ClassifierAdapter, Seq2SeqLMAdapter, TextClassifierAdapter
    from eifbench.adapters.base import ModelAdapter
    from eifbench.zoo.architectures import kind_of

    if isinstance(model, ModelAdapter) and hasattr(model, "kind"):
        return model
    if tokenizer is not None:  # the model's own class says its kind (a PEFT model's base class does)
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        kind = kind_of(type(base).__name__, str(getattr(getattr(base, "config", None), "model_type", "")))
        if kind == ModelKind.SEQ2SEQ_LM:
            return Seq2SeqLMAdapter(model, tokenizer, name=name)
        if kind == ModelKind.TEXT_CLASSIFIER:
            return TextClassifierAdapter(model, tokenizer, name=name)
        return CausalLMAdapter(model, tokenizer, name=name)
    from torch import nn

    if isinstance(model, nn.Module):
        return ClassifierAdapter(model, input_shape=input_shape, name=name)
    raise InputError(
        "evaluate() takes a ModelAdapter, an HF language model or text classifier with its tokenizer, or an "
        "nn.Module classifier; "
        f"got {type(model).__name__}."
    )


def weights_dtype(module: nn.Module) -> str:
    """``float32`` for a float32 model: its first floating parameter's dtype, without ``torch.``."""
    import torch

    dtype = next((p.dtype for p in module.parameters() if p.is_floating_point()), torch.float32)
    return str(dtype).removeprefix("torch.")


def evaluate(
    model: ModelAdapter | nn.Module,
    *,
    tokenizer: Any = None,
    desiderata: Iterable[str] | None = None,
    conditions: Iterable[str] = CONDITIONS,
    recipe: FineTune | None = None,
    engine: str = "exact",
    seed: int = 0,
    items: int = DEFAULT_ITEMS,
    dataset: str | None = None,
    input_shape: Sequence[int] | None = None,
    stimulus_format: str = "statement",
    thresholds: Thresholds | None = None,
    name: str = "model",
    paranoid: bool = False,
) -> Evaluation:
    """Check the desiderata on a model in memory (a training loop's live model, say).

    Args:
        model: a ModelAdapter; an HF causal LM, seq2seq LM or text classifier (with
            ``tokenizer``; a PEFT model of one too); or an ``nn.Module`` mapping images
            (b, *input_shape) to logits (b, classes). A causal LM passed with its tokenizer
            reads raw text; for a chat template, pass ``eifbench.load_model(...)`` or a
            ``CausalLMAdapter(model, tokenizer, chat=ChatFormat(tokenizer))``.
        tokenizer: the model's tokenizer.
        desiderata: names to check (default: all six; those that do not apply give n/a).
        conditions: ``finetune`` and/or ``in-context``.
        recipe: the fine-tune recipe (default: the model kind's default).
        engine: engine of the finetune condition, ``exact`` or ``first-order``.
        seed: the stimulus bank's seed.
        items: items per desideratum (36 gives the documented power; fewer is faster).
        dataset: image data set for classifiers (``fashion-mnist`` or ``mnist``).
        input_shape: a classifier's input shape, if the model cannot be asked.
        stimulus_format: LM stimuli as ``statement`` or ``completion``.
        thresholds: pass/fail thresholds (default ``Thresholds()``).
        name: the model's label in the records.
        paranoid: checksum parameters and buffers around every stimulus.

    Returns:
        An Evaluation: typed records (the same as the suite's) and the influence results.
        The model's weights, buffers, gradients and train/eval modes are as they were.

    """
    from eifbench.influence import influence
    from eifbench.influence.digest import run_digest
    from eifbench.report.verdicts import build_record

    start = time.perf_counter()
    adapter = as_adapter(model, tokenizer, name=name, input_shape=input_shape)
    kind = ModelKind(adapter.kind)
    chosen = list(desiderata) if desiderata is not None else list(DESIDERATA)
    unknown = sorted(set(chosen) - set(DESIDERATA))
    if unknown:
        raise InputError(f"Unknown desiderata {unknown}; known: {', '.join(DESIDERATA)}.")
    base = recipe or KIND_RECIPES[kind]
    options = RunOptions(
        seed=seed, stimulus_format=stimulus_format, thresholds=thresholds or Thresholds(), paranoid=paranoid
    )
    cache: dict[tuple[str, FineTune, str], InfluenceResult] = {}
    records: list[Record] = []
    results: dict[tuple[str, str], Mapping[str, InfluenceResult]] = {}
    for condition in conditions:
        if condition not in CONDITIONS:
            raise InputError(f"Unknown condition {condition!r}; choose from {', '.join(CONDITIONS)}.")
        case = EifCase(
            spec=ModelSpec(name=name),
            kind=kind,
            condition=condition,
            recipe=base,
            engine=engine if condition == "finetune" else "in-context",
            items=items,
            dataset=dataset,
            chat_template=("on" if getattr(adapter, "chat", None) is not None else "off")
            if kind.reads_completions
            else "",
            dtype=weights_dtype(adapter.module),
        )

        def compute(run: Run, case: EifCase = case) -> InfluenceResult:
            key = (case.engine, case.recipe, run_digest(run))
            if key not in cache:
                cache[key] = influence(
                    adapter,
                    run.stimuli,
                    run.probes,
                    engine=case.engine,
                    finetune=case.recipe,
                    mask=run.mask,
                    paranoid=paranoid,
                )
            return cache[key]

        spec = TaskSpec(
            kind.value,
            items,
            seed,
            stimulus_format,
            dataset or ("fashion-mnist" if kind == ModelKind.CLASSIFIER else None),
            _shape(adapter),
        )
        for desideratum_name in chosen:
            desideratum = DESIDERATA[desideratum_name]
            began = time.perf_counter()
            reason = desideratum.not_applicable(kind, condition)
            run_results: dict[str, InfluenceResult] = {}
            if reason is not None:
                measurement, task = desideratum.not_applicable_measurement(reason, options.thresholds), None
            else:
                measurement, task, run_results = measure(desideratum, spec, compute, options.thresholds)
            records.append(build_record(case, options, measurement, time.perf_counter() - began, task, run_results))
            results[(desideratum_name, condition)] = run_results
    return Evaluation(tuple(records), results, time.perf_counter() - start)


def _shape(adapter: ModelAdapter) -> tuple[int, ...] | None:
    shape = getattr(adapter, "input_shape", None)
    return tuple(shape) if shape is not None else None
