"""Parse ``--eif-*`` option values (or ini keys) into a frozen ``RunOptions``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from eifbench.desiderata.base import Thresholds
from eifbench.errors import InputError
from eifbench.finetune import OPTIMIZERS
from eifbench.session import DEFAULT_MODELS, RunOptions


def _pairs(values: list[str] | None, what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in values or []:
        name, sep, raw = item.partition("=")
        if not sep:
            raise InputError(f"--eif-{what} {item!r} must be NAME=VALUE.")
        try:
            out[name.strip().replace("-", "_") if what == "threshold" else name.strip()] = float(raw)
        except ValueError:
            raise InputError(f"--eif-{what} {item!r}: {raw!r} is not a number.") from None
    return out


def _number(raw: Any, kind: type, what: str) -> Any:
    if raw is None:
        return None
    try:
        value = kind(raw)
    except ValueError:
        raise InputError(f"--eif-{what} {raw!r} is not a valid {kind.__name__}.") from None
    if value <= 0 and what != "seed":
        raise InputError(f"--eif-{what} must be positive, got {raw!r}.")
    return value


def parse_options(option: Callable[[str], Any], rootdir: Path) -> RunOptions:
    """Build RunOptions from an ``option(name)`` lookup (command line first, then ini)."""
    models = tuple(m.strip() for m in option("model") or () if m.strip()) or DEFAULT_MODELS
    lrs = tuple(_number(x.strip(), float, "lr") for x in str(option("lr") or "").split(",") if x.strip())
    optimizer = option("optimizer")
    if optimizer is not None and optimizer not in OPTIMIZERS:
        raise InputError(f"--eif-optimizer {optimizer!r}: choose one of {', '.join(OPTIMIZERS)}.")
    engine = option("engine") or "exact"
    if engine not in ("exact", "first-order"):
        raise InputError(f"--eif-engine {engine!r}: the finetune condition runs 'exact' or 'first-order'.")
    thresholds = Thresholds().replace(**_pairs(option("threshold"), "threshold"))
    from eifbench.desiderata import DESIDERATA

    tolerances = _pairs(option("tolerance"), "tolerance")
    unknown = set(tolerances) - set(DESIDERATA)
    if unknown:
        raise InputError(f"--eif-tolerance for unknown desiderata {sorted(unknown)}; known: {', '.join(DESIDERATA)}.")
    catalog = option("catalog")
    return RunOptions(
        models=models,
        model_args=option("model-args"),
        steps=_number(option("steps"), int, "steps"),
        lrs=lrs,
        optimizer=optimizer,
        engine=engine,
        limit=_number(option("limit"), int, "limit"),
        thresholds=thresholds,
        tolerances=tolerances,
        seed=_number(option("seed"), int, "seed") or 0,
        stimuli_path=option("stimuli"),
        catalog_dir=Path(catalog) if catalog else rootdir / "models",
        paranoid=bool(option("paranoid")),
        falsify=bool(option("falsify")),
        ray=option("ray"),
    )
