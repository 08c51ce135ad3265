"""Influence should decrease with semantic distance from the stimulus."""

import pytest

from eifbench.desiderata import DESIDERATA

DISTANCE = DESIDERATA["distance"]


@pytest.mark.desideratum("distance")
def test_distance(eif, eif_case, tasks):
    eif.skip_if_not_applicable(DISTANCE, eif_case)
    task = tasks("distance", eif_case)
    result = eif.influence(eif_case, task.stimuli, task.probes)
    measurement = DISTANCE.measure(result.matrix.numpy(), task.layout["levels"], eif.thresholds)
    eif.judge(eif_case, measurement, matrix=result.matrix)
