"""Falsification strategies: well-formed items over the bank's language, usable with @given."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from eifbench.bank.items import REAL_WORDS
from eifbench.bank.language import plural
from eifbench.reference.parse import parse
from eifbench.strategies import (
    chain_items,
    entailment_items,
    exclusive_items,
    facts,
    noise_images,
    noised_texts,
    nonce_words,
    pixel_noised,
)


@given(nonce_words())
def test_nonce_words_are_pronounceable_and_not_real_words(word):
    assert word.isalpha() and word.islower() and word not in REAL_WORDS


@given(chain_items())
def test_chains_are_well_formed_and_parse(chain):
    assert 2 <= chain.depth <= 4
    premises = chain.premises
    assert len(premises) == chain.depth
    assert premises[-1].text().startswith(f"All {plural(chain.categories[-1])} have a")
    words = {chain.entity, *chain.categories, chain.control}
    assert len(words) == chain.depth + 1 and chain.prop != chain.control_property
    for p in premises:
        assert parse(p.text()) is not None
    assert parse(chain.conclusion.text()).relation == "has"


@given(exclusive_items())
def test_exclusive_items_state_one_value_and_two_others(item):
    assert item.fact.obj not in item.alternatives and len(set(item.alternatives)) == 2
    assert item.fact.subject != item.control and item.fact.subject[0].isupper()
    assert parse(item.fact.negated.x + item.fact.negated.y).negated


@given(entailment_items())
def test_entailments_go_from_the_specific_to_the_general(item):
    assert item.premise.subject == item.conclusion.subject != item.control
    assert (item.hyponym, item.hypernym) != (item.hypernym, item.hyponym)


@given(st.data())
def test_noised_texts_keep_the_fact_and_parse_to_it(data):
    fact = data.draw(facts())
    noisy = data.draw(noised_texts(fact))
    assert noisy != fact.text() and fact.subject in noisy.split() and noisy.rstrip(".").endswith(fact.obj)
    assert parse(noisy) == parse(fact.text())  # an ideal reader still understands it


@settings(max_examples=10)
@given(st.data())
def test_image_noise_stays_in_range(data):
    image = torch.rand(1, 28, 28)
    noisy = data.draw(pixel_noised(image))
    assert noisy.shape == image.shape and 0 <= noisy.min() and noisy.max() <= 1
    assert 0 < float((noisy - image).abs().mean()) < 0.2
    junk = data.draw(noise_images((1, 28, 28)))
    assert junk.x.shape == (1, 28, 28) and 0 <= junk.y < 10 and 0 <= junk.x.min() and junk.x.max() <= 1
