"""Baselines: match a run to a saved one, check it measured the same thing, classify what changed.

Reading and validating the file is ``report.results.loading``. A comparison needs the same model
(by spec, or named with ``--eif-compare-as`` for the base-vs-fine-tuned case), the same
model kind, the same recipe and the same stimuli; anything else is a usage error, never a
silent pass.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eifbench.desiderata.base import FAIL, NOT_APPLICABLE
from eifbench.errors import BaselineError
from eifbench.report.results.loading import load_report
from eifbench.report.results.records import Comparison, Record

NOT_MEASURED = "measured in the baseline, not in this run"


def tolerance_of(name: str, tolerances: Mapping[str, float]) -> float:
    """How far a desideratum's value may move in the bad direction before it is a regression.

    The run's ``tolerances`` first, then the desideratum's ``default_tolerance`` (the base class's for a
    name the registry does not know).
    """
    from eifbench.desiderata import DESIDERATA
    from eifbench.desiderata.base import Desideratum

    if name in tolerances:
        return tolerances[name]
    return DESIDERATA[name].default_tolerance if name in DESIDERATA else Desideratum.default_tolerance


# recipe keys whose absence means a default: a record without "trained" trained every weight
RECIPE_DEFAULTS: dict[str, Any] = {"trained": "all"}
# how to make a run's recipe agree with its baseline's, per differing key
RECIPE_FIXES: dict[str, str] = {
    "dtype": "load the model in the baseline's dtype (add dtype={before} to the spec or --eif-model-args)",
    "chat_template": "set chat_template={before} on the spec, as the baseline did",
    "trained": "train what the baseline trained (add trainable=all to an adapter's spec to fine-tune every weight)",
    "stimulus_format": "pass --eif-stimulus-format {before}",
    "engine": "pass --eif-engine {before}",
}


def shaping(recipe: Mapping[str, Any]) -> dict[str, Any]:
    """The recipe fields that shape the numbers, defaults filled in.

    ``batched`` (stimuli fine-tuned at once by the exact engine) is left out: it changes
    only float rounding, so a baseline measured one stimulus at a time still applies.
    """
    shaped = {**RECIPE_DEFAULTS, **recipe}
    shaped.pop("batched", None)
    return shaped


def same_recipe(before: Mapping[str, Any], now: Mapping[str, Any]) -> bool:
    """Whether two recipe records agree on everything that shapes the numbers."""
    return shaping(before) == shaping(now)


def recipe_fix(before: Mapping[str, Any], now: Mapping[str, Any]) -> str:
    """One line saying how to make ``now`` measure what ``before`` measured."""
    old, new = shaping(before), shaping(now)
    differing = sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key))
    fixes = [RECIPE_FIXES[key].format(before=old.get(key)) for key in differing if key in RECIPE_FIXES]
    if any(key not in RECIPE_FIXES for key in differing):
        fixes.append("pass the baseline's recipe (--eif-lr/--eif-steps/--eif-optimizer)")
    return "; ".join(fixes) + ", or save a new baseline"


def measured(value: float | None) -> bool:
    """Whether a record's value is a number (None and NaN both mean nothing was measured)."""
    return value is not None and math.isfinite(value)


