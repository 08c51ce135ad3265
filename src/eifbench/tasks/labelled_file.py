"""Text-classifier tasks built from a user's labelled file (``--eif-stimuli`` with ``text``, ``label``).

Same layouts as the review bank's. A row is ``Example(text, label)``; a label of digits is
a class index, anything else a label name of the model. Distance needs the optional
``paraphrase`` and ``related`` columns (the same label, the same thing in other words /
something close); sparseness and noise invariance need only ``text`` and ``label``. The
rows are their own broad probe set: every other row is read, and the self-influence of
each row (from the main run) scales it, so no separate sensitivity run is needed.
"""

from __future__ import annotations

import numpy as np

from eifbench.bank.draws import Draws
from eifbench.bank.language import noisy_text
from eifbench.stimuli import Example
from eifbench.tasks import layouts
from eifbench.tasks.base import Run, Task, TaskNotApplicable, TaskSpec, one_hot_mask, sensitivity_run
from eifbench.tasks.labelled_controls import noise_sentences, same_label_partner
from eifbench.tasks.stimuli_file import file_digest, read_stimuli_file, schema_of

Row = dict[str, str]
NO_COLUMNS = np.zeros(0, dtype=np.int64)


def label_of(raw: str) -> int | str:
    """A class index for digits, else the label name as written."""
    return int(raw) if raw.strip().lstrip("-").isdigit() else raw.strip()


def _rows(spec: TaskSpec, desideratum: str, *columns: str) -> list[Row]:
    assert spec.stimuli_file is not None
    every = read_stimuli_file(spec.stimuli_file)
    if schema_of(every) != "labelled":
        raise TaskNotApplicable(
            f"{spec.stimuli_file} holds facts (prompt, completion) for a language model; a text classifier needs "
            "labelled sentences (text, label)"
        )
    rows = [r for r in every if all(r.get(c) for c in columns)][: spec.items]
    if len(rows) < 2:
        raise TaskNotApplicable(
            f"{desideratum} needs at least 2 rows of {spec.stimuli_file} with the column(s) "
            f"{['text', 'label', *columns]}; {len(rows)} have them"
        )
    return rows


def _example(row: Row, column: str = "text") -> Example:
    return Example(row[column], label_of(row["label"]))


def _task(spec: TaskSpec, name: str, runs: dict[str, Run], layout: object, rows: list[Row]) -> Task:  # type: ignore[type-arg]
    assert spec.stimuli_file is not None
    labels = tuple(f"{r['text']} (label {r['label']})" for r in rows)
    return Task(name, runs, layout, labels, bank=f"user:{file_digest(spec.stimuli_file)}")


def user_distance(spec: TaskSpec) -> Task[layouts.DistanceLayout]:
    """Per row: its paraphrase (1), its related sentence (2), other rows of its label (3)."""
    rows = _rows(spec, "distance", "paraphrase", "related")
    probes = [p for r in rows for p in (_example(r), _example(r, "paraphrase"), _example(r, "related"))]
    n = len(rows)
    levels = np.full((n, len(probes)), layouts.UNUSED, dtype=np.int64)
    for i, row in enumerate(rows):
        levels[i, 3 * i + 1], levels[i, 3 * i + 2] = layouts.NEAR, layouts.RELATED
        levels[i, [3 * j for j in range(n) if j != i and rows[j]["label"] == row["label"]]] = layouts.FAR
    sens = np.array([3 * i + k for i in range(n) for k in (1, 2)])
    stimuli = tuple(_example(r) for r in rows)
    runs = {"main": Run(stimuli, tuple(probes)), "sensitivity": sensitivity_run(probes, sens, "completion")}
    return _task(spec, "distance", runs, layouts.DistanceLayout(np.arange(n) * 3, levels, sens), rows)


def user_sparseness(spec: TaskSpec) -> Task[layouts.SparsenessLayout]:
    """Per row: rows of its label are its "entity" family, rows of other labels are "other"."""
    rows = _rows(spec, "sparseness")
    n = len(rows)
    probes = tuple(_example(r) for r in rows)
    families = np.where(
        np.array([[a["label"] == b["label"] for b in rows] for a in rows]), layouts.ENTITY, layouts.OTHER
    ).astype(np.int64)
    families[np.arange(n), np.arange(n)] = layouts.UNUSED
    main = Run(probes, probes)
    layout = layouts.SparsenessLayout(np.arange(n), families, NO_COLUMNS)
    return _task(spec, "sparseness", {"main": main, "sensitivity": main}, layout, rows)


def user_noise(spec: TaskSpec) -> Task[layouts.NoiseLayout]:
    """Per row: a typo'd copy (or its paraphrase every third row), a same-label control, gibberish.

    The shuffled control of a row is the next row of its label; pure noise is nonce-word
    gibberish with labels drawn from the file's own.
    """
    rows = _rows(spec, "noise invariance")
    n = len(rows)
    draws = Draws("eifbench-user-file", file_digest(spec.stimuli_file or ""), spec.seed, "labelled-noise")
    noised: list[Example] = []
    for i, row in enumerate(rows):
        if i % 3 == 2 and row.get("paraphrase"):
            noised.append(_example(row, "paraphrase"))
            continue
        try:
            noised.append(Example(noisy_text(row["text"], draws.child(i), frozenset()), label_of(row["label"])))
        except ValueError:  # no word of three letters to put a typo into: the row itself
            noised.append(_example(row))
    labels = list(dict.fromkeys(label_of(r["label"]) for r in rows))
    pure = noise_sentences(max(2, n // 3), spec.seed, labels)
    probes = (*(_example(r) for r in rows), *pure)
    partner = same_label_partner([r["label"] for r in rows])
    pure_columns = np.arange(n, len(probes))
    mask = np.zeros((n + len(pure), len(probes)), dtype=bool)
    for i in range(n):
        mask[i, [i, *np.flatnonzero(partner == i)]] = True
    for g, column in enumerate(pure_columns):
        mask[n + g, [column, *range(n)]] = True
    family = np.arange(n)[:, None]
    layout = layouts.NoiseLayout(
        np.arange(n), family, np.arange(n), partner, np.arange(n, n + len(pure)), pure_columns, np.arange(n), NO_COLUMNS
    )
    main = Run(probes[:n], probes, one_hot_mask(range(n), len(probes)))
    runs = {"main": main, "noised": Run((*noised, *pure), probes, mask), "sensitivity": main}
    return _task(spec, "noise invariance", runs, layout, rows)
