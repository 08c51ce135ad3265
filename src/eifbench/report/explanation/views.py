"""Each desideratum's heatmap: the cells its metric reads, gathered into labelled column blocks.

A full influence matrix is mostly unread cells (masks) and, downsampled, mixes one item's
probes with the next's. A view instead puts one item per row and, in each block of
columns, the same role for every row (``itself``, ``negation``, ``far`` ...), in raw
nats, so the logical learner's picture is a pattern of columns anyone can check. Image
tasks without roles (sparseness, transitivity) show the matrix sorted by class, with
class blocks. Views are JSON-ready: ``values`` (rounded), ``rows`` and ``columns`` with a
title and ``groups`` ``[label, start, stop]``, and a ``caption``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from eifbench.report.explanation.evidence import Evidence
from eifbench.stimuli import Example
from eifbench.tasks.layouts import ENTITY, FAR, NEAR, OTHER, OWN, RELATED, TripleLayout

MAX_ROWS, MAX_COLUMNS = 48, 64  # a view is pooled (block means within groups) beyond these
Block = tuple[str, str, np.ndarray, np.ndarray]  # label, run, rows (n,), columns (n, k) with -1 = none


def ragged(lists: Sequence[Sequence[int] | np.ndarray]) -> np.ndarray:
    """Per-row column lists as an (n, longest) array padded with -1."""
    width = max((len(x) for x in lists), default=0)
    out = np.full((len(lists), max(width, 1)), -1, dtype=np.int64)
    for i, columns in enumerate(lists):
        out[i, : len(columns)] = columns
    return out


def gather(ev: Evidence, blocks: Sequence[Block]) -> tuple[np.ndarray, list[list[Any]]]:
    """The blocks side by side: values (n, total columns) and the column groups."""
    parts, groups, start = [], [], 0
    for label, run, rows, columns in blocks:
        matrix = ev.matrix(run)
        columns = np.asarray(columns).reshape(len(rows), -1)
        values = np.where(columns >= 0, matrix[np.asarray(rows)[:, None], np.maximum(columns, 0)], np.nan)
        parts.append(values)
        groups.append([label, start, start + values.shape[1]])
        start += values.shape[1]
    return np.concatenate(parts, axis=1), groups


def pool(values: np.ndarray, groups: list[list[Any]], limit: int, axis: int) -> tuple[np.ndarray, list[list[Any]]]:
    """Block means along ``axis`` within each group, so at most about ``limit`` remain; group edges stay exact."""
    size = values.shape[axis]
    if size <= limit:
        return values, groups
    pieces, out, start = [], [], 0
    for label, low, high in groups:
        chunks = np.array_split(np.arange(low, high), max(1, (high - low) * limit // size))
        for chunk in chunks:
            block = np.take(values, chunk, axis=axis)
            finite = np.isfinite(block)
            with np.errstate(invalid="ignore"):
                pieces.append(np.where(finite, block, 0).sum(axis=axis) / finite.sum(axis=axis))
        out.append([label, start, start + len(chunks)])
        start += len(chunks)
    return np.stack(pieces, axis=axis), out


def figure(
    values: np.ndarray, rows: dict[str, Any] | str, columns: dict[str, Any], caption: str, shape: Sequence[int]
) -> dict[str, Any]:
    """The JSON-ready view (pooled to the size limits, values to 3 significant digits).

    ``rows`` is a title (one group of every row) or a title with groups.
    """
    if isinstance(rows, str):
        rows = {"title": rows, "groups": [["", 0, values.shape[0]]]}
    values, rows["groups"] = pool(values, rows["groups"], MAX_ROWS, 0)
    values, columns["groups"] = pool(values, columns["groups"], MAX_COLUMNS, 1)
    rounded = [[float(f"{v:.3g}") if np.isfinite(v) else None for v in row] for row in values]
    return {
        "kind": "heatmap",
        "shape": list(shape),
        "values": rounded,
        "rows": rows,
        "columns": columns,
        "caption": caption,
    }


def by_class(ev: Evidence, labels: np.ndarray, caption: str) -> dict[str, Any]:
    """A square (or wide) image matrix with rows and columns sorted by class, one group per class."""
    matrix = ev.matrix()
    n = matrix.shape[0]
    probe_labels = np.array([int(p.y) for p in ev.task.runs["main"].probes])
    row_order, column_order = np.argsort(labels[:n], kind="stable"), np.argsort(probe_labels, kind="stable")

    def groups(sorted_labels: np.ndarray) -> list[list[Any]]:
        edges = np.flatnonzero(np.diff(sorted_labels)) + 1
        bounds = [0, *edges.tolist(), len(sorted_labels)]
        return [[f"class {sorted_labels[lo]}", lo, hi] for lo, hi in zip(bounds, bounds[1:])]

    values = matrix[np.ix_(row_order, column_order)]
    rows = {"title": "trained images, by class", "groups": groups(labels[:n][row_order])}
    columns = {"title": "probe images, by class", "groups": groups(probe_labels[column_order])}
    return figure(values, rows, columns, caption, matrix.shape)


def distance(ev: Evidence) -> dict[str, Any]:
    """Itself, then the probes of each distance level."""
    layout = ev.task.layout
    n = len(layout.self_column)
    rows = np.arange(n)
    names = (
        {NEAR: "nearest", RELATED: "middle", FAR: "farthest"}
        if ev.images
        else {NEAR: "near", RELATED: "related", FAR: "far"}
    )
    blocks: list[Block] = [("itself", "main", rows, layout.self_column[:, None])]
    blocks += [
        (names[lv], "main", rows, ragged([np.flatnonzero(layout.levels[i] == lv) for i in rows])) for lv in names
    ]
    values, groups = gather(ev, blocks)
    kind = "images" if ev.images else "facts"
    caption = f"Rows: trained {kind}; columns: the probes of each row by distance ({', '.join(names.values())}). " + (
        "A local learner's picture fades from left (nearest same-class images) to right (farthest)."
        if ev.images
        else "A logical learner's picture: 'itself' and 'near' (a paraphrase states the same fact) red, "
        "'related' and 'far' white; colours that fade from left to right pass."
    )
    return figure(
        values, f"trained {kind}", {"title": "probes by distance", "groups": groups}, caption, ev.matrix().shape
    )


def sparseness(ev: Evidence) -> dict[str, Any]:
    """Itself, its own and entity families, the other probes; images by class."""
    layout = ev.task.layout
    if ev.images:
        caption = (
            "Rows and columns sorted by class. A sparse learner's picture is white outside the diagonal class "
            "blocks (training on an image moves few images of other classes)."
        )
        labels = np.array([int(s.y) for s in ev.task.runs["main"].stimuli if isinstance(s, Example)])
        return by_class(ev, labels, caption)
    n = len(layout.self_column)
    rows = np.arange(n)
    shared = np.flatnonzero((layout.families == OTHER).all(axis=0))
    own_other = [np.setdiff1d(np.flatnonzero(layout.families[i] == OTHER), shared) for i in rows]
    blocks: list[Block] = [
        ("itself", "main", rows, layout.self_column[:, None]),
        ("paraphrase", "main", rows, ragged([np.flatnonzero(layout.families[i] == OWN) for i in rows])),
        ("same entity", "main", rows, ragged([np.flatnonzero(layout.families[i] == ENTITY) for i in rows])),
        ("other facts", "main", rows, ragged(own_other)),
    ]
    if shared.size:
        blocks.append(("everyday facts", "main", rows, np.tile(shared, (n, 1))))
    values, groups = gather(ev, blocks)
    caption = (
        "Rows: trained facts; columns: the row's own probes, then probes about other things. A sparse learner's "
        "picture: red in 'itself' and 'paraphrase', white across 'other facts' and 'everyday facts'."
    )
    return figure(values, "trained facts", {"title": "probes by family", "groups": groups}, caption, ev.matrix().shape)


def noise(ev: Evidence) -> dict[str, Any]:
    """The fact's own probes after the clean item, its noised copy, and its control."""
    layout = ev.task.layout
    rows = np.arange(len(layout.self_column))
    blocks: list[Block] = [
        ("clean", "main", rows, layout.family),
        ("noised copy", "noised", layout.noised_row, layout.family),
        ("control", "noised", layout.control_row, layout.family),
    ]
    values, groups = gather(ev, blocks)
    kind = "image" if ev.images else "fact (itself, its paraphrase)"
    control = "a same-class image's noised copy" if ev.images else "a nonce statement ending in the fact's object"
    caption = (
        f"Rows: items; columns: the item's own {kind} after training on the clean item, on its noised copy, "
        f"and on the control ({control}). A noise-invariant learner's picture: "
        "'noised copy' as red as 'clean', 'control' white. Pure-noise spill is in the table, not here."
    )
    return figure(values, "items", {"title": "what was trained", "groups": groups}, caption, ev.matrix().shape)


