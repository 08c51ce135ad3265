"""Learning a fact should raise it, and not its negation or its exclusive alternatives."""

import math

import pytest
from hypothesis import given

from eifbench.desiderata import DESIDERATA
from eifbench.strategies import exclusive_items
from eifbench.tasks.lm import consistency_task

CONSISTENCY = DESIDERATA["logical consistency"]


@pytest.mark.desideratum("logical consistency")
def test_logical_consistency(eif, eif_case):
    eif.check(CONSISTENCY, eif_case)


@pytest.mark.falsify
@given(item=exclusive_items())
def test_logical_consistency_falsify(eif, eif_case, falsify, item):
    """Falsification: a fact whose negation or alternatives rise with it."""
    if not eif_case.kind.reads_completions:
        pytest.skip("negation needs a language model")
    value = falsify(CONSISTENCY, eif_case, consistency_task([item], eif.options.stimulus_format))
    assert not math.isnan(value) and value >= eif.thresholds.consistency, (
        f"learning {item.fact.text()!r}: its negation or alternatives {item.alternatives} rise with it "
        f"(score {value:.3f}, needs {eif.thresholds.consistency})"
    )
