"""The desiderata: one registry, one module each (layout + metric + verdict)."""

from typing import Any

from eifbench.desiderata.asymmetry import Asymmetry
from eifbench.desiderata.base import (
    FAIL,
    INCONCLUSIVE,
    NOT_APPLICABLE,
    PASS,
    Desideratum,
    Measurement,
    Status,
    Thresholds,
    verdict,
)
from eifbench.desiderata.consistency import LogicalConsistency
from eifbench.desiderata.distance import Distance
from eifbench.desiderata.noise import NoiseInvariance
from eifbench.desiderata.sparseness import Sparseness
from eifbench.desiderata.transitivity import Transitivity

# report order; the one place a desideratum is registered
DESIDERATA: dict[str, Desideratum[Any]] = {
    d.name: d for d in (Distance(), Sparseness(), NoiseInvariance(), Transitivity(), LogicalConsistency(), Asymmetry())
}

__all__ = [
    "DESIDERATA",
    "Desideratum",
    "Measurement",
    "Status",
    "Thresholds",
    "verdict",
    "PASS",
    "FAIL",
    "INCONCLUSIVE",
    "NOT_APPLICABLE",
]
