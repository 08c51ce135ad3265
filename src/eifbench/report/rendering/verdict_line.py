"""The one line every report opens with: what was counted, and the exit code it means.

``2 regressions, 1 improvement, 1 known violation → gate FAILED (exit 1)`` for a gated
run, ``3 pass, 2 fail, 1 inconclusive → FAILED (exit 1)`` for an ungated one, and
``INCOMPLETE`` first whenever the run left tests without a result. The terminal, the
markdown and HTML reports and ``eifbench compare`` all print ``verdict_line(doc, records)``,
so they cannot disagree about what a run concluded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from eifbench.desiderata.base import FAIL, INCONCLUSIVE, NOT_APPLICABLE, PASS
from eifbench.report.results.records import Record

if TYPE_CHECKING:
    from eifbench.plugin.collector import Reporter

RAISED = "raised before the test produced a result"  # the collector's why for a crashed test
NEVER_RAN = "never ran"
PYTEST_INTERRUPTED = 2  # pytest's own code for Ctrl-C; `eifbench run` turns it into 130
OUTCOMES = {
    0: "ok",
    1: "FAILED",
    PYTEST_INTERRUPTED: "INTERRUPTED",
    3: "a report could not be written",
    4: "usage error",
    130: "INTERRUPTED",
    143: "TERMINATED",
}


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def failing(record: Record) -> bool:
    """Whether a record fails its test: a regression, or a FAIL that is not a known violation."""
    if record.gate is not None and record.gate.kind == "regression":
        return True
    return record.status == FAIL and (record.gate is None or record.gate.kind != "known-violation")


def exit_code_of(doc: Mapping[str, Any], records: Sequence[Record]) -> int | None:
    """The exit code the run that wrote ``doc`` returns, or None where the document cannot tell.

    ``doc["exit_code"]``, when the writer knew it, wins. Otherwise it is derived as the
    collector settles it: a complete run exits 1 on a failing test or a regression (0 when it
    saved a baseline without regressing); an incomplete run exits 4 for a refused input, 1
    for crashed tests, and is left undecided when tests never ran (interrupted, 130 or 143,
    or stopped early by ``-x``, 1: the document does not say which).
    """
    code = doc.get("exit_code")
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    gate = doc.get("gate") or {}
    regressed = int(gate.get("regressions") or 0) > 0 or any(
        r.gate is not None and r.gate.kind == "regression" for r in records
    )
    if not doc.get("complete", True):
        whys = [str(m.get("why", "")) for m in doc.get("missing") or []]
        if not whys or any(w == NEVER_RAN or w.startswith("interrupted") for w in whys):
            return None
        if any(not w.endswith(RAISED) for w in whys):  # a test's one-line refusal of its input
            return 4
        return 1
    if regressed:
        return 1
    if doc.get("saves_baseline"):  # saving a baseline succeeds whatever the verdicts
        return 0
    return 1 if any(failing(r) for r in records) else 0


def counts(doc: Mapping[str, Any], records: Sequence[Record]) -> str:
    """``2 regressions, 1 improvement, 1 known violation`` (gated) or ``3 pass, 2 fail, 1 inconclusive``."""
    gate = doc.get("gate")
    if gate is not None:
        new_failures = sum(r.status == FAIL and (r.gate is None or r.gate.kind == "new") for r in records)
        parts = [
            _plural(int(gate.get("regressions") or 0), "regression"),
            _plural(int(gate.get("improvements") or 0), "improvement"),
            _plural(int(gate.get("known_violations") or 0), "known violation"),
        ]
        if new_failures:
            parts.append(_plural(new_failures, "new failure"))
        return ", ".join(parts)
    tally = [
        (sum(r.status == PASS for r in records), "pass"),
        (sum(r.status == FAIL for r in records), "fail"),
        (sum(r.status == INCONCLUSIVE for r in records), "inconclusive"),
        (sum(r.status == NOT_APPLICABLE for r in records), "n/a"),
    ]
    shown = [f"{count} {word}" for count, word in tally if count]
    return ", ".join(shown) if shown else "no results"


def verdict_line(doc: Mapping[str, Any], records: Sequence[Record]) -> str:
    """The run's conclusion in one line, with the exit code its process returns.

    Args:
        doc: the run's JSON document (``complete``, ``missing``, ``gate``, optionally
            ``exit_code`` and ``saves_baseline``); only those keys are read.
        records: the run's records.

    Returns:
        e.g. ``INCOMPLETE (2 tests without a result) · 3 pass, 1 fail → FAILED (exit 1)``.

    """
    head = ""
    if not doc.get("complete", True):
        missing = len(doc.get("missing") or [])
        head = f"INCOMPLETE ({_plural(missing, 'test')} without a result) · " if missing else "INCOMPLETE · "
    code = exit_code_of(doc, records)
    gated = doc.get("gate") is not None
    if code is None:
        outcome = "INCOMPLETE: interrupted (exit 130/143) or stopped early (exit 1); gates refuse this report"
    elif code == PYTEST_INTERRUPTED:
        outcome = "INTERRUPTED (exit 130 from eifbench run, 2 from pytest)"
    else:
        word = OUTCOMES.get(code, "FAILED")
        if code == 0 and doc.get("saves_baseline") and doc.get("complete", True):
            word = "baseline saved"
        outcome = f"{'gate ' if gated and code in (0, 1) else ''}{word} (exit {code})"
    return f"{head}{counts(doc, records)} → {outcome}"


def print_verdict(reporter: Reporter, terminalreporter: Any) -> None:
    """Write the verdict line in the terminal summary, with the exit code pytest settled on. Never raises.

    The collector settles ``session.exitstatus`` in ``pytest_sessionfinish``, which runs
    before the terminal summary, so the line states the code the process returns.
    """
    try:
        records = reporter.ordered()
        session = getattr(terminalreporter, "_session", None)
        doc: dict[str, Any] = {"complete": reporter.complete, "missing": reporter.missing}
        if "save-baseline" in reporter.options.reports:
            doc["saves_baseline"] = True
        if session is not None:
            doc["exit_code"] = int(session.exitstatus)
        gate = reporter._gate_summary(records)
        if gate is not None:
            doc["gate"] = gate
        code = exit_code_of(doc, records)
        line = f"eifbench: {verdict_line(doc, records)}"
    except Exception as error:  # noqa: BLE001 - the summary must never raise; say what broke instead
        terminalreporter.write_line(f"eifbench: (no verdict line: {type(error).__name__}: {error})")
        return
    terminalreporter.write_line(line, red=code != 0, green=code == 0, bold=True)
