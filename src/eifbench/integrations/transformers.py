"""``EifCallback``: the desiderata during a Hugging Face ``Trainer`` run.

At ``on_evaluate`` (and/or ``on_save``) the callback runs ``eifbench.evaluate`` on the
live model, logs ``eif/<desideratum>/<condition>`` through the trainer (so every
``report_to`` backend records them: TensorBoard, W&B, MLflow), and with a baseline and
``stop_on_regression`` stops training when a desideratum regresses. The model comes back
bit-exact: weights, ``.grad``, train/eval modes and the RNG states are restored.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from eifbench.cases import CONDITIONS
from eifbench.finetune import FineTune


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

    Args:
        desiderata: names to check (default all).
        conditions: ``finetune`` and/or ``in-context``.
        recipe: the probing fine-tune recipe (default: the model kind's).
        items: items per desideratum (fewer is faster; 36 gives the documented power).
        seed: the stimulus bank's seed.
        on: when to run: ``"evaluate"``, ``"save"`` or both.
        baseline: a baseline JSON to gate against (its model is compared as this run's).
        stop_on_regression: stop training when a desideratum regresses against the baseline.
        trainer: the Trainer; with it, metrics go through ``trainer.log`` to every
            ``report_to`` backend (``EifCallback.attach(trainer, ...)`` sets it).

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
        stop_on_regression: bool = False,
        trainer: Any = None,
    ) -> None:
        self.desiderata = None if desiderata is None else tuple(desiderata)
        self.conditions = tuple(conditions)
        self.recipe = recipe
        self.items = items
        self.seed = seed
        self.on = frozenset(on)
        self.baseline_path = baseline
        self.stop_on_regression = stop_on_regression
        self.trainer = trainer
        self.history: list[dict[str, Any]] = []
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

    def _run(self, state: TrainerState, control: TrainerControl, kwargs: dict[str, Any]) -> None:
        from eifbench.evaluation import evaluate

        model = kwargs["model"]
        tokenizer = kwargs.get("processing_class") or kwargs.get("tokenizer")
        states = RandomStates()
        try:
            result = evaluate(
                model,
                tokenizer=tokenizer,
                desiderata=self.desiderata,
                conditions=self.conditions,
                recipe=self.recipe,
                items=self.items,
                seed=self.seed,
                name=getattr(model, "name_or_path", None) or "model",
            )
        finally:
            states.restore()
        metrics = result.metrics()
        metrics.update(self._gate(result.records))
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
        if self.stop_on_regression and metrics.get("eif/regressions", 0) > 0:
            control.should_training_stop = True

    def _gate(self, records: Any) -> dict[str, float]:
        if self.baseline_path is None:
            return {}
        from eifbench.report.baseline import Baseline, compare

        baseline = Baseline.load(self.baseline_path)
        target = baseline.columns[0]
        regressions = 0
        for record in records:
            if record.status.value == "n/a":
                continue
            comparison = compare(baseline.match(target, record), record, {}, baseline.path)
            regressions += comparison.kind == "regression"
        return {"eif/regressions": float(regressions)}
