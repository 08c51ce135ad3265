"""Baselines: load a saved run, compare a new run to it, explain what regressed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tabulate import tabulate

from eifbench.errors import BaselineError
from eifbench.report.records import SCHEMA_VERSION, record_key

# how far a value may move in the bad direction before it is a regression
DEFAULT_TOLERANCES: dict[str, float] = {
    "distance": 0.1,
    "sparseness": 0.05,
    "noise invariance": 0.1,
    "transitivity": 0.1,
    "logical consistency": 0.1,
    "asymmetry": 0.1,
}


def load_report(path: str | Path) -> dict[str, Any]:
    """Read and validate an eifbench JSON report or baseline.

    Raises:
        BaselineError: missing, not JSON, not an eifbench report, or another schema version.

    """
    file = Path(path)
    if not file.is_file():
        raise BaselineError(f"No baseline file at {file}; create one with --eif-save-baseline {file}.")
    try:
        doc = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BaselineError(
            f"{file} is not valid JSON ({error}); it is corrupt: regenerate it with --eif-save-baseline."
        ) from error
    if not isinstance(doc, dict) or "schema_version" not in doc or not isinstance(doc.get("results"), list):
        raise BaselineError(f"{file} is not an eifbench report (no schema_version / results).")
    if doc["schema_version"] != SCHEMA_VERSION:
        raise BaselineError(
            f"{file} has schema_version {doc['schema_version']}, this eifbench reads {SCHEMA_VERSION}; "
            "regenerate the baseline with this version (--eif-save-baseline)."
        )
    for i, record in enumerate(doc["results"]):
        if not isinstance(record, dict) or not {"model", "desideratum", "condition", "status", "recipe"} <= set(record):
            raise BaselineError(f"{file}: result #{i} lacks model/desideratum/condition/status/recipe.")
    return doc


class Baseline(dict):
    """Baseline records keyed by ``record_key`` (column, desideratum, condition, test).

    A baseline of a single model also matches a run of another single model: that is how a
    fine-tuned checkpoint (``hf:./tuned``) is gated against its base (``hf:./base``).
    """

    def match(self, key: tuple[str, str, str, str]) -> dict[str, Any] | None:
        """The baseline record for a key, falling back to the only model of the baseline."""
        if key in self:
            return self[key]
        columns = {k[0] for k in self}
        if len(columns) == 1:
            return self.get((next(iter(columns)), *key[1:]))
        return None


def index(doc: dict[str, Any]) -> Baseline:
    """Records keyed by ``record_key``."""
    return Baseline({record_key(r): r for r in doc["results"]})


def check_recipes(baseline: Baseline, current: dict[tuple[str, str], dict[str, Any]], path: str) -> None:
    """Refuse a baseline measured with another recipe for the same model and condition.

    Args:
        baseline: baseline records.
        current: ``(column, condition) -> recipe record`` of this run.
        path: the baseline's name, for the message.

    """
    for (column, condition), recipe in current.items():
        record = next((baseline.match((column, *k[1:])) for k in baseline if k[2] == condition), None)
        if record is not None and record["recipe"] != recipe:
            raise BaselineError(
                f"Baseline {path} measured {column} ({condition}) with {record['recipe']}, this run uses "
                f"{recipe}; pass the same --eif-lr/--eif-steps/--eif-optimizer or save a new baseline."
            )


@dataclass(frozen=True)
class Comparison:
    """How one record compares to its baseline."""

    kind: str  # "regression", "known-violation", "ok", "new"
    delta: float | None  # how much worse (positive = worse), in metric units
    table: str


def _worse_by(before: dict[str, Any], after: dict[str, Any]) -> float | None:
    if before.get("value") is None or after.get("value") is None:
        return None
    change = after["value"] - before["value"]
    return -change if after["higher_is_better"] else change


def compare(before: dict[str, Any] | None, after: dict[str, Any], tolerances: dict[str, float]) -> Comparison:
    """Classify a record against its baseline record (None when the baseline lacks it)."""
    if before is None:
        return Comparison("new", None, "")
    worse = _worse_by(before, after)
    tolerance = tolerances.get(after["desideratum"], DEFAULT_TOLERANCES.get(after["desideratum"], 0.1))
    rows = [
        ["status", before["status"], after["status"]],
        ["value", _fmt(before.get("value")), _fmt(after.get("value"))],
        ["ci", _fmt_ci(before.get("ci")), _fmt_ci(after.get("ci"))],
    ]
    table = tabulate(rows, headers=["", "baseline", "now"], tablefmt="github")
    newly_failing = after["status"] == "fail" and before["status"] != "fail"
    if newly_failing or (worse is not None and worse > tolerance):
        why = "newly fails" if newly_failing else f"moved {worse:.3f} in the bad direction (tolerance {tolerance})"
        return Comparison("regression", worse, f"{why}\n{table}")
    if after["status"] == "fail":
        return Comparison("known-violation", worse, table)
    return Comparison("ok", worse, table)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _fmt_ci(ci: list[float] | None) -> str:
    return "—" if not ci else f"[{ci[0]:.3f}, {ci[1]:.3f}]"
