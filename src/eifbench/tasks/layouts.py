"""Layouts: what each cell of a task's influence matrices means to its desideratum's metric.

A task builder (``eifbench.tasks``) draws stimuli and probes and hands the metric
(``eifbench.desiderata``) a layout: a frozen dataclass of index arrays, one type per
desideratum. Layouts sit between the two so that neither imports the other's modules:
a desideratum names its builders, builders name only layouts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# distance levels of a graded probe
NEAR, RELATED, FAR = 1, 2, 3
UNUSED = -1
# probe families of sparseness
OWN, ENTITY, OTHER, COMPLETION = 0, 1, 2, 3
FAMILY_NAMES = {OWN: "own", ENTITY: "entity", OTHER: "other", COMPLETION: "completion"}


@dataclass(frozen=True, eq=False)
class DistanceLayout:
    """Where each stimulus's graded probes are.

    Attributes:
        self_column: (n_s,) the stimulus's own probe in the ``main`` run.
        levels: (n_s, n_p) distance level of each probe for each stimulus, -1 = not used.
        sensitivity_columns: (n_q,) probes whose self-influence the ``sensitivity`` run
            measures (row r reads column ``sensitivity_columns[r]``).
        completion_matched: every graded probe ends in its stimulus's completion, and |c|
            is the probe's rise over the stimulus's own (no sensitivity needed).

    """

    self_column: np.ndarray
    levels: np.ndarray
    sensitivity_columns: np.ndarray
    completion_matched: bool = False


@dataclass(frozen=True, eq=False)
class SparsenessLayout:
    """Probe families per stimulus.

    Attributes:
        self_column: (n_s,) the stimulus's own probe in the ``main`` run.
        families: (n_s, n_p) family of each probe for each stimulus (OWN, ENTITY,
            OTHER, COMPLETION), -1 = not used (the own probe itself).
        sensitivity_columns: (n_q,) probes measured by the ``sensitivity`` run.
        scaled_by_own: families whose |c| is the probe's rise over the stimulus's own
            rise instead of the cosine: those that end in the stimulus's completion, and
            those whose sensitivity is not measured (a language model's own and entity
            families: a share of what the fact moved itself).

    """

    self_column: np.ndarray
    families: np.ndarray
    sensitivity_columns: np.ndarray
    scaled_by_own: tuple[int, ...] = (COMPLETION,)


@dataclass(frozen=True, eq=False)
class NoiseLayout:
    """Where clean facts, noised copies and pure noise are.

    Attributes:
        self_column: (n,) each clean fact's own probe in the ``main`` run (row i = fact i).
        family: (n, k) the fact's own probes (itself and its paraphrases) in both runs.
        noised_row: (n,) the row of fact i's noised copy in the ``noised`` run.
        control_row: (n,) the row of fact i's control: an unrelated noised statement (for
            language models, nonce words ending in fact i's object).
        pure_row: (m,) rows of pure-noise stimuli in the ``noised`` run.
        pure_column: (m,) each pure-noise stimulus's own probe.
        spill_columns: (q,) real probes the spill is measured on.
        sensitivity_columns: (r,) probes measured by the ``sensitivity`` run.

    """

    self_column: np.ndarray
    family: np.ndarray
    noised_row: np.ndarray
    control_row: np.ndarray
    pure_row: np.ndarray
    pure_column: np.ndarray
    spill_columns: np.ndarray
    sensitivity_columns: np.ndarray


@dataclass(frozen=True, eq=False)
class ChainLayout:
    """LM chains: the four probe columns of each item; row i of both runs is item i."""

    conclusion: np.ndarray
    control_entity: np.ndarray
    control_property: np.ndarray
    control_both: np.ndarray
    depths: np.ndarray


@dataclass(frozen=True, eq=False)
class TripleLayout:
    """Images: a square pool (stimuli = probes) and each image's class."""

    labels: np.ndarray


@dataclass(frozen=True, eq=False)
class ConsistencyLayout:
    """Probe columns per item (row i of ``main`` is item i's fact).

    Attributes:
        fact, negation: (n,) the fact and its negation.
        alternatives: (n, k) exclusive alternatives.
        fact_control, negation_control: (n,) the same probes about the control subject.
        alternative_controls: (n, k) the alternatives about the control subject.

    """

    fact: np.ndarray
    negation: np.ndarray
    alternatives: np.ndarray
    fact_control: np.ndarray
    negation_control: np.ndarray
    alternative_controls: np.ndarray


@dataclass(frozen=True, eq=False)
class AsymmetryLayout:
    """Rows and columns per pair in the ``main`` run.

    Attributes:
        premise_row, conclusion_row: (n,) rows training A and B.
        premise, conclusion: (n,) columns reading A and B.
        premise_control, conclusion_control: (n,) columns reading A and B about a control entity.

    """

    premise_row: np.ndarray
    conclusion_row: np.ndarray
    premise: np.ndarray
    conclusion: np.ndarray
    premise_control: np.ndarray
    conclusion_control: np.ndarray
