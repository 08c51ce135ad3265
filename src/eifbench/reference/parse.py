"""Parsing the bank's language into propositions, as an ideal reader would.

A reference learner must understand a statement whatever its surface: a paraphrase, a
negation, or a one-letter typo in a template word ("A wug is a knid of salmon"). Each
relation template is matched word by word; template words of three or more letters may
be off by one edit (Damerau-Levenshtein), subjects and objects must match exactly (the
bank never puts typos into them). Exact matches win over fuzzy ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from eifbench.bank.language import RELATIONS, plural

WORD = re.compile(r"[A-Za-z']+")


@dataclass(frozen=True)
class Proposition:
    """``relation(subject, obj)``, possibly negated; words lower-cased."""

    relation: str
    subject: str
    obj: str
    negated: bool = False


def words(text: str) -> tuple[str, ...]:
    """Lower-cased words of a text, punctuation dropped."""
    return tuple(w.lower() for w in WORD.findall(text))


def close(template: str, said: str) -> bool:
    """Equal, or one insertion, deletion, substitution or transposition apart.

    Only template words of 3+ letters may be off by one ("has" -> "hs" is a typo, "a" -> "i"
    is another word).
    """
    a, b = template, said
    if a == b:
        return True
    if len(a) < 3 or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def singular(word: str) -> str | None:
    """The nonce word whose plural is ``word``, if any."""
    for stem in (word[:-2], word[:-1]):
        if stem and plural(stem) == word:
            return stem
    return None


@lru_cache(maxsize=1)
def _templates() -> tuple[tuple[str, tuple[str, ...], bool], ...]:
    """(relation name, template words, negated) for every prompt, paraphrase and negation."""
    out = []
    for relation in RELATIONS:
        for prompt in (relation.prompt, *relation.paraphrases):
            out.append((relation.name, words(prompt.replace("{ss}", "SS").replace("{s}", "S")), False))
        out.append((relation.name, words(relation.negation.replace("{ss}", "SS").replace("{s}", "S")), True))
    return tuple(out)


def _match(template: tuple[str, ...], said: tuple[str, ...], fuzzy: bool) -> str | None:
    """The subject if ``said`` is ``template`` + one object word, else None."""
    if len(said) != len(template) + 1:
        return None
    subject = None
    for t, w in zip(template, said):
        if t == "s":
            subject = w
        elif t == "ss":
            subject = singular(w)
            if subject is None:
                return None
        elif not (w == t or (fuzzy and close(t, w))):
            return None
    return subject


@lru_cache(maxsize=65536)
def parse(text: str) -> Proposition | None:
    """The proposition a statement (or prompt + completion) states, or None (gibberish, world facts)."""
    said = words(text)
    for fuzzy in (False, True):
        for name, template, negated in _templates():
            subject = _match(template, said, fuzzy)
            if subject is not None:
                return Proposition(name, subject, said[-1], negated)
    return None
