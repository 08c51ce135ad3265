"""Where A entails B and not the reverse, A should teach B, and B should not teach A."""

import math

import pytest
from hypothesis import given

from eifbench.desiderata import DESIDERATA
from eifbench.strategies import entailment_items
from eifbench.tasks.lm import asymmetry_task

ASYMMETRY = DESIDERATA["asymmetry"]


@pytest.mark.desideratum("asymmetry")
def test_asymmetry(eif, eif_case):
    eif.check(ASYMMETRY, eif_case)


@pytest.mark.falsify
@given(item=entailment_items())
def test_asymmetry_falsify(eif, eif_case, falsify, item):
    """Falsification: an entailment the model learns symmetrically or backwards."""
    if not eif_case.kind.reads_completions:
        pytest.skip("entailment needs a language model")
    value = falsify(ASYMMETRY, eif_case, asymmetry_task([item], eif.options.stimulus_format))
    assert not math.isnan(value) and value >= eif.thresholds.asymmetry, (
        f"{item.premise.text()!r} => {item.conclusion.text()!r}: forward minus backward influence "
        f"{value:.3f} (needs {eif.thresholds.asymmetry})"
    )
