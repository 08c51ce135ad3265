"""The benchmark session behind the pytest plugin: models, tasks, cached influence, verdicts.

One ``EifSession`` lives in ``config.stash`` for the whole pytest run. Tests reach it
through the session-scoped ``eif`` fixture, so it is safe to use inside ``@given``.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from eifbench.cases import EifCase, RunOptions, cases_of
from eifbench.catalog import CatalogEntry, load_catalog
from eifbench.desiderata.base import Desideratum, Measurement, Thresholds
from eifbench.kinds import ModelKind
from eifbench.plugin.stored import StoredResults
from eifbench.plugin.workers import share_cores, worker_device
from eifbench.zoo.specs import ModelSpec

if TYPE_CHECKING:
    from eifbench.adapters.base import ModelAdapter
    from eifbench.influence import InfluenceResult
    from eifbench.pipeline import Measured
    from eifbench.progress import Progress
    from eifbench.report.results.baseline import Baseline
    from eifbench.tasks.base import Run, Task, TaskSpec


class EifSession:
    """Models loaded once, tasks built once, each distinct influence run computed once."""

    def __init__(self, options: RunOptions) -> None:
        from eifbench.zoo import spec_kind

        self.options = options
        self.catalog: dict[str, CatalogEntry] = load_catalog(options.catalog_dir)
        self.kinds: dict[ModelSpec, ModelKind] = {spec: spec_kind(spec) for spec in options.models}
        for spec in options.models:
            if spec.args.device is not None:  # a device this machine lacks is a usage error now, not a traceback later
                from eifbench.zoo.specs import resolve_device

                resolve_device(spec.args)
        self.cases: list[EifCase] = cases_of(options, self.catalog, self.kinds)
        self._models: dict[ModelSpec, ModelAdapter] = {}
        self._influence: dict[tuple[Any, ...], InfluenceResult] = {}
        self._pools: dict[ModelSpec, Any] = {}
        self.current_item: Any = None
        self.current_start: float = time.perf_counter()
        self.baseline: Baseline | None = None
        self.baseline_columns: dict[str, str] = {}
        self._refusals: dict[ModelSpec, str] = {}  # specs that failed to load, with the one-line reason
        self.uncaptured: Callable[[], AbstractContextManager[None]] | None = None  # set by the pytest plugin
        self.stored = StoredResults(options.cache, self._digest_model)  # finished results on disk (--eif-cache)

    @property
    def thresholds(self) -> Thresholds:
        """The thresholds in force."""
        return self.options.thresholds

    def load_baseline(self) -> None:
        """Load ``--eif-compare`` and check model, kind and recipe compatibility (usage errors)."""
        from eifbench.pipeline import recipe_record
        from eifbench.report.results.baseline import Baseline

        if self.options.compare is None:
            return
        baseline = Baseline.load(self.options.compare)
        run = {c.column: c.kind.value for c in self.cases}
        recipes = {(c.column, c.condition): recipe_record(c, self.options) for c in self.cases}
        self.baseline_columns = baseline.prepare(run, recipes, self.options.compare_as)
        self.baseline = baseline

    def spec_for_worker(self, spec: ModelSpec) -> ModelSpec:
        """The spec with this xdist worker's own GPU when several are visible and none is given."""
        if spec.args.device is not None or spec.args.device_map is not None:
            return spec
        device = worker_device(os.environ.get("PYTEST_XDIST_WORKER"))
        return spec if device is None else spec.with_device(device)

    def model(self, spec: ModelSpec) -> ModelAdapter:
        """The loaded adapter of a spec (loaded on first use, then shared).

        Loading runs past pytest's capture, so first-use work (training fashion-cnn,
        converting a GGUF) is visible in a log as it happens, and its time is not charged
        to the cell that happened to load the model first.
        """
        if spec not in self._models:
            from eifbench.zoo import load_model

            if not self._models:  # before the first model: this process's share of the cores
                share_cores()
            began = time.perf_counter()
            with self.uncaptured() if self.uncaptured is not None else contextlib.nullcontext():
                self._models[spec] = load_model(self.spec_for_worker(spec))
            self.current_start += time.perf_counter() - began
        return self._models[spec]

    def task_spec(self, case: EifCase) -> TaskSpec:
        """What the task builders need to know about this case."""
        from eifbench.tasks.base import TaskSpec

        shape = None
        if case.kind == ModelKind.CLASSIFIER:
            shape = getattr(self.model(case.spec), "input_shape", None)
        return TaskSpec(
            kind=case.kind,
            items=case.items,
            seed=self.options.seed,
            stimulus_format=self.options.stimulus_format,
            dataset=case.dataset,
            input_shape=shape,
            stimuli_file=self.options.stimuli_path,
        )

    def influence(self, case: EifCase, run: Run) -> InfluenceResult:
        """The influence result of one run of a task under a case, computed once per session.

        With ``--eif-cache`` on, a result finished by an earlier run (same model weights,
        engine, recipe, stimuli and code) is read from the store instead of recomputed.
        """
        from eifbench.influence.digest import run_digest

        digest = run_digest(run)
        key = (case.spec, case.engine, case.recipe, digest)
        if key not in self._influence:
            stored = self.stored.key(case.spec, case.engine, case.recipe, digest)
            result = self.stored.load(stored)
            if result is None:
                result = self._ray_influence(case, run) if self.options.ray else self._local_influence(case, run)
                self.stored.save(stored, result)
            self._influence[key] = result
        return self._influence[key]

    def _digest_model(self, spec: ModelSpec) -> str | None:
        """The model's fingerprint: where the actors hold it under Ray, else here."""
        from eifbench.influence.result_store import model_fingerprint, replica_fingerprint

        actor = self._pool(spec).actors[0] if self.options.ray and spec not in self._models else None
        if actor is not None and hasattr(actor, "__ray_call__"):  # the actors hold the model: digest it there
            import ray

            fingerprint: str | None = ray.get(actor.__ray_call__.remote(replica_fingerprint))
            return fingerprint
        return model_fingerprint(self.model(spec))  # serial runs, and a Ray without __ray_call__ (< 2.x)

    def _local_influence(self, case: EifCase, run: Run) -> InfluenceResult:
        from eifbench.influence import influence

        test = getattr(self.current_item, "originalname", "") or "influence"
        return influence(
            self.model(case.spec),
            run.stimuli,
            run.probes,
            engine=case.engine,
            finetune=case.recipe,
            mask=run.mask,
            paranoid=self.options.paranoid,
            progress=self.progress(f"{case.id} · {test}"),
        )

    def _pool(self, spec: ModelSpec) -> Any:
        from eifbench.influence.ray_backend import RayPool

        if spec not in self._pools:
            share = 1.0 / max(1, len(self.options.models))
            self._pools[spec] = RayPool(
                self.spec_for_worker(spec), address=self.options.ray or "local", cpus_per_actor=share
            )
        return self._pools[spec]

    def _ray_influence(self, case: EifCase, run: Run) -> InfluenceResult:
        test = getattr(self.current_item, "originalname", "") or "influence"
        result: InfluenceResult = self._pool(case.spec).influence(
            run.stimuli,
            run.probes,
            case.engine,
            case.recipe,
            mask=run.mask,
            paranoid=self.options.paranoid,
            progress=self.progress(f"{case.id} · {test}"),
        )
        return result

    def progress(self, label: str) -> Progress | None:
        """The progress callback of a long run, written past pytest's output capture when run under pytest.

        pytest captures file descriptor 2 while a test runs, so a heartbeat written there
        would show only after the test, or never; the plugin sets ``uncaptured`` to its
        capture manager's ``global_and_fixture_disabled`` (what live logging uses).
        """
        from eifbench.progress import progress_for

        shown = progress_for(label)
        uncaptured = self.uncaptured
        if shown is None or uncaptured is None:
            return shown

        def visible(done: int, total: int) -> None:
            with uncaptured():
                shown(done, total)

        return visible

    def check(self, desideratum: Desideratum[Any], case: EifCase) -> None:
        """Measure a desideratum on a case and turn the verdict into the test's outcome.

        A user's mistake found on the way (a model that cannot load, a probe its head cannot
        read, a baseline on other stimuli) ends the run as a usage error: one line, exit 4.
        """
        from eifbench.errors import EifError, RestoreError

        if case.spec in self._refusals:  # the model failed to load in an earlier test: say so again, at once
            self._refuse(self._refusals[case.spec])
        try:
            self._check(desideratum, case)
            return
        except RestoreError:  # a bug, not a user's mistake: keep the traceback
            raise
        except EifError as error:
            message = f"{case.model}: {error}"
        if case.spec not in self._models:
            self._refusals[case.spec] = message
        self._refuse(message)  # outside the except: the one line, without the chained traceback

    def _refuse(self, message: str) -> None:
        """Fail the running test with one line, mark it a usage error, and stop the run."""
        import pytest

        from eifbench.report.results.records import USAGE_ERROR_KEY

        item = self.current_item
        if item is not None:
            item.user_properties.append((USAGE_ERROR_KEY, message))
            item.session.shouldstop = f"eifbench: {message}"
        pytest.fail(f"eifbench: {message}", pytrace=False)

    def _check(self, desideratum: Desideratum[Any], case: EifCase) -> None:
        from eifbench.pipeline import measure_case

        measured = measure_case(
            desideratum,
            case,
            self.task_spec(case),
            lambda run: self.influence(case, run),
            self.options,
            nodeid=self.current_item.nodeid if self.current_item is not None else "",
            elapsed=lambda: time.perf_counter() - self.current_start,
        )
        self.settle(case, measured)

    def judge(
        self,
        case: EifCase,
        measurement: Measurement,
        *,
        task: Task[Any] | None = None,
        results: Mapping[str, InfluenceResult] | None = None,
    ) -> None:
        """Record a measurement made by the test itself and turn its verdict into the outcome."""
        from eifbench.pipeline import Measured, build_record

        nodeid = self.current_item.nodeid if self.current_item is not None else ""
        seconds = time.perf_counter() - self.current_start
        record = build_record(case, self.options, measurement, seconds, task, results, nodeid)
        self.settle(case, Measured(record, task, results or {}))

    def settle(self, case: EifCase, measured: Measured) -> None:
        """A measured case's record on the running test (gated), and its verdict as the test's outcome."""
        from eifbench.plugin.outcomes import apply_verdict, gate
        from eifbench.report.results.records import RECORD_KEY

        item = self.current_item
        if item is not None and any(key == RECORD_KEY for key, _ in item.user_properties):
            self._refuse(  # the report keeps one record per test: a second would be lost without a word
                f"{item.nodeid} judged a second desideratum; a test records one (eif.check once per test)."
            )
        record = gate(measured.record, self.baseline, self.baseline_columns, self.options.tolerances)
        apply_verdict(case, record, measured, item, self.options.reports.get("log-samples"))

    def close(self) -> None:
        """Stop Ray pools (end of session)."""
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
