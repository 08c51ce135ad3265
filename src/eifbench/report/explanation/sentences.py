"""One sentence per item and desideratum, built from the task's layout and the raw influences (nats).

Each function reads the cells its desideratum's metric reads for item ``i`` and says
what moved, by how much, against which control: the numbers a reader needs to see why
the item scored as it did. ``value`` is the item's score, quoted at the end.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from eifbench.desiderata.normalize import LINK, cosine
from eifbench.report.explanation.evidence import Evidence, Explained, change, nats
from eifbench.tasks import layouts

LEVEL_WORDS = {
    layouts.NEAR: "its paraphrase",
    layouts.RELATED: "facts about the same entity",
    layouts.FAR: "unrelated facts",
}
IMAGE_LEVEL_WORDS = {
    layouts.NEAR: "the nearest same-class images",
    layouts.RELATED: "middle-distance same-class images",
    layouts.FAR: "the farthest same-class images",
}
LEVEL_NAMES = {layouts.NEAR: "near", layouts.RELATED: "related", layouts.FAR: "far"}


def _finite(row: np.ndarray, columns: np.ndarray) -> list[int]:
    return [int(j) for j in columns if np.isfinite(row[j])]


def _most_moved(row: np.ndarray, columns: list[int], count: int = 1) -> list[int]:
    return sorted(columns, key=lambda j: -abs(row[j]))[:count]


def distance(ev: Evidence, i: int, value: float) -> Explained:
    """How much the probes at each distance level moved, and the one that moved most."""
    layout: layouts.DistanceLayout = ev.task.layout
    row = ev.matrix()[i]
    own = row[layout.self_column[i]]
    stimulus = ev.stimulus("main", i)
    images = [ev.thumb(stimulus, "stimulus", ev.label(i))] if ev.images else []
    words = IMAGE_LEVEL_WORDS if ev.images else LEVEL_WORDS
    cells, parts = {"itself": own}, []
    for level in (layouts.NEAR, layouts.RELATED, layouts.FAR):
        columns = _finite(row, np.flatnonzero(layout.levels[i] == level))
        if not columns:
            continue
        (top,) = _most_moved(row, columns)
        cells[LEVEL_NAMES[level]] = float(row[columns].mean())
        probe = ev.probe("main", top)
        if ev.images:
            images.append(ev.thumb(probe, LEVEL_NAMES[level], f"{LEVEL_NAMES[level]}: {nats(row[top])} nats"))
        if len(columns) == 1:
            parts.append(f"{words[level]} {ev.named(probe)} by {nats(row[top])}")
            continue
        most = "" if row[top] == row[columns].mean() else f" (most: {ev.named(probe)} {nats(row[top])})"
        parts.append(f"{words[level]} by {nats(row[columns].mean())} on average{most}")
    text = (
        f"{ev.lead(ev.named(stimulus, i))} moved {', '.join(parts)} nats, itself {nats(own)} nats: "
        f"Spearman rho of |c| with distance {value:+.2f}"
    )
    return Explained(text, cells, tuple(images))


def sparseness(ev: Evidence, i: int, value: float) -> Explained:
    """The share of "other" probes moved, the two that moved most, and the item's own family."""
    layout: layouts.SparsenessLayout = ev.task.layout
    row = ev.matrix()[i]
    own = row[layout.self_column[i]]
    stimulus = ev.stimulus("main", i)
    other = _finite(row, np.flatnonzero(layout.families[i] == layouts.OTHER))
    top = _most_moved(row, other, 2)
    cells = {"itself": own, "other (mean)": float(row[other].mean()) if other else float("nan")}
    names = {
        layouts.OWN: "its paraphrase",
        layouts.ENTITY: "same-class images" if ev.images else "facts about the same entity",
    }
    related = []
    for family, name in names.items():
        columns = _finite(row, np.flatnonzero(layout.families[i] == family))
        if columns:
            cells[name] = float(row[columns].mean())
            related.append(f"{name} {nats(cells[name])}" + (" on average" if len(columns) > 1 else ""))
    kind = "images of other classes" if ev.images else "probes about other things"
    moved = [j for j in top if row[j] != 0]
    most = ", ".join(f"{ev.named(ev.probe('main', j))} {nats(row[j])}" for j in moved)
    text = (
        f"{ev.lead(ev.named(stimulus, i))} moved {value:.0%} of its {kind} beyond the floor"
        + (f"; the most: {most} nats" if moved else "")
        + f" (itself {nats(own)} nats{''.join('; ' + part for part in related)})"
    )
    images: tuple[dict[str, Any], ...] = ()
    if ev.images:
        images = (
            ev.thumb(stimulus, "stimulus", ev.label(i)),
            *(
                ev.thumb(ev.probe("main", j), "other", f"class {ev.probe('main', j).y}: {nats(row[j])} nats")
                for j in top
            ),
        )
    return Explained(text, cells, images)


