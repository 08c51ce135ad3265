"""Influence should decrease with semantic distance from the stimulus."""

import pytest

from eifbench.desiderata import DESIDERATA

DISTANCE = DESIDERATA["distance"]


@pytest.mark.desideratum("distance")
def test_distance(eif, eif_case):
    eif.check(DISTANCE, eif_case)
