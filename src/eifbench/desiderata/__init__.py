"""The desiderata: one module each (metric + verdict + its registry fields), one registry.

The verdict vocabulary (``Status``, ``Thresholds``, ``Measurement``, ``Desideratum``) is
in ``desiderata.base``; ``DESIDERATA`` and the name lookups are in
``desiderata.registry``, imported on first use: a desideratum's module names its task
builders and explainer, so loading the registry loads them, and a module the
desiderata need (a layout, the report's sentences) can import ``desiderata.base``
without loading every desideratum first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from eifbench.desiderata.registry import (
        DESIDERATA,
        canonical_name,
        canonical_names,
        desideratum_named,
        register,
        threshold_name,
        unregister,
    )

_REGISTRY_NAMES = frozenset(
    {"DESIDERATA", "canonical_name", "canonical_names", "desideratum_named", "register", "threshold_name", "unregister"}
)


def __getattr__(name: str) -> Any:
    """The registry's names, loaded on first use (PEP 562)."""
    if name in _REGISTRY_NAMES:
        from eifbench.desiderata import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'eifbench.desiderata' has no attribute {name!r}")


__all__ = [
    "DESIDERATA",
    "Desideratum",
    "Measurement",
    "Status",
    "Thresholds",
    "verdict",
    "canonical_name",
    "canonical_names",
    "desideratum_named",
    "register",
    "threshold_name",
    "unregister",
    "PASS",
    "FAIL",
    "INCONCLUSIVE",
    "NOT_APPLICABLE",
]
