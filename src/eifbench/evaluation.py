"""``eifbench.evaluate``: the desiderata on an in-memory model, the same code path as the suite.

The pytest suite (``eif.check``), ``eifbench run`` and ``evaluate`` all go through
``pipeline.measure_case``: build the task from the bank, compute its runs, measure, record.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from eifbench.cases import CONDITIONS, EifCase, RunOptions
from eifbench.catalog import DEFAULT_ITEMS, KIND_RECIPES
from eifbench.desiderata import DESIDERATA, canonical_names
from eifbench.desiderata.base import Thresholds
from eifbench.errors import InputError
from eifbench.evaluation_result import Evaluation as Evaluation  # re-exported: its home before the split
from eifbench.finetune import FineTune
from eifbench.kinds import ModelKind
from eifbench.tasks.base import Run, TaskSpec
from eifbench.zoo.specs import ModelSpec

if TYPE_CHECKING:
    from torch import nn

    from eifbench.adapters.base import ModelAdapter
    from eifbench.adapters.chat import ChatFormat
    from eifbench.influence import InfluenceResult
    from eifbench.report.results.records import Record


CHAT_TEMPLATES = ("auto", "on", "off")


def as_adapter(
    model: Any,
    tokenizer: Any = None,
    *,
    name: str = "model",
    input_shape: Sequence[int] | None = None,
    chat_template: str = "auto",
    system: str | None = None,
) -> ModelAdapter:
    """Wrap an in-memory model: an adapter as it is, an HF model + tokenizer, or an ``nn.Module`` classifier.

    A causal LM's chat template is resolved as ``load_model`` resolves it: ``auto`` uses the
    tokenizer's template when it defines one, ``on`` requires one, ``off`` reads raw text;
    ``system`` opens every chat-templated sequence (default: none, as the loader's).
    """
    from eifbench.adapters import CausalLMAdapter, ClassifierAdapter, Seq2SeqLMAdapter, TextClassifierAdapter
    from eifbench.adapters.base import ModelAdapter
    from eifbench.zoo.architectures import kind_of

    if chat_template not in CHAT_TEMPLATES:
        raise InputError(f"chat_template={chat_template!r}; choose from {', '.join(CHAT_TEMPLATES)}.")
    if isinstance(model, ModelAdapter) and hasattr(model, "kind"):
        _check_adapter_chat(model, chat_template, system)
        return model
    kind = None
    if tokenizer is not None:  # the model's own class says its kind (a PEFT model's base class does)
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        kind = kind_of(type(base).__name__, str(getattr(getattr(base, "config", None), "model_type", "")))
    if kind != ModelKind.CAUSAL_LM and (chat_template == "on" or system is not None):
        what = "a model without its tokenizer" if kind is None else f"a {kind}"
        raise InputError(f"chat_template='on' and system= apply to causal LMs (with their tokenizer); got {what}.")
    if kind == ModelKind.SEQ2SEQ_LM:
        return Seq2SeqLMAdapter(model, tokenizer, name=name)
    if kind == ModelKind.TEXT_CLASSIFIER:
        return TextClassifierAdapter(model, tokenizer, name=name)
    if kind is not None:
        return CausalLMAdapter(model, tokenizer, name=name, chat=chat_format(tokenizer, chat_template, system))
    from torch import nn

    if isinstance(model, nn.Module):
        return ClassifierAdapter(model, input_shape=input_shape, name=name)
    raise InputError(
        "evaluate() takes a ModelAdapter, an HF language model or text classifier with its tokenizer, or an "
        "nn.Module classifier; "
        f"got {type(model).__name__}."
    )


def chat_format(tokenizer: Any, chat_template: str, system: str | None) -> ChatFormat | None:
    """The chat format of a causal LM's tokenizer under ``chat_template`` (``auto``/``on``/``off``), as the loader's."""
    from eifbench.adapters.chat import ChatFormat

    defined = getattr(tokenizer, "chat_template", None) is not None
    if chat_template == "off" or (chat_template == "auto" and not defined):
        if system is not None:
            raise InputError(
                "system=... needs a chat template, and the model is read without one (its tokenizer defines "
                "none, or chat_template='off'); drop system= or use chat_template='on'."
            )
        return None
    if not defined:
        raise InputError("chat_template='on', but the tokenizer defines no chat template; use chat_template='off'.")
    return ChatFormat(tokenizer, system=system)


def _check_adapter_chat(adapter: ModelAdapter, chat_template: str, system: str | None) -> None:
    has_chat = getattr(adapter, "chat", None) is not None
    if (chat_template == "on" and not has_chat) or (chat_template == "off" and has_chat) or system is not None:
        raise InputError(
            f"{adapter.name} is an adapter {'with' if has_chat else 'without'} a chat template; evaluate() uses it "
            "as it is: pass chat_template='auto' and no system=, or load it with the template you want "
            "(load_model(..., 'chat_template=on') or CausalLMAdapter(..., chat=ChatFormat(tokenizer)))."
        )


def weights_dtype(module: nn.Module) -> str:
    """``float32`` for a float32 model: its first floating parameter's dtype, without ``torch.``."""
    import torch

    dtype = next((p.dtype for p in module.parameters() if p.is_floating_point()), torch.float32)
    return str(dtype).removeprefix("torch.")


def trained_of(module: nn.Module) -> str:
    """What a fine-tune of ``module`` trains: a PEFT model's ``adapter`` or ``all``; ``""`` for a plain model.

    A PEFT model with some parameters frozen trains its adapter only (the engines train what
    requires grad); one whose every parameter requires grad trains them all.
    """
    if not hasattr(module, "peft_config"):
        return ""
    return "all" if all(p.requires_grad for p in module.parameters()) else "adapter"


def live_cases(
    adapter: ModelAdapter,
    conditions: Iterable[str],
    recipe: FineTune | None,
    *,
    engine: str = "exact",
    items: int = DEFAULT_ITEMS,
    dataset: str | None = None,
    name: str = "model",
) -> list[EifCase]:
    """The cases ``evaluate`` measures a wrapped model under, one per condition (recipe, dtype, chat template)."""
    kind = ModelKind(adapter.kind)
    cases = []
    for condition in conditions:
        if condition not in CONDITIONS:
            raise InputError(f"Unknown condition {condition!r}; choose from {', '.join(CONDITIONS)}.")
        reads_chat = getattr(adapter, "chat", None) is not None
        cases.append(
            EifCase(
                spec=ModelSpec(name=name),
                kind=kind,
                condition=condition,
                recipe=recipe or KIND_RECIPES[kind],
                engine=engine if condition == "finetune" else "in-context",
                items=items,
                dataset=dataset,
                chat_template=("on" if reads_chat else "off") if kind.reads_completions else "",
                dtype=weights_dtype(adapter.module),
                trained=trained_of(adapter.module),
            )
        )
    return cases


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
    chat_template: str = "auto",
    system: str | None = None,
) -> Evaluation:
    """Check the desiderata on a model in memory (a training loop's live model, say).

    Args:
        model: a ModelAdapter; an HF causal LM, seq2seq LM or text classifier (with
            ``tokenizer``; a PEFT model of one too); or an ``nn.Module`` mapping images
            (b, *input_shape) to logits (b, classes).
        tokenizer: the model's tokenizer.
        desiderata: names to check (default: all six; those that do not apply give n/a).
        conditions: ``finetune`` and/or ``in-context``.
        recipe: the fine-tune recipe (default: the model kind's default, as ``eifbench run``
            without ``--lr``). A PEFT model trains what requires grad; its records say
            ``trained``: ``adapter`` (some parameters frozen) or ``all``.
        engine: engine of the finetune condition, ``exact`` or ``first-order``.
        seed: the stimulus bank's seed.
        items: items per desideratum (36 gives the documented power; fewer is faster).
        dataset: image data set for classifiers (``fashion-mnist`` or ``mnist``).
        input_shape: a classifier's input shape, if the model cannot be asked.
        stimulus_format: LM stimuli as ``statement`` or ``completion``.
        thresholds: pass/fail thresholds (default ``Thresholds()``).
        name: the model's label in the records.
        paranoid: checksum parameters and buffers around every stimulus.
        chat_template: a causal LM with its tokenizer: ``auto`` (the tokenizer's template
            when it defines one, as ``eifbench run`` and ``load_model`` do), ``on`` or ``off``.
            An adapter is used as it is (``auto`` only).
        system: a system prompt opening every chat-templated sequence (default none, as the loader's).

    Returns:
        An Evaluation: typed records (the same as the suite's) and the influence results.
        The model's weights, buffers, gradients and train/eval modes are as they were.

    Raises:
        InputError: a model it cannot wrap, an unknown desideratum or condition, or a chat
            template setting the model cannot honour.

    """
    from eifbench.influence import influence
    from eifbench.influence.digest import run_digest
    from eifbench.pipeline import measure_case

    start = time.perf_counter()
    adapter = as_adapter(
        model, tokenizer, name=name, input_shape=input_shape, chat_template=chat_template, system=system
    )
    kind = ModelKind(adapter.kind)
    chosen = canonical_names(desiderata) if desiderata is not None else list(DESIDERATA)  # either spelling
    options = RunOptions(
        seed=seed, stimulus_format=stimulus_format, thresholds=thresholds or Thresholds(), paranoid=paranoid
    )
    cache: dict[tuple[str, FineTune, str], InfluenceResult] = {}
    records: list[Record] = []
    results: dict[tuple[str, str], Mapping[str, InfluenceResult]] = {}
    for case in live_cases(adapter, conditions, recipe, engine=engine, items=items, dataset=dataset, name=name):

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
            kind,
            items,
            seed,
            stimulus_format,
            dataset or ("fashion-mnist" if kind == ModelKind.CLASSIFIER else None),
            _shape(adapter),
        )
        for desideratum_name in chosen:
            measured = measure_case(DESIDERATA[desideratum_name], case, spec, compute, options)
            records.append(measured.record)
            results[(desideratum_name, case.condition)] = measured.results
    return Evaluation(tuple(records), results, time.perf_counter() - start)


def _shape(adapter: ModelAdapter) -> tuple[int, ...] | None:
    shape = getattr(adapter, "input_shape", None)
    return tuple(shape) if shape is not None else None
