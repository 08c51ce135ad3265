"""One stimulus should move only a small share of a broad probe set."""

import pytest

from eifbench.desiderata import DESIDERATA
from eifbench.desiderata.base import noise_level

SPARSENESS = DESIDERATA["sparseness"]


@pytest.mark.desideratum("sparseness")
def test_sparseness(eif, eif_case, tasks):
    eif.skip_if_not_applicable(SPARSENESS, eif_case)
    task = tasks("sparseness", eif_case)
    result = eif.influence(eif_case, task.stimuli, task.probes)
    measurement = SPARSENESS.measure(
        result.matrix.numpy(), task.layout["self_index"], noise_level(result.baseline.numpy()), eif.thresholds
    )
    eif.judge(eif_case, measurement, matrix=result.matrix)
