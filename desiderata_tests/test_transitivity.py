"""Learning the premises should teach their conclusion ("A is a B", "all Bs have C" => "A has C")."""

import numpy as np
import pytest
from hypothesis import given

from eifbench.desiderata import DESIDERATA
from eifbench.desiderata.base import noise_level
from eifbench.desiderata.transitivity import chain_ratios, strong_triples
from eifbench.strategies import fact_chains

TRANSITIVITY = DESIDERATA["transitivity"]
MAX_TRIPLES = 64


@pytest.mark.desideratum("transitivity")
def test_transitivity(eif, eif_case, tasks):
    eif.skip_if_not_applicable(TRANSITIVITY, eif_case)
    task = tasks("transitivity", eif_case)
    result = eif.influence(eif_case, task.stimuli, task.probes)
    matrix = result.matrix.numpy()
    noise = noise_level(result.baseline.numpy())
    if eif_case.kind != "causal-lm":
        triples = strong_triples(matrix, eif.thresholds.transitivity, MAX_TRIPLES, seed=eif.options.seed)
        measurement = TRANSITIVITY.measure_triples(matrix, triples, noise, eif.thresholds)
        eif.judge(eif_case, measurement, matrix=result.matrix)
        return
    reference = eif.influence(eif_case, task.extra_stimuli, task.probes).matrix.numpy()
    rows = np.arange(len(task.stimuli))
    conclusion, control = task.layout["conclusion"], task.layout["control"]
    measurement = TRANSITIVITY.measure(
        matrix[rows, conclusion], matrix[rows, control], reference[rows, conclusion], noise, eif.thresholds
    )
    eif.judge(eif_case, measurement, matrix=result.matrix)


@pytest.mark.falsify
@given(chain=fact_chains())
def test_transitivity_falsify(eif, eif_case, chain):
    """Falsification: a fact chain whose conclusion is not learned (shrinks to the simplest)."""
    if eif_case.kind != "causal-lm":
        pytest.skip("fact chains need a causal LM")
    probes = [chain.conclusion, chain.control_conclusion]
    on_chain = eif.influence(eif_case, [chain.chain()], probes).matrix[0].numpy()
    on_itself = eif.influence(eif_case, [chain.conclusion], probes).matrix[0].numpy()
    ratio = float(chain_ratios(on_chain[:1], on_chain[1:], on_itself[:1])[0])
    assert ratio >= eif.thresholds.transitivity, (
        f"premises {chain.text()!r} teach {chain.conclusion.x!r}+{chain.conclusion.y!r} only "
        f"{ratio:.3f} of training on it (needs {eif.thresholds.transitivity})"
    )
