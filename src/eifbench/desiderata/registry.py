"""The registry of desiderata: report order, lookup by any spelling, and registering a new one.

``DESIDERATA`` maps each canonical name to its ``Desideratum``, in report order: the
order of the table's rows, the records and every report. A desideratum outside the
package joins with ``register``; everything else about it (threshold, tolerance,
version, builders, explainer) is a field of its class.

A desideratum's canonical name has spaces (``"noise invariance"``); metric keys and shell
options spell it with underscores (``eif/noise_invariance/finetune``,
``--eif-tolerance noise_invariance=0.1``). ``canonical_name`` maps either spelling, in
any case, to the one the registry and every report use.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Any

from eifbench.desiderata.asymmetry import Asymmetry
from eifbench.desiderata.base import EXTRA_THRESHOLDS, Desideratum, Thresholds
from eifbench.desiderata.consistency import LogicalConsistency
from eifbench.desiderata.distance import Distance
from eifbench.desiderata.noise import NoiseInvariance
from eifbench.desiderata.sparseness import Sparseness
from eifbench.desiderata.transitivity import Transitivity
from eifbench.errors import InputError

# report order: the one place a desideratum is registered (``register`` appends)
DESIDERATA: dict[str, Desideratum[Any]] = {
    d.name: d for d in (Distance(), Sparseness(), NoiseInvariance(), Transitivity(), LogicalConsistency(), Asymmetry())
}
BUILT_IN = tuple(DESIDERATA)

_SEPARATORS = re.compile(r"[\s_\-]+")


def _folded(name: str) -> str:
    """``"Noise_Invariance"``, ``"noise-invariance"``, ``" noise  invariance "`` -> ``"noise invariance"``."""
    return " ".join(part for part in _SEPARATORS.split(name.strip().lower()) if part)


_BY_FOLDED = {_folded(name): name for name in DESIDERATA}


def register(desideratum: Desideratum[Any]) -> Desideratum[Any]:
    """Add a desideratum after the others: the suite, the reports, baselines and gates then know it.

    Args:
        desideratum: an instance of a ``Desideratum`` subclass. Its ``threshold_key`` is a
            ``Thresholds`` field, or a new name with ``default_threshold`` set (it can then be
            overridden as ``--eif-threshold <key>=<value>`` like the others).

    Returns:
        The desideratum, registered.

    Raises:
        InputError: a name already registered (in any spelling), or a new threshold without
            a default.

    """
    folded = _folded(desideratum.name)
    if folded in _BY_FOLDED:
        raise InputError(f"A desideratum named {desideratum.name!r} is already registered.")
    fields = {f.name for f in dataclasses.fields(Thresholds)} - {"extra"}
    if desideratum.threshold_key not in fields:
        if desideratum.default_threshold is None:
            raise InputError(
                f"{desideratum.name}: threshold {desideratum.threshold_key!r} is no Thresholds field; "
                "set default_threshold on the class."
            )
        EXTRA_THRESHOLDS[desideratum.threshold_key] = float(desideratum.default_threshold)
    DESIDERATA[desideratum.name] = desideratum
    _BY_FOLDED[folded] = desideratum.name
    return desideratum


def unregister(name: str) -> None:
    """Remove a desideratum ``register`` added (a test's toy); the built-in ones stay."""
    canonical = canonical_name(name)
    if canonical in BUILT_IN:
        raise InputError(f"{canonical} is built in and cannot be unregistered.")
    desideratum = DESIDERATA.pop(canonical)
    del _BY_FOLDED[_folded(canonical)]
    EXTRA_THRESHOLDS.pop(desideratum.threshold_key, None)


def _known() -> str:
    return ", ".join(DESIDERATA) + " (spaces or underscores, any case)"


def canonical_names(names: Iterable[str]) -> list[str]:
    """The registry names of desiderata a user named in any spelling, in the order given.

    Args:
        names: e.g. ``["noise_invariance", "Logical Consistency"]``.

    Returns:
        e.g. ``["noise invariance", "logical consistency"]``.

    Raises:
        InputError: a name that is no desideratum (all of them listed, with the known names).

    """
    given = list(names)
    unknown = [name for name in given if not isinstance(name, str) or _folded(name) not in _BY_FOLDED]
    if unknown:
        raise InputError(f"Unknown desiderata {unknown}; known: {_known()}.")
    return [_BY_FOLDED[_folded(name)] for name in given]


def canonical_name(name: str) -> str:
    """The registry name of one desideratum: ``"noise_invariance"`` -> ``"noise invariance"``.

    Raises:
        InputError: a name that is no desideratum; the message lists the known names.

    """
    return canonical_names([name])[0]


def desideratum_named(name: str) -> Desideratum[Any]:
    """The registered desideratum of a name in any spelling (see ``canonical_name``)."""
    return DESIDERATA[canonical_name(name)]


def threshold_name(name: str) -> str:
    """The ``Thresholds`` field a user named: a field in any spelling, or a desideratum's main threshold.

    ``noise_transfer`` and ``Noise-Transfer`` name the field; ``noise invariance`` and
    ``noise_invariance`` name the threshold its verdict is judged against (``noise_transfer``);
    ``logical_consistency`` names ``consistency``. A name that is neither is returned with
    underscores, so ``Thresholds.replace`` reports it with the known names.
    """
    field = _folded(name).replace(" ", "_")
    if field in {f.name for f in dataclasses.fields(Thresholds)} - {"extra"} or field in EXTRA_THRESHOLDS:
        return field
    desideratum = _BY_FOLDED.get(_folded(name))
    return DESIDERATA[desideratum].threshold_key if desideratum else field
