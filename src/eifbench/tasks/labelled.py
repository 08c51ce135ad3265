"""Text-classifier tasks: labelled sentences, from the bank (``bank.labelled``) or the user's file.

Stimuli and probes are ``Example(text, label)``; a stimulus is fine-tuned on its own
label. Distance, sparseness and noise invariance share one review bank (the same
reviews read on the same probes), as the language-model tasks share one fact bank:

- distance: per review, its paraphrase (1), two other aspects of its topic with its
  sentiment (2), two reviews of other topics with its sentiment (3) - every level has the
  stimulus's label, so the grading is about content, not about the class (as for images);
- sparseness: "other" is what is about something else on both counts, another topic and
  another label; the same topic or the same label is the "entity" family (what a
  classifier may legitimately move);
- noise invariance: a typo'd copy (the sentiment adjective is never touched) or a second
  paraphrase, against the next review of the same label; pure noise is nonce-word
  gibberish with a drawn label.

With ``--eif-stimuli`` (``text``, ``label``, optional ``paraphrase``, ``related``) the
same layouts are built from the user's rows; with no topics known, "other" means another
label.
"""

from __future__ import annotations

import numpy as np

from eifbench.bank.labelled import ReviewFamily, generic_probes, review_families
from eifbench.bank.language import noisy_text
from eifbench.stimuli import Example
from eifbench.tasks import layouts
from eifbench.tasks.base import PER_FAMILY, FamilyBank, Run, Task, TaskSpec, sensitivity_run
from eifbench.tasks.labelled_controls import labelled_draws, noise_sentences, same_label_partner

OTHERS = 12  # other reviews each review is read on
SPILL_REVIEWS = 12  # reviews the pure-noise spill is read on (with every generic sentence)


ReviewBank = FamilyBank[ReviewFamily]


