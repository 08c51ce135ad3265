"""Hypothesis strategies over the bank's language, for falsification (``@given``) tests.

They draw the same kinds of items as the bank (``eifbench.bank.items``) but through
hypothesis, so a failing item shrinks to the simplest one (short words, a depth-2 chain).
The estimation run never uses them: its stimuli come from the versioned bank.
"""

from __future__ import annotations

from hypothesis import strategies as st

from eifbench.bank.items import OBJECTS, REAL_WORDS, ChainItem, EntailmentItem, ExclusiveItem
from eifbench.bank.language import EXCLUSIVE_RELATIONS, FACT_RELATIONS, TYPO_KINDS, Fact, typo
from eifbench.bank.lexicon import CODAS, HYPERNYMS, ONSETS, PARTS, VOWELS


@st.composite
def syllables(draw: st.DrawFn) -> str:
    """One consonant-vowel-coda syllable, e.g. ``"blik"``."""
    return draw(st.sampled_from(ONSETS)) + draw(st.sampled_from(VOWELS)) + draw(st.sampled_from(CODAS))


def nonce_words() -> st.SearchStrategy[str]:
    """A lower-case two-syllable nonce word that is not one of the bank's real words."""
    return (
        st.lists(syllables(), min_size=2, max_size=2).map("".join).filter(lambda w: w not in REAL_WORDS and len(w) >= 4)
    )


def distinct_nonce_words(count: int) -> st.SearchStrategy[list[str]]:
    """``count`` different nonce words."""
    return st.lists(nonce_words(), min_size=count, max_size=count, unique=True)


@st.composite
def facts(draw: st.DrawFn) -> Fact:
    """A fact of one of the fact-bank relations about a nonce entity."""
    relation = draw(st.sampled_from(FACT_RELATIONS))
    return Fact(relation, draw(nonce_words()), draw(st.sampled_from(OBJECTS[relation.name])))


@st.composite
def noised_texts(draw: st.DrawFn, fact: Fact) -> str:
    """The fact's statement with one typo in a template word (never its subject or object)."""
    words = fact.text().split(" ")
    editable = [
        i for i, w in enumerate(words) if len(w.strip(".")) >= 3 and w.strip(".") not in (fact.subject, fact.obj)
    ]
    i = draw(st.sampled_from(editable))
    core = words[i].rstrip(".")
    changed = typo(core, draw(st.sampled_from(TYPO_KINDS)), draw(st.integers(0, 63)))
    return " ".join([*words[:i], changed + words[i][len(core) :], *words[i + 1 :]])


@st.composite
def exclusive_items(draw: st.DrawFn) -> ExclusiveItem:
    """A person's exclusive attribute, two alternatives and a control person."""
    relation = draw(st.sampled_from(EXCLUSIVE_RELATIONS))
    values = draw(st.lists(st.sampled_from(OBJECTS[relation.name]), min_size=3, max_size=3, unique=True))
    name, control = (w.capitalize() for w in draw(distinct_nonce_words(2)))
    return ExclusiveItem(Fact(relation, name, values[0]), (values[1], values[2]), control)


@st.composite
def chain_items(draw: st.DrawFn, min_depth: int = 2, max_depth: int = 4) -> ChainItem:
    """A premise chain of depth 2-4 (shrinks to depth 2), its property and controls."""
    depth = draw(st.integers(min_depth, max_depth))
    words = draw(distinct_nonce_words(depth + 1))
    prop, control_property = draw(st.lists(st.sampled_from(PARTS), min_size=2, max_size=2, unique=True))
    return ChainItem(words[0], tuple(words[1:depth]), prop, words[depth], control_property)


@st.composite
def entailment_items(draw: st.DrawFn) -> EntailmentItem:
    """An entailment pair about a nonce entity, with a control entity."""
    hyponym, hypernym = draw(st.sampled_from(HYPERNYMS))
    entity, control = draw(distinct_nonce_words(2))
    return EntailmentItem(entity, hyponym, hypernym, control)
