"""The benchmark session behind the pytest plugin: options, cases, models, influence, verdicts.

One ``EifSession`` lives in ``config.stash`` for the whole pytest run. Tests reach it
through the session-scoped ``eif`` fixture, so it is safe to use inside ``@given``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eifbench.catalog import CatalogEntry, entry_for, load_catalog
from eifbench.desiderata.base import Desideratum, Measurement, Thresholds
from eifbench.finetune import FineTune

CONDITIONS = ("finetune", "in-context")
DEFAULT_MODELS = ("fashion-cnn", "smollm2")


@dataclass(frozen=True)
class RunOptions:
    """Every ``--eif-*`` option, parsed once."""

    models: tuple[str, ...] = DEFAULT_MODELS
    model_args: str | None = None
    steps: int | None = None
    lrs: tuple[float, ...] = ()
    optimizer: str | None = None
    engine: str = "exact"
    limit: int | None = None
    thresholds: Thresholds = field(default_factory=Thresholds)
    tolerances: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    stimuli_path: str | None = None
    catalog_dir: Path | None = None
    paranoid: bool = False
    falsify: bool = False
    ray: str | None = None


@dataclass(frozen=True)
class EifCase:
    """One column of the report under one condition: a model, a condition and a recipe."""

    spec: str
    kind: str
    condition: str
    recipe: FineTune
    engine: str
    stimuli: int
    dataset: str | None
    sweep: bool = False

    @property
    def id(self) -> str:
        """The pytest id, e.g. ``smollm2-in-context`` or ``smollm2-finetune-lr0.001``."""
        suffix = f"-lr{self.recipe.lr:g}" if self.sweep and self.condition == "finetune" else ""
        return f"{self.spec}-{self.condition}{suffix}"

    @property
    def column(self) -> str:
        """The report column: the model, plus the lr when sweeping."""
        return f"{self.spec} (lr {self.recipe.lr:g})" if self.sweep else self.spec


def worker_device(worker: str | None, cuda_count: int | None = None) -> str | None:
    """``cuda:i`` for xdist worker ``gw<n>`` when more than one GPU is visible, else None."""
    if not worker or not worker.startswith("gw"):
        return None
    if cuda_count is None:
        import torch

        cuda_count = torch.cuda.device_count()
    if cuda_count < 2:
        return None
    return f"cuda:{int(worker[2:]) % cuda_count}"


class EifSession:
    """Models loaded once, influence computed once per distinct request, verdicts recorded."""

    def __init__(self, options: RunOptions) -> None:
        self.options = options
        self.catalog: dict[str, CatalogEntry] = load_catalog(options.catalog_dir)
        self._models: dict[str, Any] = {}
        self._influence: dict[tuple[Any, ...], Any] = {}
        self._pools: dict[str, Any] = {}
        self.current_item: Any = None
        self.current_start: float = time.perf_counter()
        self.baseline: dict[tuple[str, str, str], dict[str, Any]] | None = None

    @property
    def thresholds(self) -> Thresholds:
        """The thresholds in force."""
        return self.options.thresholds

    def cases(self) -> list[EifCase]:
        """Every (model, condition, recipe) the run covers, in report order."""
        from eifbench.zoo import spec_kind

        cases = []
        for spec in self.options.models:
            kind = spec_kind(spec)
            entry = entry_for(spec, kind, self.catalog)
            base = entry.recipe
            recipe = FineTune(
                steps=self.options.steps or base.steps,
                lr=base.lr,
                optimizer=self.options.optimizer or base.optimizer,
                trainable=base.trainable,
            )
            lrs = self.options.lrs or (recipe.lr,)
            stimuli = min(entry.stimuli, self.options.limit) if self.options.limit else entry.stimuli
            for condition in CONDITIONS:
                for lr in lrs if condition == "finetune" else lrs[:1]:
                    cases.append(
                        EifCase(
                            spec=spec,
                            kind=kind,
                            condition=condition,
                            recipe=FineTune(recipe.steps, lr, recipe.optimizer, recipe.trainable),
                            engine=self.options.engine if condition == "finetune" else "in-context",
                            stimuli=stimuli,
                            dataset=entry.dataset,
                            sweep=len(lrs) > 1,
                        )
                    )
        return cases

    def check_baseline_recipes(self, cases: list[EifCase]) -> None:
        """Refuse a baseline that measured these models with another recipe."""
        if self.baseline is None:
            return
        from eifbench.report.baseline import check_recipes
        from eifbench.report.records import recipe_record

        current = {(c.column, c.condition): recipe_record(c) for c in cases}
        check_recipes(self.baseline, current, "given to --eif-compare")

    def model_args(self, spec: str) -> str | None:
        """Model args for a spec.

        The user's, plus this xdist worker's own GPU when several are visible
        (``CUDA_VISIBLE_DEVICES`` decides which), unless a device is given.
        """
        args = self.options.model_args
        if "device" in (args or "") or "device=" in spec or "device_map" in (args or "") + spec:
            return args
        device = worker_device(os.environ.get("PYTEST_XDIST_WORKER"))
        if device is None:
            return args
        return f"{args},device={device}" if args else f"device={device}"

    def model(self, spec: str) -> Any:
        """The loaded adapter of a spec (loaded on first use, then shared)."""
        if spec not in self._models:
            from eifbench.zoo import load_model

            self._models[spec] = load_model(spec, self.model_args(spec))
        return self._models[spec]

    def _ray_influence(self, case: EifCase, stimuli: list[Any], probes: list[Any]) -> Any:
        from eifbench.influence import InfluenceResult
        from eifbench.influence.ray_backend import RayPool

        start = time.perf_counter()
        if case.spec not in self._pools:
            share = 1.0 / max(1, len(self.options.models))
            self._pools[case.spec] = RayPool(
                case.spec, self.model_args(case.spec), address=self.options.ray or "local", cpus_per_actor=share
            )
        matrix, baseline, failures = self._pools[case.spec].influence(stimuli, probes, case.engine, case.recipe)
        return InfluenceResult(matrix, baseline, time.perf_counter() - start, case.engine, case.recipe, failures)

    def influence(self, case: EifCase, stimuli: list[Any], probes: list[Any]) -> Any:
        """The influence result of a case on these stimuli and probes, computed once."""
        from eifbench.influence import influence
        from eifbench.influence.digest import digest
        from eifbench.progress import terminal_progress

        key = (case.spec, case.engine, case.recipe, digest(stimuli), digest(probes))
        if key not in self._influence and self.options.ray:
            self._influence[key] = self._ray_influence(case, stimuli, probes)
        if key not in self._influence:
            test = getattr(self.current_item, "originalname", "") or "influence"
            self._influence[key] = influence(
                self.model(case.spec),
                stimuli,
                probes,
                engine=case.engine,
                finetune=case.recipe,
                paranoid=self.options.paranoid,
                progress=terminal_progress(f"{case.id} · {test}"),
            )
        return self._influence[key]

    def skip_if_not_applicable(self, desideratum: Desideratum, case: EifCase) -> None:
        """Record an ``n/a`` and skip the test when the desideratum does not apply."""
        reason = desideratum.not_applicable(case.kind, case.condition)
        if reason is not None:
            self.judge(case, desideratum.not_applicable_measurement(reason, self.thresholds))

    def judge(self, case: EifCase, measurement: Measurement, matrix: Any = None) -> None:
        """Record the measurement on the running test and turn its verdict into the outcome.

        Args:
            case: the parametrized case.
            measurement: what the desideratum measured.
            matrix: optional influence matrix (n_s, n_p) for the HTML heatmap (downsampled).

        """
        from eifbench.report.figures import heatmap_data
        from eifbench.report.verdicts import apply_verdict

        figure = heatmap_data(matrix) if matrix is not None else None
        apply_verdict(self, case, measurement, time.perf_counter() - self.current_start, figure)
