"""Baselines: load and validate a saved run, match it to a new run, explain what changed.

A comparison needs the same model (by spec, or named with ``--eif-compare-as`` for the
base-vs-fine-tuned case), the same model kind, the same recipe and the same stimuli;
anything else is a usage error, never a silent pass.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from eifbench.desiderata.base import FAIL, NOT_APPLICABLE
from eifbench.errors import BaselineError
from eifbench.report.records import SCHEMA_VERSION, Comparison, Record

# how far a value may move in the bad direction before it is a regression
DEFAULT_TOLERANCES: dict[str, float] = {
    "distance": 0.1,
    "sparseness": 0.05,
    "noise invariance": 0.1,
    "transitivity": 0.1,
    "logical consistency": 0.1,
    "asymmetry": 0.1,
}


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The JSON Schema of reports and baselines, shipped in the package."""
    loaded: dict[str, Any] = json.loads(files("eifbench.report").joinpath("schema.json").read_text())
    return loaded


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def load_report(path: str | Path, role: str = "baseline") -> tuple[dict[str, Any], list[Record]]:
    """Read and validate an eifbench JSON report (``role`` names it in messages).

    Raises:
        BaselineError: missing, not JSON, NaN values, another schema version, or a field
            that does not fit the schema (the message names the record and the field).

    """
    file = Path(path)
    if not file.is_file():
        hint = f"create one with --eif-save-baseline {file}" if role == "baseline" else "write one with --eif-json"
        raise BaselineError(f"No {role} file at {file}; {hint}.")
    try:
        doc = json.loads(file.read_text(encoding="utf-8"), parse_constant=_reject_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as error:
        raise BaselineError(f"{file} is not valid JSON ({error}); the {role} is corrupt: regenerate it.") from error
    if not isinstance(doc, dict) or "schema_version" not in doc or not isinstance(doc.get("results"), list):
        raise BaselineError(f"{file} is not an eifbench report (no schema_version / results).")
    if doc["schema_version"] != SCHEMA_VERSION:
        raise BaselineError(
            f"{file} has schema_version {doc['schema_version']!r}, this eifbench reads {SCHEMA_VERSION!r}; "
            "regenerate the baseline with this version (--eif-save-baseline)."
        )
    import jsonschema

    try:
        jsonschema.validate(doc, schema())
    except jsonschema.ValidationError as error:
        where = "/".join(str(p) for p in error.absolute_path) or "the document"
        raise BaselineError(
            f"{file}: {where}: {error.message}; the {role} does not fit schema {SCHEMA_VERSION}."
        ) from None
    return doc, [Record.from_json(r) for r in doc["results"]]


def same_recipe(before: Mapping[str, Any], now: Mapping[str, Any]) -> bool:
    """Whether two recipe records agree on everything that shapes the numbers.

    ``batched`` (stimuli fine-tuned at once by the exact engine) is left out: it changes
    only float rounding, so a baseline measured one stimulus at a time still applies.
    """

    def shaping(recipe: Mapping[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in recipe.items() if key != "batched"}

    return shaping(before) == shaping(now)


@dataclass(frozen=True)
class Baseline:
    """A loaded baseline: its records by model column and (desideratum, condition, test)."""

    path: str
    records: tuple[Record, ...]

    @classmethod
    def load(cls, path: str | Path) -> Baseline:
        """Load and validate a baseline file."""
        _, records = load_report(path)
        return cls(str(path), tuple(records))

    @property
    def columns(self) -> list[str]:
        """The models (report columns) the baseline measured, in order."""
        return list(dict.fromkeys(r.column for r in self.records))

    def resolve(self, run: Mapping[str, str], compare_as: str | None) -> dict[str, str]:
        """Map each run column to the baseline column it is gated against.

        Args:
            run: run column -> model kind.
            compare_as: the baseline column every run model is compared with, if given.

        Raises:
            BaselineError: a run model with no counterpart, or a counterpart of another kind.

        """
        known = self.columns
        if compare_as is not None and compare_as not in known:
            raise BaselineError(
                f"--eif-compare-as {compare_as!r}: the baseline {self.path} has no model of that name; it has {known}."
            )
        mapping: dict[str, str] = {}
        for column, kind in run.items():
            target = column if column in known else compare_as
            if target is None:
                raise BaselineError(
                    f"The baseline {self.path} measured {known}, not {column!r}: nothing to gate against. To gate a "
                    f"fine-tuned checkpoint against its base, pass --eif-compare-as {known[0]!r}."
                )
            kinds = {r.kind for r in self.records if r.column == target}
            if kind not in kinds:
                raise BaselineError(
                    f"The baseline {self.path} measured {target!r} as a {'/'.join(sorted(kinds))}, but {column!r} "
                    f"is a {kind}; a baseline only gates a model of the same kind."
                )
            mapping[column] = target
        return mapping

    def check_recipes(self, mapping: Mapping[str, str], recipes: Mapping[tuple[str, str], dict[str, Any]]) -> None:
        """Refuse a baseline any of whose records measured a mapped model with another recipe.

        Args:
            mapping: run column -> baseline column.
            recipes: (run column, condition) -> the recipe this run uses.

        """
        for (column, condition), recipe in recipes.items():
            target = mapping[column]
            for record in self.records:
                if record.column == target and record.condition == condition and not same_recipe(record.recipe, recipe):
                    raise BaselineError(
                        f"Baseline {self.path} measured {target} ({condition}, {record.desideratum}) with "
                        f"{record.recipe}; this run of {column} uses {recipe}. Pass the same recipe "
                        "(--eif-lr/--eif-steps/--eif-optimizer/--eif-stimulus-format) or save a new baseline."
                    )

    def match(self, column: str, record: Record) -> Record | None:
        """The baseline record for a run record of the (mapped) column, or None."""
        return next((r for r in self.records if r.column == column and r.key == record.key), None)


def check_stimuli(before: Record, after: Record, path: str) -> None:
    """Refuse to compare records measured on different stimuli (bank, seed or stimuli file)."""
    if before.stimuli != after.stimuli:
        raise BaselineError(
            f"Baseline {path} measured {after.desideratum} ({after.condition}) on stimuli {before.stimuli} "
            f"(bank {before.bank}), this run uses {after.stimuli} (bank {after.bank}): a comparison would be "
            "meaningless. Use the same --eif-seed, --eif-limit and stimuli file, or save a new baseline."
        )


def compare(before: Record | None, after: Record, tolerances: Mapping[str, float], path: str) -> Comparison:
    """Classify a record against its baseline record (None when the baseline lacks it)."""
    tolerance = tolerances.get(after.desideratum, DEFAULT_TOLERANCES.get(after.desideratum, 0.1))
    if before is None:
        return Comparison("new", None, None, None, "", path, tolerance, "not in the baseline")
    check_stimuli(before, after, path)
    worse = _worse_by(before, after)

    def verdict(kind: str, why: str = "") -> Comparison:
        return Comparison(kind, worse, before.value, before.ci, before.status.value, path, tolerance, why)

    if after.status == FAIL and before.status != FAIL:
        return verdict("regression", "newly fails")
    if before.value is not None and after.value is None and after.status != NOT_APPLICABLE:
        return verdict("regression", "no longer measurable")
    if worse is not None and worse > tolerance:
        return verdict("regression", f"moved {worse:.3f} in the bad direction (tolerance {tolerance:g})")
    if after.status == FAIL:
        return verdict("known-violation", "also fails in the baseline")
    if before.status == FAIL or (worse is not None and -worse > tolerance):
        return verdict("improvement", _improved(before, after, worse))
    return verdict("ok")


def _worse_by(before: Record, after: Record) -> float | None:
    if before.value is None or after.value is None:
        return None
    change = after.value - before.value
    return -change if after.higher_is_better else change


def _improved(before: Record, after: Record, worse: float | None) -> str:
    if before.status == FAIL:
        return f"was {before.status.value.upper()}, now {after.status.value.upper()}"
    return f"moved {-(worse or 0.0):.3f} in the good direction"


def check_tolerances(tolerances: Mapping[str, float], known: Sequence[str]) -> dict[str, float]:
    """Validate tolerance overrides: known desiderata, finite and >= 0."""
    unknown = set(tolerances) - set(known)
    if unknown:
        raise BaselineError(f"--eif-tolerance for unknown desiderata {sorted(unknown)}; known: {', '.join(known)}.")
    for name, value in tolerances.items():
        if not math.isfinite(value) or value < 0:
            raise BaselineError(f"--eif-tolerance {name}={value}: a tolerance is a finite number >= 0.")
    return dict(tolerances)
