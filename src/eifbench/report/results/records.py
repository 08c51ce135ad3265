"""The typed result record and the versioned JSON document (``--eif-json``, baselines).

One ``Record`` per model x desideratum x condition (x recipe) flows from the verdict to
the JSON file, the tables, markdown, HTML and baselines; nothing downstream re-parses a
rendered cell to learn a status.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eifbench.desiderata.base import Status

# 3: Desiderata v3 (learned items only, a minimum item count, completion-matched controls, distance's
# contrast): the numbers of a version-2 report are not comparable, so its baselines are refused
SCHEMA_VERSION = 3
RECORD_KEY = "eif_record"
USAGE_ERROR_KEY = "eif_usage_error"  # a test that refused its input (a model that cannot load...) says why
MEASURES_MARK = "eif_measures"  # the marker of a test that must produce one record
VERSIONED_PACKAGES = ("torch", "transformers", "hypothesis", "numpy", "datasets", "peft")


def finite(value: float | None) -> float | None:
    """JSON has no NaN: map NaN/inf to None."""
    return None if value is None or not math.isfinite(value) else float(value)


@dataclass(frozen=True)
class Comparison:
    """How a record compares to its baseline record (``gate`` of the record).

    ``kind``: ``regression``, ``known-violation``, ``improvement``, ``ok`` or ``new``.
    """

    kind: str
    worse_by: float | None
    baseline_value: float | None
    baseline_ci: tuple[float, float] | None
    baseline_status: str
    baseline_file: str
    tolerance: float
    why: str = ""


@dataclass(frozen=True)
class Record:
    """One desideratum measured on one model under one condition, as reported and saved.

    Attributes:
        model: the model spec as the user wrote it (without args).
        column: the report column (the model, plus the lr in a sweep).
        kind: the model kind (``causal-lm``, ``classifier``...).
        stimuli: digest of the exact stimuli, probes and masks of the task.
        bank: the stimulus bank version (``user:<file digest>`` for a stimuli file).
        recipe: engine and fine-tune recipe (engine only in context), plus anything else a
            baseline must match (stimulus format, chat template).
        examples: the items that violate the desideratum most, worst first (``report.explanation.explain``):
            ``item``, ``index``, ``value`` and, from the task's layout, ``text`` (a sentence with
            the raw nats of the cells behind it), ``cells`` and for images ``images`` (28x28
            grayscale thumbnails, base64).
        figure: the heatmap of the cells the metric reads, with labelled row and column
            blocks and a caption (``report.explanation.views``).
        gate: the baseline comparison, when the run was gated.

    """

    model: str
    column: str
    kind: str
    desideratum: str
    condition: str
    status: Status
    metric: str
    value: float | None
    ci: tuple[float, float] | None
    threshold: float
    higher_is_better: bool
    n: int
    unmeasured: int
    seconds: float
    recipe: dict[str, Any]
    stimuli: str
    bank: str
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    nodeid: str = ""
    test: str = ""
    examples: tuple[dict[str, Any], ...] = ()
    figure: dict[str, Any] | None = None
    gate: Comparison | None = None
    outcome: str | None = None
    versions: dict[str, str | None] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        """The cell a record measures within its model column: (desideratum, condition).

        A baseline matches on it, and on the test id only to tell apart several tests of one
        cell: ``evaluate()`` and the training callback have no test id, and a suite installed
        elsewhere names its tests by another path (``Baseline.match``).
        """
        return (self.desideratum, self.condition)

    def replace(self, **changes: Any) -> Record:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN -> null, tuples -> lists)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["status"] = self.status.value
        out["value"] = finite(self.value)
        out["ci"] = None if self.ci is None else [finite(self.ci[0]), finite(self.ci[1])]
        out["gate"] = None if self.gate is None else dataclasses.asdict(self.gate)
        out["examples"] = list(self.examples)
        converted: dict[str, Any] = jsonable(out)
        return converted

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        """The record of a validated document entry (see ``report/results/schema.json``)."""
        values: dict[str, Any] = {f.name: data.get(f.name) for f in dataclasses.fields(cls) if f.name in data}
        values["status"] = Status(data["status"])
        ci = data.get("ci")
        values["ci"] = None if ci is None or None in ci else (float(ci[0]), float(ci[1]))
        gate = data.get("gate")
        if gate:
            baseline_ci = gate.get("baseline_ci")
            values["gate"] = Comparison(**{**gate, "baseline_ci": tuple(baseline_ci) if baseline_ci else None})
        values["examples"] = tuple(data.get("examples") or ())
        values.setdefault("details", {})
        values.setdefault("versions", {})
        return cls(**values)


def jsonable(value: Any) -> Any:
    """Numpy scalars and arrays, tuples and NaN turned into plain JSON values."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, float):
        return finite(value)
    if hasattr(value, "tolist"):
        return jsonable(value.tolist())
    return value