def transitivity(ev: Evidence) -> dict[str, Any]:
    """Chains: the conclusion, its three controls, and the conclusion trained itself; images by class."""
    layout = ev.task.layout
    if isinstance(layout, TripleLayout):
        caption = (
            "Training on the row image, read on the column image, both sorted by class. Chains a -> b -> c need "
            "red links; a transitive learner makes a -> c redder than the rest of c's class."
        )
        return by_class(ev, np.asarray(layout.labels), caption)
    rows = np.arange(len(layout.conclusion))
    blocks: list[Block] = [
        ("conclusion", "main", rows, layout.conclusion[:, None]),
        ("other entity", "main", rows, layout.control_entity[:, None]),
        ("other property", "main", rows, layout.control_property[:, None]),
        ("both", "main", rows, layout.control_both[:, None]),
        ("conclusion trained", "reference", rows, layout.conclusion[:, None]),
    ]
    values, groups = gather(ev, blocks)
    caption = (
        "Rows: premise chains; columns: the conclusion, its three controls (the property of another entity, "
        "another property, both), and the conclusion after training on it directly. A deductive learner's "
        "picture: 'conclusion' as red as 'conclusion trained', the controls white; a bag of words paints "
        "'other entity' as red as 'conclusion'."
    )
    return figure(values, "premise chains", {"title": "probes", "groups": groups}, caption, ev.matrix().shape)


