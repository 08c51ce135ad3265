"""Reading a user's stimuli file (``--eif-stimuli``): json / jsonl / csv / parquet via ``datasets``.

Every problem with the file is found when the run starts (a usage error naming the file,
the row and the column), never inside a test. ``datasets`` reads into a temporary cache,
so reading a file writes nothing under ``~/.cache``.

Two schemas: facts for language models (``prompt``, ``completion`` and optional columns)
and labelled sentences for text classifiers (``text``, ``label`` - an int class index or
a label name - and optional ``paraphrase``, ``related``). A file is one or the other.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eifbench.errors import InputError, StimuliFileError

if TYPE_CHECKING:
    from eifbench.kinds import ModelKind

FORMATS = {".json": "json", ".jsonl": "json", ".csv": "csv", ".parquet": "parquet"}
REQUIRED = ("prompt", "completion")
LABELLED_REQUIRED = ("text", "label")
LABELLED_OPTIONAL = ("paraphrase", "related")
OPTIONAL = (
    "paraphrase",
    "related_prompt",
    "related_completion",
    "negation",
    "alternative",
    "control_prompt",
    "control_negation",
    "control_completion",
    "premises",
    "entailed_prompt",
    "entailed_completion",
    "control_entailed_prompt",
)


def premises_of(text: str) -> list[tuple[str, str]]:
    """``"prompt|completion;prompt|completion"`` -> [(prompt, completion), ...]."""
    links = []
    for part in text.split(";"):
        prompt, sep, completion = part.partition("|")
        if not sep or not prompt.strip() or not completion.strip():
            raise ValueError(f"premise {part!r} is not 'prompt|completion'")
        links.append((prompt, completion))
    return links


def schema_of(rows: tuple[dict[str, str], ...]) -> str:
    """``"labelled"`` for a text/label file, ``"facts"`` for a prompt/completion file."""
    return "labelled" if rows and "text" in rows[0] else "facts"


def _check_row(path: str, index: int, row: dict[str, Any], labelled: bool = False) -> dict[str, str]:
    clean: dict[str, str] = {}
    required, optional = (LABELLED_REQUIRED, LABELLED_OPTIONAL) if labelled else (REQUIRED, OPTIONAL)
    for column in (*required, *optional):
        value = row.get(column)
        if value is None or (column not in required and value == ""):
            continue
        if column == "label" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # a class index; names stay names
        if column == "label" and isinstance(value, float) and (value != value or value.is_integer()):
            # a CSV column holding one non-integer or one empty cell is read as floats throughout: 1.0 is
            # the class index 1, NaN an empty cell, and the row with 2.5 is the one named below
            value = "" if value != value else str(int(value))
        if not isinstance(value, str):
            raise StimuliFileError(
                f"--eif-stimuli {path}: row {index} column {column!r} is {type(value).__name__} {value!r}; "
                + (
                    "a label is an int class index or a label name."
                    if column == "label"
                    else "every column holds text."
                )
            )
        clean[column] = value
    for column in required:
        if not clean.get(column, "").strip():
            raise StimuliFileError(f"--eif-stimuli {path}: row {index} has an empty {column!r}.")
    if "premises" in clean:
        try:
            premises_of(clean["premises"])
        except ValueError as error:
            raise StimuliFileError(f"--eif-stimuli {path}: row {index} column 'premises': {error}.") from None
    return clean


def read_stimuli_file(path: str) -> tuple[dict[str, str], ...]:
    """The rows of a stimuli file, each a dict of its non-empty text columns, validated.

    Read once per version of the file: the cache is keyed by its size and modification
    time too, so a file edited between two runs in one process is read again.

    Raises:
        StimuliFileError: missing file, unknown format, unreadable or badly encoded content,
            fewer than 2 rows, a missing required column, a non-text value, bad premises.

    """
    file = Path(path)
    if not file.is_file():
        raise StimuliFileError(f"--eif-stimuli {path}: no such file.")
    stat = file.stat()
    return _read_version(path, stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=4)
def _read_version(path: str, size: int, mtime_ns: int) -> tuple[dict[str, str], ...]:
    file = Path(path)
    kind = FORMATS.get(file.suffix.lower())
    if kind is None:
        raise StimuliFileError(f"--eif-stimuli {path}: use a .json, .jsonl, .csv or .parquet file.")
    if kind != "parquet":
        try:
            file.read_bytes().decode("utf-8")
        except UnicodeDecodeError as error:
            raise StimuliFileError(
                f"--eif-stimuli {path} is not UTF-8 text (byte {error.start}: {error.reason}); save it as UTF-8."
            ) from None
    import datasets

    datasets.disable_progress_bars()
    try:
        with tempfile.TemporaryDirectory(prefix="eifbench-stimuli-") as cache:
            table = datasets.load_dataset(
                kind, data_files=str(file), split="train", cache_dir=cache, keep_in_memory=True
            )
            rows = [dict(r) for r in table]
            columns = list(table.column_names)
    except Exception as error:  # datasets raises many types for a malformed file
        cause = error.__cause__ or error.__context__ or error
        first = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        raise StimuliFileError(f"--eif-stimuli {path} could not be read as {kind}: {first}") from None
    labelled = all(c in columns for c in LABELLED_REQUIRED)
    missing = [c for c in REQUIRED if c not in columns]
    if missing and not labelled:
        raise StimuliFileError(
            f"--eif-stimuli {path} lacks the required column(s) {missing} (facts for a language model) or "
            f"{[c for c in LABELLED_REQUIRED if c not in columns]} (labelled sentences for a text classifier); "
            "see the README schema."
        )
    if len(rows) < 2:
        raise StimuliFileError(f"--eif-stimuli {path} has {len(rows)} row(s); a desideratum needs at least 2 facts.")
    return tuple(_check_row(path, i, r, labelled) for i, r in enumerate(rows))


def file_digest(path: str) -> str:
    """A short digest of the file's bytes: the 'bank' of a user-file run."""
    return hashlib.blake2b(Path(path).read_bytes(), digest_size=8).hexdigest()