def package_versions() -> dict[str, str | None]:
    """Versions of eifbench and of the libraries that decide the numbers."""
    from importlib.metadata import PackageNotFoundError, version

    from eifbench import __version__
    from eifbench.bank import BANK_VERSION

    out: dict[str, str | None] = {"eifbench": __version__, "bank": BANK_VERSION, "python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def machine_info() -> dict[str, Any]:
    """Where the run happened (like pytest-benchmark's machine_info)."""
    info: dict[str, Any] = {
        "node": platform.node(),
        "machine": platform.machine(),
        "system": platform.system(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
    }
    torch = sys.modules.get("torch")
    # only a torch that finished importing: a Ctrl-C during `import torch` leaves a half-built module,
    # and touching (or re-importing) it while the interrupted run writes its report can crash the process
    if torch is not None and not getattr(getattr(torch, "__spec__", None), "_initializing", False):
        try:
            info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
        except (AttributeError, RuntimeError):  # a partial or broken CUDA setup: the report still gets written
            info["cuda"] = None
    return info


def commit_info(folder: Path) -> dict[str, Any]:
    """The git commit of the checkout ``folder`` is in (``id``, ``branch``, ``dirty``); empty when none."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, timeout=10)
        # a failed call is no answer: in a repository without commits `rev-parse HEAD` prints "HEAD"
        return done.stdout.strip() if done.returncode == 0 else ""

    try:
        commit = git("rev-parse", "--verify", "HEAD")
    except (OSError, subprocess.SubprocessError):
        return {}
    if not commit:
        return {}
    return {
        "id": commit,
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": bool(git("status", "--porcelain")),
    }


def document(
    records: list[Record], *, complete: bool, folder: Path | None = None, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON document of a run.

    ``commit_info`` is the commit of the project the run was started in: the current working
    directory's checkout (pytest is back there when reports are written), empty outside one.
    ``folder`` (the suite's rootdir, for callers that pass it) is not read for it: under
    ``eifbench run`` that is the installed suite, or eifbench's own checkout, whose commit says
    nothing about the model under test.
    """
    del folder  # kept in the signature for the callers that still pass it
    versions = package_versions()
    return {
        "schema_version": SCHEMA_VERSION,
        "eifbench_version": versions["eifbench"],
        "datetime": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "complete": complete,
        "versions": versions,
        "machine_info": machine_info(),
        "commit_info": commit_info(Path.cwd()),
        **(extra or {}),
        "results": [r.to_json() for r in records],
    }


def write_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` so a reader never sees half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, scratch = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        os.chmod(scratch, 0o644)  # mkstemp makes files private; a report is meant to be shared
        os.replace(scratch, target)
    finally:
        if os.path.exists(scratch):
            os.unlink(scratch)


def write_json(path: str | Path, doc: dict[str, Any]) -> None:
    """Write a document as indented JSON, atomically."""
    write_atomic(path, json.dumps(doc, indent=2) + "\n")