def noise(ev: Evidence, i: int, value: float) -> Explained:
    """What the noised copy, the clean statement and the control did to the fact.

    The control is a nonce statement ending in the fact's object (language models) or a
    same-class image's noised copy.
    """
    layout: layouts.NoiseLayout = ev.task.layout
    family = layout.family[i]
    clean = float(ev.matrix("main")[i, family].sum())
    noised_row, control_row = int(layout.noised_row[i]), int(layout.control_row[i])
    noised = float(ev.matrix("noised")[noised_row, family].sum())
    shuffled = float(ev.matrix("noised")[control_row, family].sum())
    cells = {"noised copy": noised, "clean": clean, "control": shuffled}
    copy, control = ev.stimulus("noised", noised_row), ev.stimulus("noised", control_row)
    ending = f"transfer (noised - control) / clean {value:+.2f}"
    if ev.images:
        sigmas = ev.task.details.get("sigmas") or []
        sigma = f" (pixel noise sigma {sigmas[i]:g})" if i < len(sigmas) else ""
        text = (
            f"{ev.lead(f'the noised copy{sigma} of {ev.label(i)}')} {change('the clean image', noised)}, "
            f"against {nats(clean)} from the clean image itself and {nats(shuffled)} from the noised copy of "
            f"a same-class image: {ending}"
        )
        images = (
            ev.thumb(ev.stimulus("main", i), "clean", ev.label(i)),
            ev.thumb(copy, "noised copy", f"noised copy: {nats(noised)} nats"),
            ev.thumb(control, "control", f"same-class noised copy: {nats(shuffled)} nats"),
        )
        return Explained(text, cells, images)
    target = ev.named(ev.probe("main", family[0]))
    target += " and its paraphrase" if len(family) > 1 else ""
    text = (
        f"{ev.lead(ev.named(copy))} {change(target, noised)} in total, against {nats(clean)} from the clean "
        f"statement and {nats(shuffled)} from a nonce statement with the same object {ev.named(control)}: {ending}"
    )
    return Explained(text, cells)


def spill(ev: Evidence, g: int) -> Explained:
    """How much pure-noise stimulus ``g`` moved the real probes (nats)."""
    layout: layouts.NoiseLayout = ev.task.layout
    noised = ev.matrix("noised")
    row, own_column = int(layout.pure_row[g]), int(layout.pure_column[g])
    real = noised[row, layout.spill_columns]
    top = int(layout.spill_columns[int(np.nanargmax(np.abs(real)))])
    cells = {"itself": float(noised[row, own_column]), "real probes (mean |EIF|)": float(np.nanmean(np.abs(real)))}
    stimulus, probe = ev.stimulus("noised", row), ev.probe("noised", top)
    subject = f"pure-noise image {g + 1} (label {stimulus.y})" if ev.images else ev.named(stimulus)
    text = (
        f"{ev.lead(subject)} moved the real probes by {nats(cells['real probes (mean |EIF|)']).lstrip('+')} nats "
        "on average, up or down "
        f"(most: {ev.named(probe)} {nats(noised[row, top])} nats), itself {nats(cells['itself'])} nats"
    )
    images: tuple[dict[str, Any], ...] = ()
    if ev.images:
        images = (
            ev.thumb(stimulus, "pure noise", subject),
            ev.thumb(probe, "real probe", f"{nats(noised[row, top])} nats"),
        )
    return Explained(text, cells, images)


def transitivity(ev: Evidence, i: int, value: float) -> Explained:
    """LM chains: the conclusion against its three controls; images: the triple a -> b -> c."""
    layout: layouts.ChainLayout | layouts.TripleLayout = ev.task.layout
    if isinstance(layout, layouts.TripleLayout):
        return _triple(ev, i, value)
    row = ev.matrix()[i]
    roles = {
        "conclusion": layout.conclusion[i],
        "other entity": layout.control_entity[i],
        "other property": layout.control_property[i],
        "both": layout.control_both[i],
    }
    cells = {name: float(row[j]) for name, j in roles.items()}
    cells["conclusion trained"] = float(ev.matrix("reference")[i, layout.conclusion[i]])
    lift = cells["conclusion"] - cells["other entity"] - cells["other property"] + cells["both"]
    said = {name: ev.named(ev.probe("main", j)) for name, j in roles.items()}
    rose = change(f"the conclusion {said['conclusion']}", cells["conclusion"])
    text = (
        f"{ev.lead(ev.named(ev.stimulus('main', i)))} {rose}; "
        f"the property of another entity {said['other entity']} {nats(cells['other entity'])}, another property "
        f"{said['other property']} {nats(cells['other property'])}, both {said['both']} {nats(cells['both'])}: "
        f"a lift of {nats(lift)} nats against {nats(cells['conclusion trained'])} from "
        f"{ev.lead('the conclusion itself')} ({value:+.2f})"
    )
    return Explained(text, cells)


