"""Pronounceable nonce words ("wug", "blicket", "dax"): entities no model has seen facts about."""

from __future__ import annotations

from hypothesis import strategies as st

ONSETS = (
    "b",
    "d",
    "f",
    "g",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "z",
    "bl",
    "br",
    "dr",
    "fl",
    "gl",
    "gr",
    "kl",
    "pl",
    "pr",
    "sk",
    "sn",
    "st",
    "tr",
)
VOWELS = ("a", "e", "i", "o", "u")
CODAS = ("", "", "k", "n", "p", "t", "x", "m", "sh", "nd", "rk", "sp")


@st.composite
def syllables(draw: st.DrawFn) -> str:
    """One consonant-vowel-coda syllable, e.g. ``"blik"``."""
    return draw(st.sampled_from(ONSETS)) + draw(st.sampled_from(VOWELS)) + draw(st.sampled_from(CODAS))


def nonce_words(*, min_syllables: int = 2, max_syllables: int = 2) -> st.SearchStrategy[str]:
    """A lower-case nonce word of two syllables by default (shrinks towards short, early-alphabet words)."""
    return st.lists(syllables(), min_size=min_syllables, max_size=max_syllables).map("".join)


def distinct_nonce_words(count: int) -> st.SearchStrategy[list[str]]:
    """``count`` different nonce words."""
    return st.lists(nonce_words(), min_size=count, max_size=count, unique=True)


def plural(word: str) -> str:
    """English-style plural of a nonce word: ``dax`` -> ``daxes``, ``wug`` -> ``wugs``."""
    return word + "es" if word.endswith(("s", "x", "sh", "ch", "z")) else word + "s"
