"""Run options and cases: what a run covers, parsed once from the ``--eif-*`` options.

Torch-free: the pytest plugin builds these during configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from eifbench.catalog import CatalogEntry, entry_for
from eifbench.desiderata.base import Thresholds
from eifbench.finetune import FineTune
from eifbench.kinds import ModelKind
from eifbench.zoo.specs import ModelSpec

CONDITIONS = ("finetune", "in-context")
DEFAULT_MODELS = ("fashion-cnn", "smollm2")
CACHE_MODES = ("on", "off", "refresh")  # of the influence result store (influence/result_store.py)


@dataclass(frozen=True)
class RunOptions:
    """Every ``--eif-*`` option, parsed and validated once."""

    models: tuple[ModelSpec, ...] = ()
    steps: int | None = None
    lrs: tuple[float, ...] = ()
    optimizer: str | None = None
    engine: str = "exact"
    limit: int | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    tolerances: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    stimuli_path: str | None = None
    stimulus_format: str = "statement"
    catalog_dir: Path | None = None
    paranoid: bool = False
    falsify: bool = False
    ray: str | None = None
    reports: dict[str, str] = field(default_factory=dict)  # json / markdown / html / log-samples / save-baseline
    compare: str | None = None
    compare_as: str | None = None
    cache: str = "off"  # the result store: on / off / refresh; `eifbench run` passes on


@dataclass(frozen=True)
class EifCase:
    """One column of the report under one condition: a model, a condition and a recipe."""

    spec: ModelSpec
    kind: ModelKind
    condition: str
    recipe: FineTune
    engine: str
    items: int
    dataset: str | None
    sweep: bool = False
    chat_template: str = ""  # language models: "on" / "off", resolved before loading ("" for other kinds)
    dtype: str = ""  # the weights' dtype, known before loading ("" when it is not)
    trained: str = ""  # a PEFT model: "adapter" (only the adapter trains) or "all"; "" for a plain model

    @property
    def model(self) -> str:
        """The model's label: its spec with the args that choose its weights (``ModelSpec.label``)."""
        return self.spec.label

    @property
    def id(self) -> str:
        """The pytest id, e.g. ``smollm2-in-context`` or ``smollm2-finetune-lr0.001``."""
        suffix = f"-lr{self.recipe.lr:g}" if self.sweep and self.condition == "finetune" else ""
        return f"{self.model}-{self.condition}{suffix}"

    @property
    def column(self) -> str:
        """The report column: the model, plus the lr when sweeping."""
        return f"{self.model} (lr {self.recipe.lr:g})" if self.sweep else self.model


def cases_of(options: RunOptions, catalog: dict[str, CatalogEntry], kinds: dict[ModelSpec, ModelKind]) -> list[EifCase]:
    """Every (model, condition, recipe) the run covers, in report order."""
    from eifbench.zoo import chat_template_of, spec_dtype, spec_trained

    cases = []
    for spec in options.models:
        kind = kinds[spec]
        chat_template = chat_template_of(spec, kind)
        trained = spec_trained(spec)
        entry = entry_for(spec, kind, catalog)
        base = entry.recipe
        recipe = FineTune(
            steps=options.steps or base.steps,
            lr=base.lr,
            optimizer=options.optimizer or base.optimizer,
            trainable=base.trainable,
        )
        lrs = options.lrs or (recipe.lr,)
        items = min(entry.items, options.limit) if options.limit else entry.items
        for condition in CONDITIONS:
            for lr in lrs if condition == "finetune" else lrs[:1]:
                cases.append(
                    EifCase(
                        spec=spec,
                        kind=kind,
                        condition=condition,
                        recipe=FineTune(recipe.steps, lr, recipe.optimizer, recipe.trainable),
                        engine=options.engine if condition == "finetune" else "in-context",
                        items=items,
                        dataset=entry.dataset,
                        sweep=len(lrs) > 1,
                        chat_template=chat_template,
                        dtype=spec_dtype(spec),
                        trained=trained,
                    )
                )
    return cases