def _triple(ev: Evidence, a: int, value: float) -> Explained:
    """The first chain a -> b -> c the metric scores for start image ``a`` (same selection rule)."""
    layout: layouts.TripleLayout = ev.task.layout
    matrix = ev.matrix()
    own = np.diag(matrix)
    linked = np.nan_to_num(cosine(matrix, own, own), nan=-np.inf) >= LINK
    np.fill_diagonal(linked, False)
    for b in np.flatnonzero(linked[a]):
        for c in np.flatnonzero(linked[b]):
            if c == a:
                continue
            others = np.flatnonzero(
                (layout.labels == layout.labels[c]) & ~np.isin(np.arange(len(own)), [a, int(b), int(c)])
            )
            cells = {
                "a -> b": float(matrix[a, b]),
                "b -> c": float(matrix[b, c]),
                "a -> c": float(matrix[a, c]),
                "a -> rest of class (mean)": float(np.nanmean(matrix[a, others])) if others.size else float("nan"),
            }
            first, middle, last = ev.label(a), ev.label(int(b)), ev.label(int(c))
            text = (
                f"{ev.lead(first)} moved {middle} by {nats(cells['a -> b'])} nats and {ev.lead(middle)} "
                f"moved {last} by {nats(cells['b -> c'])}; the first moved the last by {nats(cells['a -> c'])}, "
                f"the rest of its class by {nats(cells['a -> rest of class (mean)'])} on average "
                f"(score {value:+.2f})"
            )
            thumbs = tuple(
                ev.thumb(ev.probe("main", int(k)), name, ev.label(int(k))) for name, k in (("a", a), ("b", b), ("c", c))
            )
            return Explained(text, cells, thumbs)
    return Explained(f"{ev.label(a)} starts no chain a -> b -> c (score {value:+.2f})")


def consistency(ev: Evidence, i: int, value: float) -> Explained:
    """The contradiction that rose most (negation or an alternative), against its control and the fact."""
    layout: layouts.ConsistencyLayout = ev.task.layout
    row = ev.matrix()[i]
    cells = {
        "fact": row[layout.fact[i]],
        "fact, control person": row[layout.fact_control[i]],
        "negation": row[layout.negation[i]],
        "negation, control person": row[layout.negation_control[i]],
    }
    lifts = row[layout.alternatives[i]] - row[layout.alternative_controls[i]]
    worst_alt = int(np.argmax(lifts))
    cells["alternative"] = row[layout.alternatives[i][worst_alt]]
    cells["alternative, control person"] = row[layout.alternative_controls[i][worst_alt]]
    negation_first = cells["negation"] - cells["negation, control person"] >= lifts.mean()
    role = "negation" if negation_first else "alternative"
    column = layout.negation[i] if negation_first else layout.alternatives[i][worst_alt]
    other = (
        f"its exclusive alternatives {nats(float(row[layout.alternatives[i]].mean()))} on average"
        if negation_first
        else f"its negation {nats(cells['negation'])}"
    )
    text = (
        f"{ev.lead(ev.named(ev.stimulus('main', i)))} {change(ev.named(ev.probe('main', column)), cells[role])} "
        f"(the same about a control person: {nats(cells[role + ', control person'])}; "
        f"the fact itself: {nats(cells['fact'])}, about the control person {nats(cells['fact, control person'])}; "
        f"{other}): consistency {value:+.2f}"
    )
    return Explained(text, {k: float(v) for k, v in cells.items()})


def asymmetry(ev: Evidence, i: int, value: float) -> Explained:
    """Forward (A -> B) and backward (B -> A) influence, each against a control entity."""
    layout: layouts.AsymmetryLayout = ev.task.layout
    matrix = ev.matrix()
    a, b = int(layout.premise_row[i]), int(layout.conclusion_row[i])
    cells = {
        "A -> B": matrix[a, layout.conclusion[i]],
        "A -> B, control entity": matrix[a, layout.conclusion_control[i]],
        "B -> A": matrix[b, layout.premise[i]],
        "B -> A, control entity": matrix[b, layout.premise_control[i]],
        "A -> A": matrix[a, layout.premise[i]],
        "B -> B": matrix[b, layout.conclusion[i]],
    }
    premise, conclusion = ev.stimulus("main", a), ev.stimulus("main", b)
    text = (
        f"{ev.lead(ev.named(premise))} {change(ev.named(ev.probe('main', layout.conclusion[i])), cells['A -> B'])} "
        f"(about a control entity: {nats(cells['A -> B, control entity'])}), and {ev.lead(ev.named(conclusion))} "
        f"{change(ev.named(ev.probe('main', layout.premise[i])), cells['B -> A'])} "
        f"(control: {nats(cells['B -> A, control entity'])}); each raised itself by {nats(cells['A -> A'])} and "
        f"{nats(cells['B -> B'])}: asymmetry {value:+.2f}"
    )
    return Explained(text, {k: float(v) for k, v in cells.items()})