@dataclass(frozen=True)
class Gated:
    """One cell a gate judged: the run's record (None: not measured now), the baseline's, the comparison."""

    column: str
    desideratum: str
    condition: str
    record: Record | None
    before: Record | None
    comparison: Comparison


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
                        f"{record.recipe}; this run of {column} uses {recipe}: {recipe_fix(record.recipe, recipe)}."
                    )

    def prepare(
        self,
        run: Mapping[str, str],
        recipes: Mapping[tuple[str, str], dict[str, Any]],
        compare_as: str | None,
    ) -> dict[str, str]:
        """Every check a gate makes before comparing: model, kind and recipe (the suite, CLI and callback alike).

        Args:
            run: run column -> model kind.
            recipes: (run column, condition) -> the recipe this run uses.
            compare_as: the baseline column every run model is compared with, if given.

        Returns:
            Run column -> the baseline column it is gated against.

        Raises:
            BaselineError: no counterpart, another kind, or another recipe (with the fix).

        """
        mapping = self.resolve(run, compare_as)
        self.check_recipes(mapping, recipes)
        return mapping

    def match(self, column: str, record: Record) -> Record | None:
        """The baseline record for a run record of the (mapped) column, or None.

        The same cell (desideratum, condition) from the same test; else the cell's only record
        (a record from ``evaluate()`` has no test id, and an installed suite's ids carry its path).
        """
        same = [r for r in self.records if r.column == column and r.key == record.key]
        exact = [r for r in same if r.test == record.test]
        return exact[0] if exact else same[0] if len(same) == 1 else None

    def missing(self, mapping: Mapping[str, str], records: Sequence[Record]) -> list[tuple[str, Record]]:
        """Baseline cells a gated run did not measure: (run column, baseline record), each a regression.

        A cell measured in the baseline and absent now (a crashed test, ``-k``, a callback
        asked for fewer desiderata) would otherwise leave that desideratum ungated.
        """
        gone = []
        for column, target in mapping.items():
            matched = [self.match(target, r) for r in records if r.column == column]
            for before in self.records:
                if (
                    before.column == target
                    and before.status != NOT_APPLICABLE
                    and all(m is not before for m in matched)
                ):
                    gone.append((column, before))
        return gone

    def gate(
        self, mapping: Mapping[str, str], records: Sequence[Record], tolerances: Mapping[str, float]
    ) -> list[Gated]:
        """Every comparison a gate makes, the cells the run did not measure last (as regressions).

        One per measured record, then one per baseline cell the run lacks (``record`` None).
        The one loop behind ``Evaluation.compare`` and ``EifCallback``; the suite compares record
        by record as each test ends, and ``eifbench compare`` tabulates the same two parts.

        Raises:
            BaselineError: a record measured on other stimuli than its baseline record.

        """
        out = []
        for r in records:
            before = self.match(mapping[r.column], r)
            out.append(
                Gated(r.column, r.desideratum, r.condition, r, before, compare(before, r, tolerances, self.path))
            )
        out += [self.not_measured(column, before, tolerances) for column, before in self.missing(mapping, records)]
        return out

    def not_measured(self, column: str, before: Record, tolerances: Mapping[str, float]) -> Gated:
        """The regression of a baseline cell that a run of ``column`` did not measure."""
        tolerance = tolerance_of(before.desideratum, tolerances)
        gone = Comparison(
            "regression", None, before.value, before.ci, before.status.value, self.path, tolerance, NOT_MEASURED
        )
        return Gated(column, before.desideratum, before.condition, None, before, gone)


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
    tolerance = tolerance_of(after.desideratum, tolerances)
    if before is None:
        return Comparison("new", None, None, None, "", path, tolerance, "not in the baseline")
    if after.status != NOT_APPLICABLE:  # an n/a record built no task: it has no stimuli to compare
        check_stimuli(before, after, path)
    worse = _worse_by(before, after)

    def verdict(kind: str, why: str = "") -> Comparison:
        return Comparison(kind, worse, before.value, before.ci, before.status.value, path, tolerance, why)

    if after.status == FAIL and before.status != FAIL:
        return verdict("regression", "newly fails")
    if measured(before.value) and not measured(after.value):  # n/a now included: a measured cell must stay measured
        lost = "n/a now" if after.status == NOT_APPLICABLE else "no longer measurable"
        return verdict("regression", lost + (f" ({after.reason})" if after.reason else ""))
    if after.status == NOT_APPLICABLE:
        return verdict("ok", "n/a in both")
    if worse is not None and worse > tolerance:
        return verdict("regression", f"moved {worse:.3f} in the bad direction (tolerance {tolerance:g})")
    if after.status == FAIL:
        return verdict("known-violation", "also fails in the baseline")
    if before.status == FAIL or (worse is not None and -worse > tolerance):
        return verdict("improvement", _improved(before, after, worse))
    return verdict("ok")


def _worse_by(before: Record, after: Record) -> float | None:
    if before.value is None or after.value is None or not (measured(before.value) and measured(after.value)):
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
