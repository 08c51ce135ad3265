"""Reading a saved report or baseline: JSON that only finite numbers pass, the schema, whole runs only.

A gate rests on what it reads here, so anything that could make a comparison silently
wrong is refused with the file, the place and the fix: a number JSON does not allow, a
field of the wrong type, an unknown desideratum, two records for one test, and a run
that did not finish (``"complete": false``) or measured nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from eifbench.desiderata.base import NOT_APPLICABLE
from eifbench.errors import BaselineError, IncompleteReportError
from eifbench.report.results.records import SCHEMA_VERSION, Record


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The JSON Schema of reports and baselines, shipped in the package."""
    loaded: dict[str, Any] = json.loads(files("eifbench.report.results").joinpath("schema.json").read_text())
    return loaded


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses as inf: no report ever holds one
        raise ValueError(f"{text} overflows to {value}, not a number a report holds")
    return value


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
        doc = json.loads(file.read_text(encoding="utf-8"), parse_constant=_reject_constant, parse_float=_finite_float)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as error:
        raise BaselineError(f"{file} is not valid JSON ({error}); the {role} is corrupt: regenerate it.") from error
    if not isinstance(doc, dict) or "schema_version" not in doc or not isinstance(doc.get("results"), list):
        raise BaselineError(f"{file} is not an eifbench report (no schema_version / results).")
    if doc["schema_version"] != SCHEMA_VERSION:
        older = (
            " (Desiderata v2: it scored items the model never learned, gave verdicts on one item and had no "
            "completion-matched controls, so its numbers do not compare)"
            if doc["schema_version"] == 2
            else ""
        )
        raise BaselineError(
            f"{file} has schema_version {doc['schema_version']!r}, this eifbench reads {SCHEMA_VERSION!r}{older}; "
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
    records = [Record.from_json(r) for r in doc["results"]]
    _check_keys(file, role, records)
    _check_complete(file, role, doc, records)
    return doc, records


def _check_keys(file: Path, role: str, records: Sequence[Record]) -> None:
    """Refuse unknown desiderata and two records for one cell: either would make matching ambiguous."""
    from eifbench.desiderata import DESIDERATA

    seen: set[tuple[str, str, str, str]] = set()
    for index, record in enumerate(records):
        if record.desideratum not in DESIDERATA:
            raise BaselineError(
                f"{file}: results/{index}: unknown desideratum {record.desideratum!r} (known: "
                f"{', '.join(DESIDERATA)}); the {role} was edited or written by another tool: regenerate it."
            )
        cell = (record.column, *record.key, record.test)
        if cell in seen:
            raise BaselineError(
                f"{file}: results/{index}: a second record for {record.column} · {record.desideratum} · "
                f"{record.condition} from the same test; a {role} holds one per test: regenerate it."
            )
        seen.add(cell)


def _check_complete(file: Path, role: str, doc: Mapping[str, Any], records: Sequence[Record]) -> None:
    """Refuse a report whose run did not produce a result for every test it selected."""
    missing = [str(m.get("test", m)) if isinstance(m, dict) else str(m) for m in doc.get("missing") or []]
    if doc.get("complete") is False or missing:  # "missing" tests contradict a "complete" flag: believe the list
        detail = f" ({len(missing)} test(s) without a result, e.g. {missing[0]})" if missing else ""
        fix = (
            "save the baseline again from a run that finishes (--eif-save-baseline)"
            if role == "baseline"
            else "rerun it to the end, then compare"
        )
        raise IncompleteReportError(
            f"{file} is an incomplete {role}: its run was interrupted or some tests produced no result"
            f"{detail}; a gate cannot rest on it: {fix}."
        )
    if all(r.status == NOT_APPLICABLE for r in records):
        raise IncompleteReportError(
            f"{file} holds no measured results (none, or only n/a); a {role} with nothing measured cannot gate "
            "anything: "
            + ("save it again from a run that measures the model." if role == "baseline" else "rerun the model.")
        )
