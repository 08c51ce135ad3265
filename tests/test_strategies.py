"""Stimulus strategies: well-formed, seeded, and usable in both modes."""

from __future__ import annotations

import re

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from eifbench import Chain, Example
from eifbench.strategies import (
    draw_batch,
    fact_chains,
    gibberish,
    isa_facts,
    noise_images,
    noised_examples,
    nonce_words,
    pixel_noise,
    typos,
)
from eifbench.strategies.noise import apply_typo

WORD = re.compile(r"^([bdfgklmnprstvz]|bl|br|dr|fl|gl|gr|kl|pl|pr|sk|sn|st|tr)[aeiou]")


@given(nonce_words())
def test_nonce_words_are_pronounceable(word):
    assert word.isalpha() and word.islower() and WORD.match(word)


@given(fact_chains())
def test_fact_chains_are_well_formed(chain):
    assert 2 <= chain.depth <= 4
    premises = chain.premises
    assert len(premises) == chain.depth and isinstance(chain.chain(), Chain)
    assert premises[0].x == f"A {chain.entity} is a kind of" and premises[0].y == f" {chain.categories[0]}"
    assert premises[-1].y == f" {chain.prop}" and premises[-1].x.startswith("All ")
    assert chain.conclusion == Example(f"A {chain.entity} has a", f" {chain.prop}")
    assert chain.control_conclusion.y == chain.conclusion.y and chain.control not in chain.text()
    words = {chain.entity, *chain.categories, chain.prop, chain.control}
    assert len(words) == chain.depth + 2


@given(isa_facts(alternatives=2))
def test_negation_alternatives_reversal(fact):
    assert fact.negated.x == f"A {fact.subject} is not a kind of" and fact.negated.y == fact.example.y
    assert [e.y for e in fact.exclusive] == [f" {c}" for c in fact.alternatives]
    assert fact.obj not in fact.alternatives
    assert fact.reversed == Example(f"A {fact.obj} is a kind of", f" {fact.subject}")
    assert all(p.y == fact.example.y and p.x != fact.example.x for p in fact.paraphrased)


@given(st.data())
def test_typos_change_text_but_keep_entities(data):
    fact = data.draw(isa_facts(alternatives=0))
    noisy = data.draw(typos(fact.example.x, protected=frozenset({fact.subject})))
    assert noisy != fact.example.x and fact.subject in noisy.split(" ")
    variant = data.draw(noised_examples(fact.example, fact.paraphrased, protected=frozenset({fact.subject})))
    assert variant.y == fact.example.y and variant.x != fact.example.x


def test_apply_typo_by_hand():
    assert apply_typo("A wug is a kind of", 0, "swap", frozenset({"wug"})) == "A wug is a knid of"
    assert apply_typo("A wug is a kind of", 0, "drop", frozenset({"wug"})) == "A wug is a knd of"
    assert apply_typo("A wug is a kind of", 0, "double", frozenset({"wug"})) == "A wug is a kiind of"


@settings(max_examples=10)
@given(st.data())
def test_image_noise_stays_in_range(data):
    image = torch.rand(1, 28, 28)
    noisy = data.draw(pixel_noise(image, sigma=0.1))
    assert noisy.shape == image.shape and 0 <= noisy.min() and noisy.max() <= 1
    assert 0 < float((noisy - image).abs().mean()) < 0.2
    junk = data.draw(noise_images((1, 28, 28)))
    assert junk.x.shape == (1, 28, 28) and 0 <= junk.y < 10


def test_draw_batch_is_seeded_and_distinct():
    first = draw_batch(fact_chains(), 6, seed_value=3)
    again = draw_batch(fact_chains(), 6, seed_value=3)
    other = draw_batch(fact_chains(), 6, seed_value=4)
    assert first == again and first != other
    assert len({c.entity for c in first}) == 6
    assert {c.depth for c in draw_batch(fact_chains(), 30, seed_value=0)} == {2, 3, 4}
    junk = draw_batch(gibberish(), 4, seed_value=1)
    assert len(set(junk)) == 4
