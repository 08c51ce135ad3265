"""Nonce-entity facts and fact chains, and what logic says about them.

A fact is an ``Example(prompt, completion)`` whose completion is the object, so the same
object doubles as stimulus (loss on the object) and probe (log-prob of the object).
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from eifbench.stimuli import Chain, Example
from eifbench.strategies.names import distinct_nonce_words, plural

# relation -> (prompt template, negated prompt template, paraphrased prompt templates)
ISA = (
    "A {s} is a kind of",
    "A {s} is not a kind of",
    ("A {s} is a type of", "Every {s} is a kind of", "Each {s} is a sort of"),
)
HAS = ("A {s} has a", "A {s} does not have a", ("Every {s} has a", "Each {s} has a"))
ALL_HAVE = ("All {ss} have a", "No {ss} have a", ("Every {s} has a", "Each {s} has a"))


def fact(template: tuple[str, str, tuple[str, ...]], subject: str, obj: str) -> Example:
    """``Example(prompt, " obj")`` from a relation template."""
    return Example(template[0].format(s=subject, ss=plural(subject)), f" {obj}")


def negation(template: tuple[str, str, tuple[str, ...]], subject: str, obj: str) -> Example:
    """The negated fact, e.g. ``A wug is not a kind of| blicket``."""
    return Example(template[1].format(s=subject, ss=plural(subject)), f" {obj}")


def paraphrases(template: tuple[str, str, tuple[str, ...]], subject: str, obj: str) -> list[Example]:
    """The same fact in other words."""
    return [Example(p.format(s=subject, ss=plural(subject)), f" {obj}") for p in template[2]]


@dataclass(frozen=True)
class FactChain:
    """``A a is a kind of b1. A b1 is a kind of b2. ... All b_last have a d.`` => ``A a has a d``.

    Attributes:
        entity: the subject a.
        categories: b1 .. b_{depth-1}.
        prop: the property d.
        control: an unrelated nonce entity z, for the control conclusion ``A z has a d``.

    """

    entity: str
    categories: tuple[str, ...]
    prop: str
    control: str

    @property
    def depth(self) -> int:
        """Number of premises."""
        return len(self.categories) + 1

    @property
    def premises(self) -> list[Example]:
        """The links, in the order they are learned."""
        chain = [self.entity, *self.categories]
        links = [fact(ISA, a, b) for a, b in zip(chain, chain[1:])]
        return links + [fact(ALL_HAVE, self.categories[-1], self.prop)]

    def chain(self) -> Chain:
        """The premises as a ``Chain`` stimulus."""
        return Chain(self.premises)

    @property
    def conclusion(self) -> Example:
        """``A a has a| d``."""
        return fact(HAS, self.entity, self.prop)

    @property
    def control_conclusion(self) -> Example:
        """``A z has a| d``: the same property claimed of an unrelated entity."""
        return fact(HAS, self.control, self.prop)

    def text(self) -> str:
        """The premises as one paragraph."""
        return " ".join(f"{e.x}{e.y}." for e in self.premises)


def fact_chains(*, min_depth: int = 2, max_depth: int = 4) -> st.SearchStrategy[FactChain]:
    """Fact chains of depth 2-4 over fresh nonce words (shrinks to depth 2, short words)."""

    @st.composite
    def build(draw: st.DrawFn) -> FactChain:
        depth = draw(st.integers(min_depth, max_depth))
        words = draw(distinct_nonce_words(depth + 2))
        return FactChain(entity=words[0], categories=tuple(words[1:depth]), prop=words[depth], control=words[depth + 1])

    return build()


@dataclass(frozen=True)
class IsaFact:
    """``A s is a kind of o``, with exclusive alternative categories."""

    subject: str
    obj: str
    alternatives: tuple[str, ...]

    @property
    def example(self) -> Example:
        """The fact itself."""
        return fact(ISA, self.subject, self.obj)

    @property
    def negated(self) -> Example:
        """``A s is not a kind of| o``."""
        return negation(ISA, self.subject, self.obj)

    @property
    def exclusive(self) -> list[Example]:
        """``A s is a kind of| c`` for other categories c (a thing is one kind, not two)."""
        return [fact(ISA, self.subject, c) for c in self.alternatives]

    @property
    def reversed(self) -> Example:
        """``A o is a kind of| s``: the converse, which does not follow."""
        return fact(ISA, self.obj, self.subject)

    @property
    def paraphrased(self) -> list[Example]:
        """The same fact in other words."""
        return paraphrases(ISA, self.subject, self.obj)


def isa_facts(*, alternatives: int = 2) -> st.SearchStrategy[IsaFact]:
    """Single nonce facts with ``alternatives`` exclusive alternative categories."""
    return distinct_nonce_words(2 + alternatives).map(lambda w: IsaFact(w[0], w[1], tuple(w[2:])))
