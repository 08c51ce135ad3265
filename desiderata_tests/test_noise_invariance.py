"""A noised stimulus should teach its fact; pure noise should teach little."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eifbench.desiderata import DESIDERATA
from eifbench.stimuli import Text
from eifbench.strategies import facts, noised_texts
from eifbench.tasks.base import Run, Task, as_stimulus, one_hot_mask
from eifbench.tasks.lm import noise_layout

NOISE = DESIDERATA["noise invariance"]


@pytest.mark.desideratum("noise invariance")
def test_noise_invariance(eif, eif_case):
    eif.check(NOISE, eif_case)


@pytest.mark.falsify
@given(data=st.data())
def test_noise_invariance_falsify(eif, eif_case, falsify, data):
    """Falsification: a fact whose typo'd copy does not teach it (shrinks to the simplest)."""
    if not eif_case.kind.reads_completions:
        pytest.skip("typos need a language model")
    fact, other = data.draw(facts(), label="fact"), data.draw(facts(), label="unrelated fact")
    noised = Text(data.draw(noised_texts(fact), label="noised"))
    shuffled = Text(data.draw(noised_texts(other), label="shuffled"))
    fmt = eif.options.stimulus_format
    probes = (fact.probe, fact.paraphrase(0))
    layout = noise_layout(n=1, per_family=2)
    runs = {
        "main": Run((as_stimulus(fact.probe, fmt),), probes),
        "noised": Run((noised, shuffled), probes),
        "sensitivity": Run((as_stimulus(fact.probe, fmt),), probes, one_hot_mask([0], 2)),
    }
    value = falsify(NOISE, eif_case, Task("noise invariance", runs, layout, (fact.text(),)))
    assert math.isnan(value) or value >= eif.thresholds.noise_transfer, (
        f"{noised.text!r} teaches {fact.text()!r} only {value:.3f} of what the clean statement does "
        f"(beyond {shuffled.text!r}; needs {eif.thresholds.noise_transfer})"
    )