FACTS_COLUMNS = "prompt, completion (optional: " + ", ".join(OPTIONAL) + ")"
LABELLED_COLUMNS = "text, label (optional: " + ", ".join(LABELLED_OPTIONAL) + ")"


def check_stimuli_kind(path: str | Path, kind: ModelKind | str, labels: Sequence[str] | None = None) -> None:
    """Refuse a stimuli file of the wrong kind for a model, before anything runs (torch-free).

    A language model (causal or seq2seq) reads facts (``prompt``, ``completion``); a text
    classifier reads labelled sentences (``text``, ``label``). An image classifier reads
    no stimuli file (its stimuli are the packaged images), so any file passes for it.

    Args:
        path: the ``--eif-stimuli`` file.
        kind: the model's kind (a ``ModelKind`` or its value, ``"causal-lm"``...).
        labels: a text classifier's label names in class-index order (its
            ``config.id2label``; see ``zoo.architectures.declared_labels``), when known
            before the run: every row's label is then checked, a name against these names,
            a class index against their count. None: checked when the row is read out.

    Raises:
        StimuliFileError: the file is missing or malformed (``read_stimuli_file``).
        InputError: the file holds the other schema (one line: what the file holds, what
            the model needs, the columns to use), or a row's label is not one of ``labels``.

    """
    from eifbench.kinds import ModelKind

    kind = ModelKind(kind)
    if not kind.reads_stimuli_file:
        return
    rows = read_stimuli_file(str(path))
    schema = schema_of(rows)
    if kind.reads_completions and schema == "labelled":
        raise InputError(
            f"--eif-stimuli {path} holds labelled sentences (text, label) for a text classifier, but the model is a "
            f"{kind}, which needs facts: use the columns {FACTS_COLUMNS}."
        )
    if kind == ModelKind.TEXT_CLASSIFIER and schema == "facts":
        raise InputError(
            f"--eif-stimuli {path} holds facts (prompt, completion) for a language model, but the model is a text "
            f"classifier, which needs labelled sentences: use the columns {LABELLED_COLUMNS}."
        )
    if kind == ModelKind.TEXT_CLASSIFIER and labels is not None:
        for index, row in enumerate(rows):
            _check_label(path, index, row["label"], labels)


def _check_label(path: str | Path, index: int, raw: str, labels: Sequence[str]) -> None:
    """A row's label must be one of the model's names or a class index below their count."""
    label = raw.strip()
    names = ", ".join(labels) or "none"
    if label.lstrip("-").isdigit():
        if not 0 <= int(label) < len(labels):
            raise InputError(
                f"--eif-stimuli {path}: row {index} label {label} is out of range: the model has {len(labels)} "
                f"classes (0..{len(labels) - 1}; {names}); use one of those indices or names."
            )
    elif label not in labels:
        raise InputError(
            f"--eif-stimuli {path}: row {index} label {label!r} is not one of the model's labels ({names}) nor a "
            "class index; use one of those names (as in its config.json id2label) or an index."
        )
