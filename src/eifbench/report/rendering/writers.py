"""Write the files a run asked for (``outputs.WRITERS``: JSON, baseline, markdown, HTML); check their paths up front."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eifbench.errors import InputError
from eifbench.report.rendering.outputs import DOCUMENT_WRITERS
from eifbench.report.results.records import Record, document, write_atomic, write_json

# bidirectional-text controls: in a model name or a stimulus they can reorder what a reviewer reads
# (a "Trojan Source" display), so rendered reports show them as visible code points instead
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


VISIBLE = {ord(char): f"[U+{ord(char):04X}]" for char in BIDI_CONTROLS}


def visible_controls(text: str) -> str:
    """``text`` with every bidirectional control character written as ``[U+202E]``."""
    return text.translate(VISIBLE)


def check_report_paths(reports: Mapping[str, str]) -> None:
    """Refuse, before anything runs, a report path that cannot be written.

    Raises:
        InputError: the path is a folder, its parent is a file, or the folder is not writable.

    """
    for name, raw in reports.items():
        path = Path(raw)
        if path.is_dir():
            raise InputError(f"--eif-{name} {raw}: that is a folder; give a file path (e.g. {path / 'report.json'}).")
        parent = path.parent if str(path.parent) else Path(".")
        existing = parent
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir():
            raise InputError(f"--eif-{name} {raw}: {existing} is a file, not a folder.")
        if not os.access(existing, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise InputError(f"--eif-{name} {raw}: cannot write there (permission denied); choose another path.")


def write_reports(
    reports: Mapping[str, str],
    records: list[Record],
    *,
    complete: bool,
    folder: Path,
    seconds: float,
    missing: Sequence[Mapping[str, str]] = (),
    gate: Mapping[str, Any] | None = None,
    exit_code: int | None = None,
) -> tuple[list[Path], list[str]]:
    """Write every requested report; returns the paths written and one message per failure.

    Args:
        reports: report name (json, save-baseline, markdown, html) -> path.
        records: the run's records.
        complete: whether every selected test produced a record and nothing stopped the run.
        folder: where the run's commit is read.
        seconds: the run's wall time.
        missing: the tests without a record, ``{"test", "why"}`` each.
        gate: the baseline comparison's counts and the cells it lost, when gated.
        exit_code: the code the run exits with, when known before writing (the verdict line states it).

    """
    written: list[Path] = []
    errors: list[str] = []
    writers = {writer.name: writer for writer in DOCUMENT_WRITERS}
    wanted = {k: v for k, v in reports.items() if k in writers}
    if not wanted:
        return written, errors
    extra: dict[str, Any] = {"seconds": round(seconds, 1), "missing": [dict(m) for m in missing]}
    if gate is not None:
        extra["gate"] = dict(gate)
    if exit_code is not None:
        extra["exit_code"] = int(exit_code)
    if "save-baseline" in wanted:  # such a run exits 0 whatever its verdicts: the reports' verdict line says so
        extra["saves_baseline"] = True
    doc = document(records, complete=complete, folder=folder, extra=extra)
    for name, path in wanted.items():
        try:
            render = writers[name].render
            if render is None:
                write_json(path, doc)
            else:
                write_atomic(path, visible_controls(render(doc, records)))
            written.append(Path(path))
        except OSError as error:
            errors.append(f"could not write --eif-{name} {path}: {error.strerror or error}")
    return written, errors
