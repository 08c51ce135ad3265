"""The bank's little language: relations, facts, paraphrases, negations and typos.

A ``Relation`` is a prompt template whose completion is the object: "A {s} is a kind of"
+ " salmon". A ``Fact`` is a relation applied to a subject and an object; it renders as a
probe (``Example(prompt, " object")``, read out on the object's tokens) or as a statement
(``Text("A wug is a kind of salmon.")``, fine-tuned on every token). The reference
learners (``eifbench.reference``) parse exactly this language.
"""

from __future__ import annotations

from dataclasses import dataclass

from eifbench.bank.draws import Draws
from eifbench.bank.lexicon import CODAS, ONSETS, VOWELS
from eifbench.stimuli import Example, Text


@dataclass(frozen=True)
class Relation:
    """A relation template.

    Attributes:
        name: short id (``isa``, ``lives``, ...).
        prompt: the statement's prompt, ``{s}`` for the subject (``{ss}`` its plural).
        paraphrases: the same relation in other words; the first two are probes, the third
            is a noised variant of the statement (so it is never also a probe).
        negation: the negated prompt.
        exclusive: True when a subject has exactly one object (birth month, star sign).

    """

    name: str
    prompt: str
    paraphrases: tuple[str, str, str]
    negation: str
    exclusive: bool = False


ISA = Relation(
    "isa", "A {s} is a kind of", ("A {s} is a type of", "Every {s} is a kind of", "Each {s} is a sort of"),
    "A {s} is not a kind of",
)  # fmt: skip
LIVES = Relation(
    "lives", "A {s} lives in the", ("A {s} makes its home in the", "Every {s} lives in the", "A {s} is found in the"),
    "A {s} does not live in the",
)  # fmt: skip
EATS = Relation(
    "eats", "A {s} likes to eat", ("A {s} feeds on", "Every {s} likes to eat", "The favorite food of a {s} is"),
    "A {s} does not like to eat",
)  # fmt: skip
HAS = Relation(
    "has", "A {s} has a", ("A {s} always has a", "Each {s} has a", "A {s} comes with a"), "A {s} does not have a"
)
ALL_HAVE = Relation(
    "has", "All {ss} have a", ("Every {s} has a", "Each {s} has a", "All of the {ss} have a"), "No {ss} have a"
)
COLOR = Relation(
    "color", "The color of a {s} is", ("A {s} is colored", "Every {s} is colored", "The usual color of a {s} is"),
    "The color of a {s} is not",
)  # fmt: skip
BORN_MONTH = Relation(
    "month", "{s} was born in the month of",
    ("The birth month of {s} is", "{s} has a birthday in", "{s} came into the world in"),
    "{s} was not born in the month of", exclusive=True,
)  # fmt: skip
BORN_DAY = Relation(
    "weekday", "{s} was born on a",
    ("The weekday {s} was born on is", "{s} came into the world on a", "{s} was born on"),
    "{s} was not born on a", exclusive=True,
)  # fmt: skip
PLANET = Relation(
    "planet", "{s} was born on the planet",
    ("The home planet of {s} is", "{s} comes from the planet", "The birth planet of {s} is"),
    "{s} was not born on the planet", exclusive=True,
)  # fmt: skip
SIGN = Relation(
    "sign", "The star sign of {s} is", ("{s} has the star sign", "The zodiac sign of {s} is", "{s} is born under"),
    "The star sign of {s} is not", exclusive=True,
)  # fmt: skip

FACT_RELATIONS = (ISA, LIVES, EATS, HAS, COLOR)
EXCLUSIVE_RELATIONS = (BORN_MONTH, BORN_DAY, PLANET, SIGN)
RELATIONS = (*FACT_RELATIONS, ALL_HAVE, *EXCLUSIVE_RELATIONS)


def plural(word: str) -> str:
    """English-style plural of a nonce word: ``dax`` -> ``daxes``, ``wug`` -> ``wugs``."""
    return word + "es" if word.endswith(("s", "x", "sh", "ch", "z")) else word + "s"