def review_bank(spec: TaskSpec) -> ReviewBank:
    """The reviews, their probes (+ generic sentences + gibberish) and the two shared runs."""
    families = review_families(spec.items, spec.seed)
    probes: list[Example] = []
    for f in families:
        probes += [f.review.sentence(), f.review.paraphrase(0), f.related[0].sentence(), f.related[1].sentence()]
    generic_start = len(probes)
    probes += generic_probes()
    noise_start = len(probes)
    probes += noise_sentences(max(2, spec.items // 3), spec.seed, [0, 1])
    generic = np.arange(generic_start, noise_start)
    relatives = [PER_FAMILY * i + s for i in range(len(families)) for s in (1, 2, 3)]
    sensitivity_columns = np.array(relatives + list(generic), dtype=np.int64)
    draws = labelled_draws(spec.seed, "others")
    mask = np.zeros((len(families), len(probes)), dtype=bool)
    mask[:, generic] = True
    others: list[list[int]] = []
    for i in range(len(families)):
        mask[i, PER_FAMILY * i : PER_FAMILY * (i + 1)] = True
        chosen = draws.child(i).sample([j for j in range(len(families)) if j != i], min(OTHERS, len(families) - 1))
        mask[i, [PER_FAMILY * j for j in chosen]] = True
        others.append(chosen)
    stimuli = tuple(f.review.sentence() for f in families)
    return FamilyBank(
        families=families,
        probes=tuple(probes),
        others=others,
        main=Run(stimuli, tuple(probes), mask),
        sensitivity=sensitivity_run(probes, sensitivity_columns, "completion"),
        everyday_columns=generic,
        gibberish_columns=np.arange(noise_start, len(probes)),
        sensitivity_columns=sensitivity_columns,
    )


def _labels(bank: ReviewBank) -> tuple[str, ...]:
    return tuple(f"{f.review.sentence().x} (label {f.review.label})" for f in bank.families)


def distance(spec: TaskSpec) -> Task[layouts.DistanceLayout]:
    """Per review: its paraphrase (1), its topic's other aspects (2), other topics (3); one label throughout."""
    bank = review_bank(spec)
    n = len(bank.families)
    levels = np.full((n, len(bank.probes)), layouts.UNUSED, dtype=np.int64)
    for i, family in enumerate(bank.families):
        levels[i, bank.column(i, 1)] = layouts.NEAR
        levels[i, [bank.column(i, 2), bank.column(i, 3)]] = layouts.RELATED
        far = [
            j
            for j in bank.others[i]
            if bank.families[j].review.label == family.review.label
            and bank.families[j].review.topic != family.review.topic
        ][:2]
        levels[i, [bank.column(j, 0) for j in far]] = layouts.FAR
    layout = layouts.DistanceLayout(np.arange(n) * PER_FAMILY, levels, bank.sensitivity_columns)
    return Task("distance", {"main": bank.main, "sensitivity": bank.sensitivity}, layout, _labels(bank))


def sparseness(spec: TaskSpec) -> Task[layouts.SparsenessLayout]:
    """Per review: own (its paraphrase), entity (same topic or same label), other (neither)."""
    bank = review_bank(spec)
    n = len(bank.families)
    families = np.full((n, len(bank.probes)), layouts.UNUSED, dtype=np.int64)
    for i, family in enumerate(bank.families):
        own = family.review
        for j in bank.others[i]:
            other = bank.families[j].review
            related = other.topic == own.topic or other.label == own.label
            families[i, bank.column(j, 0)] = layouts.ENTITY if related else layouts.OTHER
        families[i, bank.column(i, 1)] = layouts.OWN
        families[i, [bank.column(i, 2), bank.column(i, 3)]] = layouts.ENTITY
    layout = layouts.SparsenessLayout(np.arange(n) * PER_FAMILY, families, bank.sensitivity_columns)
    return Task("sparseness", {"main": bank.main, "sensitivity": bank.sensitivity}, layout, _labels(bank))


def noise(spec: TaskSpec) -> Task[layouts.NoiseLayout]:
    """Clean reviews (the shared bank), a noised copy of each, and labelled gibberish."""
    bank = review_bank(spec)
    n = len(bank.families)
    draws = labelled_draws(spec.seed, "noise")
    noised = []
    for i, review_family in enumerate(bank.families):
        review = review_family.review
        if i % 3 == 2:
            noised.append(review.paraphrase(1))
        else:
            text = noisy_text(review.sentence().x, draws.child(i), frozenset({review.adjective[0]}))
            noised.append(Example(text, review.label))
    pure = [bank.probes[j] for j in bank.gibberish_columns]
    family = np.stack([np.arange(n) * PER_FAMILY, np.arange(n) * PER_FAMILY + 1], axis=1)
    partner = same_label_partner([f.review.label for f in bank.families])
    spill = np.concatenate([np.arange(min(n, SPILL_REVIEWS)) * PER_FAMILY, bank.everyday_columns])
    mask = np.zeros((n + len(pure), len(bank.probes)), dtype=bool)
    for i in range(n):  # its own family, and the families it is the shuffled control of
        mask[i, family[i]] = True
        for j in np.flatnonzero(partner == i):
            mask[i, family[j]] = True
    for g, column in enumerate(bank.gibberish_columns):
        mask[n + g, column] = True
        mask[n + g, spill] = True
    layout = layouts.NoiseLayout(
        self_column=family[:, 0],
        family=family,
        noised_row=np.arange(n),
        control_row=partner,
        pure_row=np.arange(n, n + len(pure)),
        pure_column=bank.gibberish_columns,
        spill_columns=spill,
        sensitivity_columns=bank.sensitivity_columns,
    )
    runs = {"main": bank.main, "noised": Run((*noised, *pure), bank.probes, mask), "sensitivity": bank.sensitivity}
    kinds = ["paraphrase" if i % 3 == 2 else "typo" for i in range(n)]
    details = {"noised": tuple(e.x for e in noised), "kinds": kinds}
    return Task("noise invariance", runs, layout, _labels(bank), details=details)
