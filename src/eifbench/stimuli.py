"""The stimulus and probe types of the public API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Union

from eifbench.errors import InputError


@dataclass(frozen=True)
class Example:
    """A supervised pair.

    For a classifier, ``x`` is an input tensor in the model's input shape (for example
    ``(1, 28, 28)``) and ``y`` an int label. For a causal LM, ``x`` is the prompt and ``y``
    the completion; the loss (and the read-out) covers the completion tokens only.
    """

    x: Any
    y: Any


@dataclass(frozen=True)
class Text:
    """A causal-LM stimulus fine-tuned on all of its tokens."""

    text: str


@dataclass(frozen=True)
class Chain:
    """Stimuli fine-tuned in order (k steps each) before the probes are read.

    In context, the texts of the links are all prepended, in order.
    """

    links: tuple[Example | Text, ...]

    def __init__(self, links: Sequence[Example | Text | tuple[Any, Any]]) -> None:
        if isinstance(links, (str, bytes, Example, Text)):
            raise InputError(f"Chain([...]) takes a list of stimuli; got a single {type(links).__name__}.")
        items = tuple(as_single(link) for link in links)
        if not items:
            raise InputError("Chain([...]) needs at least one stimulus; got an empty list.")
        object.__setattr__(self, "links", items)


Stimulus = Union[Example, Text, Chain]  # noqa: UP007 - a runtime alias on Python 3.10


def as_single(item: Any) -> Example | Text:
    """Normalize a user item (``Example``, ``Text``, a pair, or a str) to Example or Text."""
    if isinstance(item, (Example, Text)):
        return item
    if isinstance(item, str):
        return Text(item)
    if isinstance(item, tuple) and len(item) == 2:
        return Example(item[0], item[1])
    if isinstance(item, Chain):
        raise InputError("A Chain cannot be nested inside another Chain; flatten the links.")
    raise InputError(
        f"Cannot use {type(item).__name__} as a stimulus or probe: pass eifbench.Example(x, y), "
        "a pair (x, y), eifbench.Text(str) or eifbench.Chain([...])."
    )


def as_stimulus(item: Any) -> Stimulus:
    """Normalize a stimulus; a Chain stays a Chain."""
    return item if isinstance(item, Chain) else as_single(item)


def links_of(stimulus: Stimulus) -> tuple[Example | Text, ...]:
    """The stimuli a (possibly chained) stimulus fine-tunes on, in order."""
    return stimulus.links if isinstance(stimulus, Chain) else (stimulus,)
