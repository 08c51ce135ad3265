"""One stimulus should move only a small share of the probes about other things."""

import pytest

from eifbench.desiderata import DESIDERATA

SPARSENESS = DESIDERATA["sparseness"]


@pytest.mark.desideratum("sparseness")
def test_sparseness(eif, eif_case):
    eif.check(SPARSENESS, eif_case)
