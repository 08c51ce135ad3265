"""A noised stimulus should teach what the clean one does; pure noise should teach little."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from eifbench.desiderata import DESIDERATA
from eifbench.stats import pearson
from eifbench.strategies import isa_facts, noised_examples, pixel_noise

NOISE = DESIDERATA["noise invariance"]


@pytest.mark.desideratum("noise invariance")
def test_noise_invariance(eif, eif_case, tasks):
    eif.skip_if_not_applicable(NOISE, eif_case)
    task = tasks("noise invariance", eif_case)
    result = eif.influence(eif_case, task.stimuli, task.probes)
    matrix = result.matrix.numpy()[:, task.layout["broad"]]
    n, k = task.layout["n_clean"], task.layout["n_noise"]
    measurement = NOISE.measure(matrix[:n], matrix[n : 2 * n], matrix[2 * n : 2 * n + k], eif.thresholds)
    eif.judge(eif_case, measurement, matrix=result.matrix)


@pytest.mark.falsify
@given(data=st.data())
def test_noise_invariance_falsify(eif, eif_case, tasks, data):
    """Falsification: find a stimulus whose noised copy teaches something else (shrinks)."""
    if eif_case.condition == "in-context" and eif_case.kind != "causal-lm":
        pytest.skip("in-context needs a causal LM")
    task = tasks("noise invariance", eif_case)
    probes = [task.probes[j] for j in task.layout["broad"]]
    if eif_case.kind == "causal-lm":
        fact = data.draw(isa_facts(alternatives=0), label="fact")
        clean = fact.example
        noised = data.draw(
            noised_examples(clean, fact.paraphrased, protected=frozenset({fact.subject})), label="noised"
        )
    else:
        clean = task.stimuli[data.draw(st.integers(0, task.layout["n_clean"] - 1), label="image")]
        noised = type(clean)(data.draw(pixel_noise(clean.x), label="noised image"), clean.y)
    rows = eif.influence(eif_case, [clean, noised], probes).matrix
    corr = pearson(rows[0].numpy(), rows[1].numpy())
    assert corr >= eif.thresholds.noise_corr, (
        f"noised copy teaches something else: corr {corr:.3f} < {eif.thresholds.noise_corr} "
        f"(max |EIF| clean {float(torch.abs(rows[0]).max()):.3g}, noised {float(torch.abs(rows[1]).max()):.3g})"
    )