@dataclass(frozen=True)
class Fact:
    """``relation(subject, obj)``: "A wug is a kind of salmon"."""

    relation: Relation
    subject: str
    obj: str

    def _fill(self, template: str) -> str:
        return template.format(s=self.subject, ss=plural(self.subject))

    @property
    def probe(self) -> Example:
        """``Example("A wug is a kind of", " salmon")``: read out on the object."""
        return Example(self._fill(self.relation.prompt), f" {self.obj}")

    @property
    def statement(self) -> Text:
        """``Text("A wug is a kind of salmon.")``: fine-tuned on every token."""
        return Text(f"{self._fill(self.relation.prompt)} {self.obj}.")

    def paraphrase(self, index: int) -> Example:
        """The fact in other words (``index`` 0 or 1: probes; 2: the noised variant)."""
        return Example(self._fill(self.relation.paraphrases[index]), f" {self.obj}")

    @property
    def negated(self) -> Example:
        """``Example("A wug is not a kind of", " salmon")``."""
        return Example(self._fill(self.relation.negation), f" {self.obj}")

    def with_subject(self, subject: str) -> Fact:
        """The same claim about another subject (a control)."""
        return Fact(self.relation, subject, self.obj)

    def with_object(self, obj: str) -> Fact:
        """The same subject and relation with another object (an alternative or a control)."""
        return Fact(self.relation, self.subject, obj)

    def text(self) -> str:
        """The statement as a string."""
        return self.statement.text


class NonceWords:
    """Distinct pronounceable nonce words ("blicket", "zorpin"), never a word used twice.

    Args:
        draws: the stream to draw syllables from.
        taken: words that must not be produced (real words of the task, earlier words).
        capitalized: names (``Zorpin``) rather than common nouns.

    """

    def __init__(self, draws: Draws, taken: set[str] | None = None, *, capitalized: bool = False) -> None:
        self._draws = draws
        self._taken = {w.lower() for w in taken or ()}
        self._capitalized = capitalized

    def _syllable(self) -> str:
        return self._draws.choice(ONSETS) + self._draws.choice(VOWELS) + self._draws.choice(CODAS)

    def next(self) -> str:
        """A fresh two-syllable word."""
        while True:
            word = self._syllable() + self._syllable()
            if word not in self._taken and len(word) >= 4:
                self._taken.add(word)
                return word.capitalize() if self._capitalized else word

    def many(self, count: int) -> list[str]:
        """``count`` fresh words."""
        return [self.next() for _ in range(count)]


TYPO_KINDS = ("swap", "drop", "double", "replace", "insert")
KEYBOARD_NEIGHBOURS = {
    "a": "sq", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj", "i": "uo",
    "j": "hk", "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o", "q": "w", "r": "et",
    "s": "ad", "t": "ry", "u": "yi", "v": "cb", "w": "qe", "x": "zc", "y": "tu", "z": "x",
}  # fmt: skip


def typo(word: str, kind: str, position: int) -> str:
    """One letter-level typo at ``position`` (taken modulo the usable positions).

    Kinds: ``swap`` two neighbouring letters, ``drop`` one, ``double`` one, ``replace``
    one with a keyboard neighbour, ``insert`` a neighbour after it. The first letter is
    kept, so a typo never turns a word into a different capitalized name.
    """
    if len(word) < 3:
        return word
    i = 1 + position % (len(word) - 1)
    if kind == "swap":
        i = min(i, len(word) - 2)
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[: i + 1] + word[i] + word[i + 1 :]
    options = KEYBOARD_NEIGHBOURS.get(word[i].lower(), "e")
    neighbour = options[position % len(options)]
    if kind == "replace":
        return word[:i] + neighbour + word[i + 1 :]
    return word[: i + 1] + neighbour + word[i + 1 :]


def noisy_text(text: str, draws: Draws, protected: frozenset[str]) -> str:
    """``text`` with one typo in one word of 3+ letters outside ``protected`` (subject, object).

    The typo kind and position come from ``draws``; the result always differs from ``text``.
    """
    words = text.split(" ")
    editable = [i for i, w in enumerate(words) if len(w.strip(".,!?")) >= 3 and w.strip(".,!?") not in protected]
    if not editable:
        raise ValueError(f"no word of {text!r} can carry a typo")
    for _ in range(32):
        i = draws.choice(editable)
        core = words[i].rstrip(".,!?")
        tail = words[i][len(core) :]
        changed = typo(core, draws.choice(TYPO_KINDS), draws.below(64))
        if changed != core:
            return " ".join([*words[:i], changed + tail, *words[i + 1 :]])
    raise ValueError(f"could not put a typo into {text!r}")
