"""What the report reads to explain a verdict: a task, its influence results, and words for them.

``Evidence`` wraps one measured task (its runs, layout and item labels) with the
influence results of one model under one condition, and turns cells into phrases: the
text of a stimulus or probe, an image's thumbnail, a change in nats. Quoted statements
are set in curly quotes, which the HTML renders in italics.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from eifbench.report.rendering.thumbnails import is_image, thumbnail
from eifbench.stimuli import Chain, Example, Text

if TYPE_CHECKING:
    from eifbench.influence import InfluenceResult
    from eifbench.tasks.base import Task


def quote(text: str) -> str:
    """A statement set in curly quotes."""
    return f"\u201c{text}\u201d"


def nats(value: float) -> str:
    """A change in nats, signed: ``+3.20``, ``-0.05``, ``+0.00012``, ``0``."""
    if not math.isfinite(value):
        return "n/a"
    if value == 0:
        return "0"
    return f"{value:+.2f}" if abs(value) >= 0.01 else f"{value:+.2g}"


def change(target: str, value: float) -> str:
    """``raised X by +3.20 nats`` / ``lowered X by -0.50 nats`` / ``left X unchanged``."""
    if not math.isfinite(value):
        return f"did not read {target}"
    if value == 0:
        return f"left {target} unchanged"
    return f"{'raised' if value > 0 else 'lowered'} {target} by {nats(value)} nats"


@dataclass(frozen=True)
class Explained:
    """One item in words, with the raw cells behind the words and, for images, thumbnails.

    Attributes:
        text: the sentence.
        cells: the influences the sentence quotes, in nats, by role.
        images: thumbnails (``report.thumbnails.thumbnail``) of the images it names.

    """

    text: str
    cells: dict[str, float] = field(default_factory=dict)
    images: tuple[dict[str, Any], ...] = ()

    def as_record(self) -> dict[str, Any]:
        """The JSON-ready part of a record's example."""
        out: dict[str, Any] = {"text": self.text, "cells": {k: float(v) for k, v in self.cells.items()}}
        if self.images:
            out["images"] = list(self.images)
        return out


@dataclass(frozen=True, eq=False)
class Evidence:
    """A task measured on one model under one condition, read cell by cell.

    Attributes:
        task: the desideratum's task (runs, layout, item labels).
        results: the influence result of each of its runs, by run name.
        condition: ``finetune`` or ``in-context`` (how a stimulus reached the model).

    """

    task: Task[Any]
    results: Mapping[str, InfluenceResult]
    condition: str = "finetune"

    def matrix(self, run: str = "main") -> np.ndarray:
        """The raw influence matrix of a run, float64 (n_stimuli, n_probes), in nats."""
        return np.asarray(self.results[run].matrix.numpy(), dtype=np.float64)

    def stimulus(self, run: str, row: int) -> Any:
        """The stimulus of a run's row."""
        return self.task.runs[run].stimuli[int(row)]

    def probe(self, run: str, column: int) -> Example:
        """The probe of a run's column."""
        return self.task.runs[run].probes[int(column)]

    @property
    def images(self) -> bool:
        """True when the task is about images (its probes are image inputs)."""
        probes = self.task.runs["main"].probes
        return bool(probes) and is_image(probes[0].x)

    def label(self, item: int) -> str:
        """The task's label of an item."""
        labels = self.task.items
        return labels[item] if 0 <= item < len(labels) else f"item {item}"

    def words(self, item: Any) -> str:
        """A stimulus or probe as text: its statement, its prompt and completion, or its class."""
        if isinstance(item, Chain):
            return " ".join(self.words(link) for link in item.links)
        if isinstance(item, Text):
            return item.text
        if isinstance(item, Example) and is_image(item.x):
            return f"an image of class {item.y}"
        if isinstance(item, Example) and isinstance(item.y, int):  # a text classifier's labelled text
            return f"{item.x} (label {item.y})"
        if isinstance(item, Example):
            return f"{item.x}{item.y}"
        return str(item)

    def named(self, item: Any, index: int | None = None) -> str:
        """A stimulus or probe as a phrase: a statement in quotes, or the item's label / class of an image."""
        if isinstance(item, Example) and is_image(item.x):
            return self.label(index) if index is not None else self.words(item)
        return quote(self.words(item))

    def lead(self, what: str) -> str:
        """The sentence's subject: ``training on X`` or, in context, ``X in the prompt``."""
        return f"{what} in the prompt" if self.condition == "in-context" else f"training on {what}"

    def thumb(self, item: Any, role: str, label: str) -> dict[str, Any]:
        """The thumbnail of an image stimulus or probe."""
        return thumbnail(item.x, role, label)
