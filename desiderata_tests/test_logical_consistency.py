"""Learning "A is B" should raise it, and lower "A is not B" and exclusive "A is C"."""

import numpy as np
import pytest
from hypothesis import given

from eifbench.desiderata import DESIDERATA
from eifbench.desiderata.consistency import DOWN, UP, sign_agreement
from eifbench.strategies import isa_facts

CONSISTENCY = DESIDERATA["logical consistency"]


@pytest.mark.desideratum("logical consistency")
def test_logical_consistency(eif, eif_case, tasks):
    eif.skip_if_not_applicable(CONSISTENCY, eif_case)
    task = tasks("logical consistency", eif_case)
    result = eif.influence(eif_case, task.stimuli, task.probes)
    measurement = CONSISTENCY.measure(result.matrix.numpy(), task.layout["expected"], eif.thresholds)
    eif.judge(eif_case, measurement, matrix=result.matrix)


@pytest.mark.falsify
@given(fact=isa_facts(alternatives=2))
def test_logical_consistency_falsify(eif, eif_case, fact):
    """Falsification: a fact whose negation or alternatives go up when it is learned."""
    if eif_case.kind != "causal-lm":
        pytest.skip("negation needs a causal LM")
    probes = [fact.example, fact.negated, *fact.exclusive]
    row = eif.influence(eif_case, [fact.example], probes).matrix.numpy()
    expected = np.array([[UP, DOWN, DOWN, DOWN]])
    agreement = float(sign_agreement(row, expected)[0])
    assert agreement >= eif.thresholds.consistency, (
        f"learning {fact.example.x + fact.example.y!r}: EIF on itself, its negation and alternatives = "
        f"{np.round(row[0], 4).tolist()} (agreement {agreement:.2f})"
    )
