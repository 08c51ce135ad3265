"""Parse ``--eif-*`` option values (or ini keys) into a frozen ``RunOptions``, validating each."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eifbench.cases import CACHE_MODES, DEFAULT_MODELS, RunOptions
from eifbench.desiderata.base import Thresholds
from eifbench.errors import InputError
from eifbench.finetune import OPTIMIZERS
from eifbench.plugin.options import OPTIONS
from eifbench.tasks.base import STIMULUS_FORMATS
from eifbench.zoo.specs import parse_spec

REPORTS = tuple(option.name for option in OPTIONS if option.report)  # the options that name an output file


def pairs(values: list[str] | None, what: str) -> dict[str, float]:
    """``NAME=VALUE`` items as a dict of finite floats, names in their canonical spelling.

    A desideratum may be written as in reports (``"noise invariance"``) or as in metric keys
    and shells (``noise_invariance``), in any case: ``threshold`` names become ``Thresholds``
    fields (a desideratum names its main threshold), ``tolerance`` names registry names.
    Unknown names pass through unchanged, so the caller's check lists the known ones.
    """
    from eifbench.desiderata import canonical_name, threshold_name

    def key(name: str) -> str:
        if what == "threshold":
            return threshold_name(name)
        try:
            return canonical_name(name)
        except InputError:
            return name.strip()

    out: dict[str, float] = {}
    for item in values or []:
        name, sep, raw = item.partition("=")
        if not sep:
            raise InputError(f"--eif-{what} {item!r} must be NAME=VALUE.")
        try:
            value = float(raw)
        except ValueError:
            raise InputError(f"--eif-{what} {item!r}: {raw!r} is not a number.") from None
        if not math.isfinite(value):
            raise InputError(f"--eif-{what} {item!r}: the value must be a finite number.")
        out[key(name)] = value
    return out


def number(raw: Any, kind: type, what: str, *, minimum: float = 1) -> Any:
    """A validated int or float option (None stays None)."""
    if raw is None:
        return None
    try:
        value = kind(raw)
    except (TypeError, ValueError):
        raise InputError(f"--eif-{what} {raw!r} is not a valid {kind.__name__}.") from None
    if not math.isfinite(value) or value < minimum or (kind is float and value <= 0 and minimum > 0):
        raise InputError(f"--eif-{what} {raw!r} must be {'positive' if minimum > 0 else f'>= {minimum}'}.")
    return value


def parse_options(option: Callable[[str], Any], rootdir: Path) -> RunOptions:
    """Build RunOptions from an ``option(name)`` lookup (command line first, then ini)."""
    names = tuple(m.strip() for m in option("model") or () if m.strip()) or DEFAULT_MODELS
    common = option("model-args")
    models = tuple(parse_spec(name, common) for name in names)
    lrs = tuple(number(x.strip(), float, "lr", minimum=0.0) for x in str(option("lr") or "").split(",") if x.strip())
    optimizer = option("optimizer")
    if optimizer is not None and optimizer not in OPTIMIZERS:
        raise InputError(f"--eif-optimizer {optimizer!r}: choose one of {', '.join(OPTIMIZERS)}.")
    engine = option("engine") or "exact"
    if engine not in ("exact", "first-order"):
        raise InputError(f"--eif-engine {engine!r}: the finetune condition runs 'exact' or 'first-order'.")
    cache = option("cache") or "off"
    if cache not in CACHE_MODES:
        raise InputError(f"--eif-cache {cache!r}: choose one of {', '.join(CACHE_MODES)}.")
    stimulus_format = option("stimulus-format") or "statement"
    if stimulus_format not in STIMULUS_FORMATS:
        raise InputError(f"--eif-stimulus-format {stimulus_format!r}: choose one of {', '.join(STIMULUS_FORMATS)}.")
    thresholds = Thresholds().replace(**pairs(option("threshold"), "threshold"))
    from eifbench.desiderata import DESIDERATA
    from eifbench.report.results.baseline import check_tolerances

    tolerances = check_tolerances(pairs(option("tolerance"), "tolerance"), list(DESIDERATA))
    catalog = option("catalog")
    if catalog and not Path(catalog).is_dir():
        raise InputError(f"--eif-catalog {catalog}: no such folder (it holds one TOML file per model).")
    stimuli = option("stimuli")
    return RunOptions(
        models=models,
        steps=number(option("steps"), int, "steps"),
        lrs=lrs,
        optimizer=optimizer,
        engine=engine,
        limit=number(option("limit"), int, "limit", minimum=2),
        thresholds=thresholds,
        tolerances=tolerances,
        seed=number(option("seed"), int, "seed", minimum=0) or 0,
        stimuli_path=stimuli,
        stimulus_format=stimulus_format,
        catalog_dir=Path(catalog) if catalog else rootdir / "models",
        paranoid=bool(option("paranoid")),
        falsify=bool(option("falsify")),
        ray=option("ray"),
        reports={name: option(name) for name in REPORTS if option(name)},
        compare=option("compare"),
        compare_as=option("compare-as"),
        cache=cache,
    )
