"""Tasks: the stimuli, probes and layout a desideratum is measured on.

A task is data. It names the influence computations (``Run``) it needs, each a set of
stimuli read on a set of probes (only the masked cells), and a layout (a frozen dataclass
of index arrays, one type per desideratum) that says what each cell means for the metric.
Builders are pure functions of the bank version, the seed and the ``TaskSpec``: the same
spec gives the same task, bit for bit, on every machine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Generic, TypeVar

import numpy as np

from eifbench.bank import BANK_VERSION
from eifbench.errors import InputError
from eifbench.kinds import ModelKind
from eifbench.stimuli import Example, Stimulus, Text

LayoutT = TypeVar("LayoutT")
STIMULUS_FORMATS = ("statement", "completion")


@dataclass(frozen=True)
class TaskSpec:
    """What a builder needs to know about the model and the run.

    Attributes:
        kind: the model kind (a ``ModelKind``; its value, ``"causal-lm"``, is taken too).
        items: how many items (stimuli, pairs, chains) the task measures.
        seed: the bank seed.
        stimulus_format: LM stimuli as ``statement`` (loss on every token, the method's
            default) or ``completion`` (loss on the completion only).
        dataset: image data set name (``fashion-mnist``, ``mnist``) for classifiers.
        input_shape: the classifier's input shape, to resize the packaged images.
        stimuli_file: a user's facts file replacing the bank's LM items.

    """

    kind: ModelKind
    items: int
    seed: int = 0
    stimulus_format: str = "statement"
    dataset: str | None = None
    input_shape: tuple[int, ...] | None = None
    stimuli_file: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ModelKind(self.kind))  # the enum from here on, whatever was given
        if self.stimulus_format not in STIMULUS_FORMATS:
            raise InputError(f"stimulus format {self.stimulus_format!r}: choose one of {', '.join(STIMULUS_FORMATS)}.")
        if self.items < 2:
            raise InputError(f"a task needs at least 2 items to have an interval; got {self.items}.")


class Source(str, Enum):
    """Where a task's stimuli come from; a desideratum keys its builders by (model kind, source).

    - ``bank``: the packaged, versioned stimulus bank (``eifbench.bank``), the default.
    - ``file``: the user's stimuli file (``--eif-stimuli``), for the kinds that read one.
    """

    BANK = "bank"
    FILE = "file"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def of(cls, spec: TaskSpec) -> Source:
        """A spec's source: its stimuli file when it names one and its kind reads files, else the bank."""
        return cls.FILE if spec.stimuli_file and spec.kind.reads_stimuli_file else cls.BANK


class TaskNotApplicable(InputError):
    """A desideratum has no task for this model or input (the record becomes n/a with this reason)."""


def as_stimulus(probe: Example, stimulus_format: str) -> Example | Text:
    """A probe turned into a stimulus: a statement (every token) or the probe itself."""
    if stimulus_format == "statement" and isinstance(probe.x, str):
        return Text(f"{probe.x}{probe.y}.")
    return probe


@dataclass(frozen=True, eq=False)
class Run:
    """One influence computation: every stimulus read on its masked probes.

    Attributes:
        stimuli: n_s stimuli.
        probes: n_p probes.
        mask: bool (n_s, n_p), True where the cell is needed; None for every cell.

    """

    stimuli: tuple[Stimulus, ...]
    probes: tuple[Example, ...]
    mask: np.ndarray | None = None


def one_hot_mask(columns: Sequence[int] | np.ndarray, n_probes: int) -> np.ndarray:
    """A mask whose row r reads only column ``columns[r]``; shape (len(columns), n_probes)."""
    mask = np.zeros((len(columns), n_probes), dtype=bool)
    mask[np.arange(len(columns)), np.asarray(columns, dtype=np.int64)] = True
    return mask


def sensitivity_run(probes: Sequence[Example], columns: Sequence[int] | np.ndarray, stimulus_format: str) -> Run:
    """Each listed probe fine-tuned on (as a stimulus) and read on itself: its self-influence."""
    stimuli = tuple(as_stimulus(probes[j], stimulus_format) for j in columns)
    return Run(stimuli, tuple(probes), one_hot_mask(columns, len(probes)))


FamilyT = TypeVar("FamilyT")
PER_FAMILY = 4  # an item, its paraphrase, two related items: consecutive columns of a family bank


@dataclass(frozen=True)
class FamilyBank(Generic[FamilyT]):
    """The runs a bank's distance, sparseness and noise tasks share, and where everything is in them.

    Attributes:
        families: the items, each with its paraphrase and two related items.
        probes: every probe of the shared runs; family i's are columns ``4i .. 4i + 3``.
        others: per item, the other items it is read on.
        main: each item trained, read on its family, its others, the everyday probes and
            whatever else the bank reads it on (a fact's completion probes).
        sensitivity: the probes whose scale a verdict needs, each trained and read on
            itself (the fact bank's everyday facts; the review bank's relatives and
            generic sentences).
        everyday_columns: the probes every item is read on (everyday facts, generic sentences).
        gibberish_columns: the pure-noise probes.
        sensitivity_columns: the probes the ``sensitivity`` run trains, row by row.

    """

    families: list[FamilyT]
    probes: tuple[Example, ...]
    others: list[list[int]]
    main: Run
    sensitivity: Run
    everyday_columns: np.ndarray
    gibberish_columns: np.ndarray
    sensitivity_columns: np.ndarray

    def column(self, family: int, slot: int) -> int:
        """Column of a family's probe: 0 the item, 1 its paraphrase, 2 and 3 its related items."""
        return PER_FAMILY * family + slot


@dataclass(frozen=True, eq=False)
class Task(Generic[LayoutT]):
    """A desideratum's stimuli, probes and layout.

    Attributes:
        desideratum: its name.
        runs: the influence computations, by name (``main``, ``sensitivity``, ...).
        layout: the desideratum's own layout dataclass.
        items: one human-readable label per measured item (for reports).
        bank: the bank version the task was drawn from (``user`` for a stimuli file).
        details: anything else worth recording (depths, noise kinds, ...).

    """

    desideratum: str
    runs: Mapping[str, Run]
    layout: LayoutT
    items: tuple[str, ...]
    bank: str = BANK_VERSION
    details: Mapping[str, Any] = field(default_factory=dict)
