"""``EifCallback``: the desiderata during a Hugging Face ``Trainer`` run.

At ``on_evaluate`` (and/or ``on_save``) the callback runs ``eifbench.evaluate`` on the
live model, logs ``eif/<desideratum>/<condition>`` through the trainer (so every
``report_to`` backend records them: TensorBoard, W&B, MLflow), and with a baseline saved
by ``eifbench run --save-baseline`` and ``stop_on_regression`` stops training when a
desideratum regresses: the same checks (``Baseline.prepare``) and comparison as the
suite's gate and ``eifbench compare``. The model comes back
bit-exact: weights, ``.grad``, train/eval modes and the RNG states are restored.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from eifbench.cases import CONDITIONS, RunOptions
from eifbench.errors import BaselineError
from eifbench.finetune import FineTune

if TYPE_CHECKING:
    from eifbench.report.results.baseline import Baseline
    from eifbench.report.results.records import Record


class RandomStates:
    """Python, numpy and torch (CPU and CUDA) RNG states, saved and put back."""

    def __init__(self) -> None:
        self.python = random.getstate()
        self.numpy = np.random.get_state()
        self.torch = torch.random.get_rng_state()
        self.cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None

    def restore(self) -> None:
        """Put every state back."""
        random.setstate(self.python)
        np.random.set_state(self.numpy)
        torch.random.set_rng_state(self.torch)
        if self.cuda is not None:
            torch.cuda.set_rng_state_all(self.cuda)


class EifCallback(TrainerCallback):
    """Run the desiderata on the live model during training.

    Each run logs ``eif/<desideratum>/<condition>`` (the record's value) and
    ``eif/<desideratum>/<condition>/pass`` (1.0 pass, 0.0 fail, 0.5 inconclusive); a cell
    with nothing measured is left out, and a warning says once which cells and why. With a
    baseline it also logs ``eif/regressions``: the cells worse than the baseline beyond
    tolerance (as ``eifbench compare`` judges them), plus the cells the baseline measured and
    this run did not.

    Args:
        desiderata: names to check (default all).
        conditions: ``finetune`` and/or ``in-context``.
        recipe: the probing fine-tune recipe (default: the model kind's). To gate against a
            baseline saved by ``eifbench run --lr X``, pass ``FineTune(lr=X)``.
        items: items per desideratum (fewer is faster; 36 gives the documented power). A
            baseline is only compared on the same stimuli: use its ``--limit``.
        seed: the stimulus bank's seed.
        on: when to run: ``"evaluate"``, ``"save"`` or both.
        baseline: a baseline JSON (``eifbench run --save-baseline``) to gate against. It is
            loaded and checked (model kind, recipe, dtype, chat template, what is trained)
            when training begins; the stimuli are checked at the first run.
        compare_as: the baseline's model (report column) this model is compared with; needed
            only when the baseline holds several.
        tolerances: desideratum -> how far it may move in the bad direction (default: the
            gate's, 0.05 for sparseness, 0.1 otherwise).
        stop_on_regression: stop training when ``eif/regressions`` > 0.
        chat_template: ``auto`` (the tokenizer's chat template when it defines one, as
            ``eifbench run`` does), ``on`` or ``off``.
        system: a system prompt for a chat-templated model (default none, as the loader's).
        trainer: the Trainer; with it, metrics go through ``trainer.log`` to every
            ``report_to`` backend (``EifCallback.attach(trainer, ...)`` sets it).

    Raises:
        BaselineError: (when training begins, or at the first run) a baseline that is
            missing or invalid, or that measured another kind of model, another recipe or
            other stimuli; the message says what to change.

    """

    def __init__(
        self,
        *,
        desiderata: Iterable[str] | None = None,
        conditions: Iterable[str] = CONDITIONS,
        recipe: FineTune | None = None,
        items: int = 12,
        seed: int = 0,
        on: Iterable[str] = ("evaluate",),
        baseline: str | None = None,
        compare_as: str | None = None,
        tolerances: Mapping[str, float] | None = None,
        stop_on_regression: bool = False,
        chat_template: str = "auto",
        system: str | None = None,
        trainer: Any = None,
    ) -> None:
        from eifbench.desiderata import DESIDERATA, canonical_name, canonical_names
        from eifbench.report.results.baseline import check_tolerances

        self.desiderata = None if desiderata is None else tuple(canonical_names(desiderata))
        self.conditions = tuple(conditions)
        self.recipe = recipe
        self.items = items
        self.seed = seed
        self.on = frozenset(on)
        self.baseline_path = baseline
        self.compare_as = compare_as
        given = {canonical_name(name): value for name, value in (tolerances or {}).items()}
        self.tolerances = check_tolerances(given, list(DESIDERATA))
        self.stop_on_regression = stop_on_regression
        self.chat_template = chat_template
        self.system = system
        self.trainer = trainer
        self.history: list[dict[str, Any]] = []
        self.regressions: list[str] = []  # the last run's, one line each
        self._baseline: Baseline | None = None
        self._reported: set[str] = set()
        self._warned = False
        unknown = self.on - {"evaluate", "save"}
        if unknown:
            raise ValueError(f"EifCallback(on=...) takes 'evaluate' and/or 'save'; got {sorted(unknown)}.")
        if stop_on_regression and baseline is None:
            raise ValueError("EifCallback(stop_on_regression=True) needs baseline=<a baseline JSON>.")

    @classmethod
    def attach(cls, trainer: Any, **options: Any) -> EifCallback:
        """Create the callback for ``trainer`` and register it."""
        callback = cls(trainer=trainer, **options)
        trainer.add_callback(callback)
        return callback

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        """Load the baseline and check it gates this model (kind, recipe, dtype, chat template) before any step."""
        if self.baseline_path is not None and kwargs.get("model") is not None:
            from eifbench.evaluation import as_adapter, live_cases
            from eifbench.pipeline import recipe_record

            model = kwargs["model"]
            name = _name(model)
            adapter = as_adapter(
                model, _tokenizer(kwargs), name=name, chat_template=self.chat_template, system=self.system
            )
            cases = live_cases(adapter, self.conditions, self.recipe, items=self.items, name=name)
            recipes = {(case.column, case.condition): recipe_record(case, RunOptions()) for case in cases}
            self._prepare({name: adapter.kind.value}, recipes)
        return control

    def on_evaluate(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        """Run the desiderata after the trainer's own evaluation."""
        if "evaluate" in self.on:
            self._run(state, control, kwargs)
        return control

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        """Run the desiderata at each checkpoint."""
        if "save" in self.on:
            self._run(state, control, kwargs)
        return control

    def gate(self, records: Sequence[Record]) -> list[str]:
        """Compare a run's records with the baseline: one line per regression (none without a baseline).

        A regression is a cell that newly fails, lost its value, or moved in the bad direction
        beyond tolerance, or a cell the baseline measured that ``records`` lack.

        Raises:
            BaselineError: the baseline cannot gate these records (kind, recipe, stimuli).

        """
        if self.baseline_path is None:
            return []
        mapping = self._prepare(
            {r.column: r.kind for r in records}, {(r.column, r.condition): r.recipe for r in records}
        )
        assert self._baseline is not None  # _prepare loaded it
        cells = self._baseline.gate(mapping, records, self.tolerances)
        return [
            f"{cell.desideratum} ({cell.condition}): {cell.comparison.why}"
            for cell in cells
            if cell.comparison.kind == "regression"
        ]

    def _prepare(self, run: dict[str, str], recipes: Mapping[tuple[str, str], dict[str, Any]]) -> dict[str, str]:
        from eifbench.report.results.baseline import Baseline

        assert self.baseline_path is not None
        if self._baseline is None:
            self._baseline = Baseline.load(self.baseline_path)
        columns = self._baseline.columns
        compare_as = self.compare_as
        if compare_as is None and len(columns) == 1:
            compare_as = columns[0]
        elif compare_as is not None and compare_as not in columns:
            raise BaselineError(
                f"EifCallback(compare_as={compare_as!r}): the baseline {self.baseline_path} has no model of that "
                f"name; it has {columns}."
            )
        if compare_as is None and not set(run) <= set(columns):
            raise BaselineError(
                f"The baseline {self.baseline_path} holds several models {columns}; pass "
                "EifCallback(compare_as=<the one>) to name the model this run is gated against."
            )
        self._baseline.resolve(run, compare_as)  # another model or kind: its message stands as it is
        try:
            return self._baseline.prepare(run, recipes, compare_as)
        except BaselineError as error:  # another recipe: say how the callback takes one
            raise BaselineError(
                f"{error} (EifCallback: the recipe is recipe=eifbench.FineTune(...), the model kind's default "
                "unless `eifbench run` had --lr/--steps/--optimizer; the chat template is chat_template=; the "
                "dtype is the training model's.)"
            ) from None

    def _run(self, state: TrainerState, control: TrainerControl, kwargs: dict[str, Any]) -> None:
        from eifbench.evaluation import evaluate

        model = kwargs["model"]
        states = RandomStates()
        try:
            result = evaluate(
                model,
                tokenizer=_tokenizer(kwargs),
                desiderata=self.desiderata,
                conditions=self.conditions,
                recipe=self.recipe,
                items=self.items,
                seed=self.seed,
                name=_name(model),
                chat_template=self.chat_template,
                system=self.system,
            )
        finally:
            states.restore()
        metrics = result.metrics()
        self._report_unmeasured(result.unmeasured())
        if self.baseline_path is not None:
            self.regressions = self.gate(result.records)
            metrics["eif/regressions"] = float(len(self.regressions))
        self.history.append({"step": state.global_step, **metrics})
        if self.trainer is not None:
            self.trainer.log(metrics)
        else:
            state.log_history.append({**metrics, "step": state.global_step})
            if not self._warned:
                warnings.warn(
                    "EifCallback without a trainer writes eif/* metrics to state.log_history only; use "
                    "EifCallback.attach(trainer, ...) so report_to backends record them.",
                    stacklevel=2,
                )
                self._warned = True
        if self.stop_on_regression and self.regressions:
            warnings.warn(
                f"EifCallback: stopping training at step {state.global_step}, "
                f"{len(self.regressions)} regression(s) against {self.baseline_path}: " + "; ".join(self.regressions),
                stacklevel=2,
            )
            control.should_training_stop = True

    def _report_unmeasured(self, unmeasured: Mapping[str, str]) -> None:
        """Warn once per cell that a run measured nothing for it (so its metric is absent), with the reason."""
        new = {key: why for key, why in unmeasured.items() if key not in self._reported}
        if new:
            self._reported.update(new)
            warnings.warn(
                "EifCallback: not measured, so not logged: " + "; ".join(f"{k} ({why})" for k, why in new.items()),
                stacklevel=3,
            )


def _name(model: Any) -> str:
    return str(getattr(model, "name_or_path", None) or "model")


def _tokenizer(kwargs: Mapping[str, Any]) -> Any:
    return kwargs.get("processing_class") or kwargs.get("tokenizer")
