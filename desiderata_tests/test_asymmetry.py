"""Where logic is directional, EIF(a -> b) and EIF(b -> a) should differ."""

import pytest

from eifbench.desiderata import DESIDERATA

ASYMMETRY = DESIDERATA["asymmetry"]


@pytest.mark.desideratum("asymmetry")
def test_asymmetry(eif, eif_case, tasks):
    eif.skip_if_not_applicable(ASYMMETRY, eif_case)
    task = tasks("asymmetry", eif_case)
    result = eif.influence(eif_case, task.stimuli, task.probes)
    measurement = ASYMMETRY.measure(result.matrix.numpy(), task.layout["groups"], eif.thresholds)
    eif.judge(eif_case, measurement, matrix=result.matrix)
