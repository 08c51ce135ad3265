"""The fine-tune recipe: the frozen config every influence result carries."""

from __future__ import annotations

import fnmatch
import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any

from eifbench.errors import InputError

OPTIMIZERS = ("sgd", "adam")
FLOAT32_MAX = 3.4028234663852886e38


@dataclass(frozen=True)
class FineTune:
    """How a stimulus is fine-tuned into the model before the probes are read.

    Attributes:
        steps: optimizer steps per stimulus (k); each link of a Chain gets k steps.
        lr: learning rate (eta).
        optimizer: ``"sgd"`` (plain, no momentum) or ``"adam"`` (fresh state per stimulus).
        trainable: optional glob over parameter names (``"*lm_head*"``); only matching
            parameters are fine-tuned (and snapshotted). ``None`` trains everything.

    """

    steps: int = 1
    lr: float = 1e-2
    optimizer: str = "sgd"
    trainable: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.steps, bool) or not isinstance(self.steps, numbers.Integral) or self.steps < 1:
            raise InputError(f"FineTune.steps must be an int >= 1, got {self.steps!r}.")
        if (
            isinstance(self.lr, bool)
            or not isinstance(self.lr, numbers.Real)
            or not math.isfinite(self.lr)
            or self.lr < 0
        ):
            raise InputError(f"FineTune.lr must be a finite number >= 0, got {self.lr!r}.")
        if self.lr > FLOAT32_MAX:  # the update is computed in float32: such an lr cannot even be represented
            raise InputError(
                f"FineTune.lr={self.lr!r} is beyond float32's range (3.4e38); use a usable lr such as 1e-3."
            )
        if self.optimizer not in OPTIMIZERS:
            raise InputError(f"FineTune.optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}.")
        if self.trainable is not None and (not isinstance(self.trainable, str) or not self.trainable):
            raise InputError(
                f"FineTune.trainable is a glob over parameter names (e.g. '*lm_head*'); got {self.trainable!r}."
            )
        # plain Python numbers in the frozen record (a numpy int64 would not serialize)
        object.__setattr__(self, "steps", int(self.steps))
        object.__setattr__(self, "lr", float(self.lr))

    def selects(self, parameter_name: str) -> bool:
        """Whether the parameter of this name is fine-tuned under this recipe."""
        return self.trainable is None or fnmatch.fnmatchcase(parameter_name, self.trainable)

    def as_record(self) -> dict[str, Any]:
        """A JSON-ready dict of the recipe."""
        return asdict(self)

    def label(self) -> str:
        """A short human label, e.g. ``sgd lr=0.01 k=1``."""
        trainable = f" trainable={self.trainable}" if self.trainable else ""
        return f"{self.optimizer} lr={self.lr:g} k={self.steps}{trainable}"
