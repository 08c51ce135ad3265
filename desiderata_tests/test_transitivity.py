"""Learning the premises should teach their conclusion ("A is a B", "all Bs have C" => "A has C")."""

import math

import pytest
from hypothesis import given

from eifbench.desiderata import DESIDERATA
from eifbench.strategies import chain_items
from eifbench.tasks.lm import transitivity_task

TRANSITIVITY = DESIDERATA["transitivity"]


@pytest.mark.desideratum("transitivity")
def test_transitivity(eif, eif_case):
    eif.check(TRANSITIVITY, eif_case)


@pytest.mark.falsify
@given(chain=chain_items())
def test_transitivity_falsify(eif, eif_case, falsify, chain):
    """Falsification: a premise chain whose conclusion is not learned (shrinks to depth 2)."""
    if not eif_case.kind.reads_completions:
        pytest.skip("fact chains need a language model")
    value = falsify(TRANSITIVITY, eif_case, transitivity_task([chain], eif.options.stimulus_format))
    premises = " ".join(p.text() for p in chain.premises)
    assert not math.isnan(value) and value >= eif.thresholds.transitivity, (
        f"premises {premises!r} teach {chain.conclusion.text()!r} only {value:.3f} of training on it, "
        f"beyond association (needs {eif.thresholds.transitivity})"
    )
