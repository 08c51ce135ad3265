"""Result records and the versioned JSON document (``--eif-json``, baselines)."""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import subprocess
import tempfile
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
RECORD_KEY = "eif_record"


def finite(value: float | None) -> float | None:
    """JSON has no NaN: map NaN/inf to None."""
    return None if value is None or not math.isfinite(value) else float(value)


def make_record(case: Any, measurement: Any, seconds: float, nodeid: str) -> dict[str, Any]:
    """One record per test: model x desideratum x condition (x recipe)."""
    low, high = measurement.ci
    suffix = f"@{case.spec}"  # pytest-xdist's loadgroup appends the group to the node id
    nodeid = nodeid[: -len(suffix)] if nodeid.endswith(suffix) else nodeid
    return {
        "model": case.spec,
        "column": case.column,
        "desideratum": measurement.desideratum,
        "condition": case.condition,
        "status": measurement.status,
        "metric": measurement.metric,
        "value": finite(measurement.value),
        "ci": None if finite(low) is None or finite(high) is None else [float(low), float(high)],
        "threshold": measurement.threshold,
        "higher_is_better": measurement.higher_is_better,
        "n": measurement.n,
        "seconds": round(seconds, 3),
        "recipe": recipe_record(case),
        "reason": measurement.reason,
        "details": _jsonable(measurement.details),
        "nodeid": nodeid,
        # the test independent of the model: how a baseline of one model matches another's run
        "test": nodeid.replace(case.id, "{case}"),
    }


def recipe_record(case: Any) -> dict[str, Any]:
    """The recipe a record depends on: in context there is no fine-tune, only the engine."""
    if case.condition != "finetune":
        return {"engine": case.engine}
    return {"engine": case.engine, **case.recipe.as_record()}


def record_key(record: dict[str, Any]) -> tuple[str, str, str, str]:
    """What a baseline matches on.

    The column (model, lr when sweeping), desideratum, condition, and the test (its node
    id with the model/condition part left out).
    """
    return (record.get("column") or record["model"], record["desideratum"], record["condition"], record.get("test", ""))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return finite(value)
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    return value


def machine_info() -> dict[str, Any]:
    """Where the run happened (like pytest-benchmark's machine_info)."""
    info: dict[str, Any] = {
        "node": platform.node(),
        "machine": platform.machine(),
        "system": platform.system(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:  # pragma: no cover
        pass
    return info


def commit_info(folder: Path) -> dict[str, Any]:
    """The git commit of ``folder``, if it is a checkout."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, timeout=10).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
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
    records: list[dict[str, Any]], *, complete: bool, folder: Path, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON document of a run."""
    from eifbench import __version__

    return {
        "schema_version": SCHEMA_VERSION,
        "eifbench_version": __version__,
        "datetime": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "complete": complete,
        "machine_info": machine_info(),
        "commit_info": commit_info(folder),
        **(extra or {}),
        "results": records,
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
    write_atomic(path, json.dumps(doc, indent=2, sort_keys=False) + "\n")
