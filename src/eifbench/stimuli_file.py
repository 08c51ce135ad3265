"""Reading a user's stimuli file (``--eif-stimuli``): json / jsonl / csv / parquet via ``datasets``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from eifbench.errors import StimuliFileError

FORMATS = {".json": "json", ".jsonl": "json", ".csv": "csv", ".parquet": "parquet"}
REQUIRED = ("prompt", "completion")


@lru_cache(maxsize=4)
def read_stimuli_file(path: str) -> tuple[dict[str, Any], ...]:
    """The rows of a stimuli file, each a dict; validated for the required columns.

    Raises:
        StimuliFileError: missing file, unknown format, unreadable content, no rows, or a
            missing ``prompt`` / ``completion`` column.

    """
    file = Path(path)
    if not file.is_file():
        raise StimuliFileError(f"--eif-stimuli {path}: no such file.")
    kind = FORMATS.get(file.suffix.lower())
    if kind is None:
        raise StimuliFileError(f"--eif-stimuli {path}: use a .json, .jsonl, .csv or .parquet file.")
    import datasets

    datasets.disable_progress_bars()
    try:
        table = datasets.load_dataset(kind, data_files=str(file), split="train", cache_dir=None)
    except Exception as error:  # datasets raises many types for a malformed file
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise StimuliFileError(f"--eif-stimuli {path} could not be read as {kind}: {first}") from None
    missing = set(REQUIRED) - set(table.column_names)
    if missing:
        raise StimuliFileError(
            f"--eif-stimuli {path} lacks the required column(s) {sorted(missing)}; see the README schema."
        )
    rows = tuple(dict(r) for r in table)
    if not rows:
        raise StimuliFileError(f"--eif-stimuli {path} has no rows.")
    return rows
