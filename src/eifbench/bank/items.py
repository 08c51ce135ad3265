"""The bank's language items: fact families, exclusive attributes, premise chains, entailments.

Each function is a pure function of (BANK_VERSION, seed, count). Within one task every
entity, and every object a stimulus states, is used once: items share no word but the
template's, so they are independent draws for the interval.
"""

from __future__ import annotations

from dataclasses import dataclass

from eifbench.bank import BANK_VERSION
from eifbench.bank.draws import Draws
from eifbench.bank.language import (
    ALL_HAVE,
    EXCLUSIVE_RELATIONS,
    FACT_RELATIONS,
    HAS,
    ISA,
    Fact,
    NonceWords,
    Relation,
    noisy_text,
)
from eifbench.bank.lexicon import (
    CATEGORIES,
    COLORS,
    FOODS,
    GIBBERISH_SHAPES,
    HABITATS,
    HYPERNYMS,
    MONTHS,
    PARTS,
    PLANETS,
    SIGNS,
    WEEKDAYS,
    WORLD_FACTS,
)
from eifbench.errors import InputError
from eifbench.stimuli import Example, Text

OBJECTS: dict[str, tuple[str, ...]] = {
    "isa": CATEGORIES,
    "lives": HABITATS,
    "eats": FOODS,
    "has": PARTS,
    "color": COLORS,
    "month": MONTHS,
    "weekday": WEEKDAYS,
    "planet": PLANETS,
    "sign": SIGNS,
}
REAL_WORDS = frozenset(w.lower() for words in (*OBJECTS.values(), *HYPERNYMS) for w in words) | frozenset(
    w.lower() for prompt, completion in WORLD_FACTS for w in (prompt + completion).split()
)


def _draws(seed: int, purpose: str, version: str = BANK_VERSION) -> Draws:
    return Draws("eifbench-bank", version, seed, purpose)


def _check_capacity(count: int, limit: int, what: str) -> None:
    if count > limit:
        raise InputError(
            f"the stimulus bank holds at most {limit} {what} per task (asked for {count}); pass fewer items "
            "(--eif-limit) or your own stimuli file (--eif-stimuli)."
        )


class ObjectPool:
    """Distinct objects per relation, drawn without replacement across the whole task."""

    def __init__(self, draws: Draws) -> None:
        self._left = {name: draws.child(name).shuffled(words) for name, words in OBJECTS.items()}

    def take(self, relation: Relation) -> str:
        """An object of this relation not used before in the task."""
        left = self._left[relation.name]
        if not left:
            raise InputError(f"the bank ran out of distinct {relation.name!r} objects; pass fewer items.")
        return left.pop()


@dataclass(frozen=True)
class FactFamily:
    """A fact and, about the same entity, two other relations it does not state."""

    fact: Fact
    related: tuple[Fact, Fact]


def fact_families(count: int, seed: int) -> list[FactFamily]:
    """``count`` facts over the five fact relations, with distinct entities and objects."""
    _check_capacity(count, 50, "facts")
    draws = _draws(seed, "facts")
    names = NonceWords(draws.child("entities"), set(REAL_WORDS))
    objects = ObjectPool(draws.child("objects"))
    families = []
    for i in range(count):
        k = len(FACT_RELATIONS)
        relation, first, second = (FACT_RELATIONS[(i + j) % k] for j in (0, 1, 2))
        entity = names.next()
        fact = Fact(relation, entity, objects.take(relation))
        related = (Fact(first, entity, objects.take(first)), Fact(second, entity, objects.take(second)))
        families.append(FactFamily(fact, related))
    return families


def noised_statement(fact: Fact, draws: Draws, index: int) -> Text:
    """A noised copy of the fact's statement: a typo (two in three) or its third paraphrase."""
    if index % 3 == 2:
        return Text(f"{fact.paraphrase(2).x}{fact.paraphrase(2).y}.")
    return Text(noisy_text(fact.text(), draws, frozenset({fact.subject, fact.obj})))


def gibberish(count: int, seed: int, version: str = BANK_VERSION) -> list[Example]:
    """Pure-noise statements of nonce words, in several lengths and punctuations.

    ``version`` is the bank version of the part that asks (text classifiers keep theirs).
    """
    draws = _draws(seed, "gibberish", version)
    words = NonceWords(draws.child("words"), set(REAL_WORDS))
    out = []
    for i in range(count):
        length, mark = GIBBERISH_SHAPES[i % len(GIBBERISH_SHAPES)]
        text = words.many(length)
        out.append(Example(" ".join(text[:-1]).capitalize(), f" {text[-1]}{mark}"))
    return out