def consistency(ev: Evidence) -> dict[str, Any]:
    """The fact, its negation, its alternatives, and the same about the control person."""
    layout = ev.task.layout
    rows = np.arange(len(layout.fact))
    blocks: list[Block] = [
        ("fact", "main", rows, layout.fact[:, None]),
        ("negation", "main", rows, layout.negation[:, None]),
        ("alternatives", "main", rows, layout.alternatives),
        ("control: fact", "main", rows, layout.fact_control[:, None]),
        ("control: negation", "main", rows, layout.negation_control[:, None]),
        ("control: alternatives", "main", rows, layout.alternative_controls),
    ]
    values, groups = gather(ev, blocks)
    caption = (
        "Rows: trained facts; columns: the fact, its negation, two exclusive alternatives, then the same "
        "about a control person. A logically consistent learner's picture: 'fact' red, 'negation' and "
        "'alternatives' blue or white, the control columns white; a learner that ignores 'not' paints "
        "'negation' as red as 'fact'."
    )
    return figure(values, "trained facts", {"title": "probes", "groups": groups}, caption, ev.matrix().shape)


def asymmetry(ev: Evidence) -> dict[str, Any]:
    """Per pair: A on itself, on B, on B about a control; B on itself, on A, on A about a control."""
    layout = ev.task.layout
    a, b = layout.premise_row, layout.conclusion_row
    blocks: list[Block] = [
        ("A -> A", "main", a, layout.premise[:, None]),
        ("A -> B", "main", a, layout.conclusion[:, None]),
        ("A -> B control", "main", a, layout.conclusion_control[:, None]),
        ("B -> B", "main", b, layout.conclusion[:, None]),
        ("B -> A", "main", b, layout.premise[:, None]),
        ("B -> A control", "main", b, layout.premise_control[:, None]),
    ]
    values, groups = gather(ev, blocks)
    caption = (
        "Rows: entailment pairs (A entails B); columns: training on A read on A, B and B about a control "
        "entity, then training on B. A learner that follows the entailment: 'A -> B' red, 'B -> A' white, "
        "controls white; a symmetric (small-step NTK) learner paints 'A -> B' and 'B -> A' alike."
    )
    return figure(
        values, "entailment pairs", {"title": "trained -> read", "groups": groups}, caption, ev.matrix().shape
    )