def nonce_prompts(count: int, seed: int, taken: set[str]) -> list[str]:
    """Prompts of three nonce words ("Plimbo vass torquen") that share no word with any fact.

    Read before a fact's completion, they ask whether training raised the completion word
    after any prompt at all.
    """
    draws = _draws(seed, "nonce-prompts")
    words = NonceWords(draws.child("words"), set(REAL_WORDS) | taken)
    return [" ".join(words.many(3)).capitalize() for _ in range(count)]


@dataclass(frozen=True)
class ExclusiveItem:
    """An exclusive attribute of a named individual, two alternatives, and a control person."""

    fact: Fact
    alternatives: tuple[str, str]
    control: str


def exclusive_items(count: int, seed: int) -> list[ExclusiveItem]:
    """``count`` (person, attribute, value) facts with distinct people and distinct values."""
    capacity = sum(len(OBJECTS[r.name]) for r in EXCLUSIVE_RELATIONS)
    _check_capacity(count, capacity, "exclusive facts")
    draws = _draws(seed, "exclusive")
    names = NonceWords(draws.child("names"), set(REAL_WORDS), capitalized=True)
    objects = ObjectPool(draws.child("values"))
    used = {r.name: 0 for r in EXCLUSIVE_RELATIONS}
    items: list[ExclusiveItem] = []
    turn = 0
    while len(items) < count:
        relation = EXCLUSIVE_RELATIONS[turn % len(EXCLUSIVE_RELATIONS)]
        turn += 1
        if used[relation.name] == len(OBJECTS[relation.name]):
            continue
        used[relation.name] += 1
        value = objects.take(relation)
        others = [v for v in OBJECTS[relation.name] if v != value]
        alternatives = draws.child("alternatives", len(items)).sample(others, 2)
        items.append(
            ExclusiveItem(Fact(relation, names.next(), value), (alternatives[0], alternatives[1]), names.next())
        )
    return items


@dataclass(frozen=True)
class ChainItem:
    """``A e is a kind of c1. [A c1 is a kind of c2.] All c_last have a p.`` => ``A e has a p``.

    ``control`` is an unrelated entity and ``control_property`` a property no premise states.
    """

    entity: str
    categories: tuple[str, ...]
    prop: str
    control: str
    control_property: str

    @property
    def depth(self) -> int:
        """Number of premises."""
        return len(self.categories) + 1

    @property
    def premises(self) -> list[Fact]:
        """The links, in the order they are learned."""
        chain = [self.entity, *self.categories]
        return [Fact(ISA, a, b) for a, b in zip(chain, chain[1:])] + [Fact(ALL_HAVE, self.categories[-1], self.prop)]

    @property
    def conclusion(self) -> Fact:
        """``A e has a p``."""
        return Fact(HAS, self.entity, self.prop)


CHAIN_DEPTHS = (2, 2, 3)


def chain_items(count: int, seed: int) -> list[ChainItem]:
    """``count`` premise chains (depths 2, 2, 3, ...) with distinct nonce words and properties."""
    _check_capacity(count, len(PARTS) // 2, "premise chains")
    draws = _draws(seed, "chains")
    words = NonceWords(draws.child("words"), set(REAL_WORDS))
    parts = draws.child("properties").shuffled(PARTS)
    items = []
    for i in range(count):
        depth = CHAIN_DEPTHS[i % len(CHAIN_DEPTHS)]
        entity, *categories = words.many(depth)
        items.append(ChainItem(entity, tuple(categories), parts.pop(), words.next(), parts.pop()))
    return items


@dataclass(frozen=True)
class EntailmentItem:
    """``A e is a kind of hyponym`` entails ``A e is a kind of hypernym``; ``control`` another entity."""

    entity: str
    hyponym: str
    hypernym: str
    control: str

    @property
    def premise(self) -> Fact:
        """A: the specific claim."""
        return Fact(ISA, self.entity, self.hyponym)

    @property
    def conclusion(self) -> Fact:
        """B: what A entails."""
        return Fact(ISA, self.entity, self.hypernym)


def entailment_items(count: int, seed: int) -> list[EntailmentItem]:
    """``count`` entailment pairs, each with its own hypernym and entities."""
    _check_capacity(count, len(HYPERNYMS), "entailment pairs")
    draws = _draws(seed, "entailments")
    words = NonceWords(draws.child("entities"), set(REAL_WORDS))
    pairs = draws.child("pairs").sample(HYPERNYMS, count)
    return [EntailmentItem(words.next(), hypo, hyper, words.next()) for hypo, hyper in pairs]


def world_probes(items: int) -> list[Example]:
    """Everyday facts, the broad probe set: all 24 for a task of 24 items or more, else one per item.

    Each is fine-tuned on once for its sensitivity, so a smoke run (``--limit 4``) reads 4 of
    them instead of paying 24 fine-tunes for 4 facts; a full run (36 items) reads them all.
    """
    return [Example(p, c) for p, c in WORLD_FACTS[: max(1, items)]]
