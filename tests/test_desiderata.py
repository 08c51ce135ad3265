"""Every desideratum on learners whose right verdict is known: hand-built influence on the real layouts.

The nine findings of the v2 audit each have a test here (named ``test_finding_<n>_...``)
that the v1 metrics failed.
"""

from __future__ import annotations

import numpy as np
import pytest

from eifbench.desiderata import DESIDERATA, FAIL, INCONCLUSIVE, PASS, Thresholds, verdict
from eifbench.desiderata.distance import level_correlations
from eifbench.desiderata.transitivity import triple_scores
from eifbench.stats import rank, spearman
from eifbench.stimuli import Example, Text
from eifbench.tasks.base import TaskSpec
from tests.synthetic import float_noise, results, same_probe, shared_shift, zeros

T = Thresholds()
LM = TaskSpec("causal-lm", 36)
IMAGES = TaskSpec("classifier", 36, dataset="fashion-mnist")
CASES = [
    (name, spec)
    for name in DESIDERATA
    for spec in (LM, IMAGES)
    if DESIDERATA[name].not_applicable(spec.kind, "finetune") is None
]


def measure(name, spec, fill):
    desideratum = DESIDERATA[name]
    task = desideratum.build(spec)
    return desideratum.measure(task, results(task, fill), T)


@pytest.mark.parametrize("name,spec", CASES, ids=[f"{n}-{s.kind}" for n, s in CASES])
@pytest.mark.parametrize(
    "fill",
    [shared_shift(), shared_shift(-0.4), float_noise(), zeros()],
    ids=["shift-up", "shift-down", "noise", "zeros"],
)
def test_no_desideratum_passes_a_shared_shift_or_float_noise(name, spec, fill):
    measurement = measure(name, spec, fill)
    assert measurement.status != PASS, (name, spec.kind, measurement)


def test_float_noise_is_unmeasured_not_judged():
    measurement = measure("distance", LM, float_noise())
    assert measurement.status == INCONCLUSIVE and measurement.n == 0 and measurement.unmeasured == LM.items
    assert "not learned" in measurement.reason


def test_rank_and_spearman_by_hand():
    assert rank(np.array([10.0, 30.0, 20.0, 20.0])).tolist() == [1.0, 4.0, 2.5, 2.5]
    assert spearman(np.array([1, 2, 3, 4]), np.array([8, 6, 4, 2])) == pytest.approx(-1.0)
    assert spearman(np.array([1, 2, 3, 4]), np.array([2, 1, 4, 3])) == pytest.approx(0.6)


@pytest.mark.parametrize(
    "ci,threshold,higher,expected",
    [
        ((0.5, 0.9), 0.3, True, PASS),
        ((0.1, 0.2), 0.3, True, FAIL),
        ((0.2, 0.4), 0.3, True, INCONCLUSIVE),
        ((-0.9, -0.5), -0.3, False, PASS),
        ((-0.2, 0.1), -0.3, False, FAIL),
        ((-0.4, -0.2), -0.3, False, INCONCLUSIVE),
        ((float("nan"), float("nan")), 0.3, True, INCONCLUSIVE),
    ],
)
def test_verdict_rules(ci, threshold, higher, expected):
    assert verdict(ci, threshold, higher) == expected


def test_thresholds_reject_unknown_and_non_finite():
    assert Thresholds().replace(distance=-0.5).distance == -0.5
    with pytest.raises(Exception, match="Unknown threshold"):
        Thresholds().replace(nonsense=1.0)
    with pytest.raises(Exception, match="finite"):
        Thresholds().replace(distance=float("nan"))


# --- finding 1: asymmetry ignored direction --------------------------------------------------


def _asymmetry(forward: float, backward: float, self_value: float = 2.0):
    desideratum = DESIDERATA["asymmetry"]
    task = desideratum.build(LM)
    layout = task.layout

    def fill(name, run):
        m = np.zeros((len(run.stimuli), len(run.probes)))
        m[layout.premise_row, layout.premise] = m[layout.conclusion_row, layout.conclusion] = self_value
        m[layout.premise_row, layout.conclusion] = forward
        m[layout.conclusion_row, layout.premise] = backward
        return m

    return desideratum.measure(task, results(task, fill), T)


def test_finding_1_asymmetry_follows_the_entailment_direction():
    assert _asymmetry(forward=1.8, backward=0.0).status == PASS  # A teaches B, B does not teach A
    assert _asymmetry(forward=0.0, backward=1.8).status == FAIL  # the wrong way round
    assert _asymmetry(forward=1.0, backward=1.0).status == FAIL  # symmetric (NTK regime)
    assert _asymmetry(forward=1e-7, backward=-1e-7).status == FAIL  # a sparse learner: off-diagonal float noise
    assert _asymmetry(forward=-0.5, backward=-0.5).status == FAIL  # lowers both ways alike
    assert _asymmetry(forward=1.8, backward=0.0).value == pytest.approx(0.9)


# --- finding 2: noise invariance dropped the columns that matter --------------------------------


def test_finding_2_noise_invariance_is_pair_specific():
    ideal = measure("noise invariance", LM, same_probe())  # typos are not the same text: nothing transfers
    assert ideal.status == FAIL and ideal.value == pytest.approx(0.0)
    task = DESIDERATA["noise invariance"].build(LM)
    layout = task.layout

    def teaches_own_fact(transfer: float, shuffled: float):
        def fill(name, run):
            m = np.zeros((len(run.stimuli), len(run.probes)))
            if name == "main":
                m[np.arange(len(layout.self_column))[:, None], layout.family] = 2.0
            elif name == "noised":
                m[layout.noised_row[:, None], layout.family] = 2.0 * transfer
                m[layout.control_row[:, None], layout.family] += 2.0 * shuffled
                m[layout.pure_row, layout.pure_column] = 3.0  # noise is learned, and moves nothing real
            else:
                m[np.arange(len(run.stimuli)), layout.sensitivity_columns] = 1.0
            return m

        return DESIDERATA["noise invariance"].measure(task, results(task, fill), T)

    assert teaches_own_fact(0.9, 0.0).status == PASS  # the ideal sparse learner v1 failed (-0.05)
    assert teaches_own_fact(0.9, 0.9).status == FAIL  # matched and shuffled copies teach alike
    assert teaches_own_fact(0.2, 0.0).status == FAIL  # the noised copy barely teaches its fact


def test_finding_2_pure_noise_spill_is_normalized_by_what_noise_teaches_itself():
    task = DESIDERATA["noise invariance"].build(IMAGES)
    layout = task.layout

    def fill(loud: float):
        def inner(name, run):
            m = np.zeros((len(run.stimuli), len(run.probes)))
            if name == "main":
                m[np.arange(len(layout.self_column)), layout.self_column] = 0.3
            elif name == "noised":
                m[layout.noised_row, layout.self_column] = 0.25
                # a large loss scales the noise's gradient by `loud`: its self-influence by loud^2,
                # its (barely aligned) influence on real images by loud
                m[layout.pure_row, layout.pure_column] = 8.0 * loud**2
                # (each noise stimulus a little different: all-equal items would leave the mean uncertain)
                spread = 1 + 0.1 * np.arange(len(layout.pure_row))[:, None] / len(layout.pure_row)
                m[layout.pure_row[:, None], layout.spill_columns] = 0.01 * loud * spread
            else:
                m[np.arange(len(run.stimuli)), layout.sensitivity_columns] = 0.3
            return m

        return inner

    quiet = DESIDERATA["noise invariance"].measure(task, results(task, fill(1.0)), T)
    loud = DESIDERATA["noise invariance"].measure(task, results(task, fill(20.0)), T)
    assert quiet.details["spill"]["value"] == pytest.approx(loud.details["spill"]["value"], rel=1e-4)
    assert quiet.details["spill"]["status"] == "pass"


def test_finding_2_noised_copies_are_varied():
    task = DESIDERATA["noise invariance"].build(TaskSpec("causal-lm", 12))
    noised = task.details["noised"]
    clean = [s.text for s in task.runs["main"].stimuli]
    assert all(n != c for n, c in zip(noised, clean))
    changed_words = {
        next(w for w, v in zip(n.split(), c.split()) if w != v)
        for n, c in zip(noised, clean)
        if len(n.split()) == len(c.split())
    }
    assert len(changed_words) >= 5  # not one typo everywhere ("knid")
    assert "paraphrase" in task.details["kinds"] and "typo" in task.details["kinds"]


# --- finding 3: logical consistency used raw signs, no floor, no control -------------------------


def _consistency(fact: float, negation: float, alternatives: float, controls: float = 0.0):
    desideratum = DESIDERATA["logical consistency"]
    task = desideratum.build(LM)
    layout = task.layout
    rows = np.arange(len(layout.fact))

    def fill(name, run):
        m = np.full((len(run.stimuli), len(run.probes)), controls)
        m[rows, layout.fact] = fact
        m[rows, layout.negation] = negation
        m[rows[:, None], layout.alternatives] = alternatives
        return m

    return desideratum.measure(task, results(task, fill), T)


def test_finding_3_consistency_is_continuous_and_controlled():
    assert _consistency(5.0, 0.001, -0.5).status == PASS  # v1 scored this 0.25
    assert _consistency(5.0, 0.001, -0.5).value == pytest.approx(1.0, abs=1e-3)
    assert _consistency(5.0, 4.0, -0.5).status == FAIL  # the negation rises with the fact
    assert _consistency(5.0, 2.5, 2.5).value == pytest.approx(0.5)  # continuous, not quarter steps
    assert _consistency(1.0, 1.0, 1.0, controls=1.0).status == FAIL  # a general upward shift


def test_finding_3_alternatives_are_exclusive_attributes():
    task = DESIDERATA["logical consistency"].build(LM)
    probes = task.runs["main"].probes
    for i, f in enumerate(task.layout.fact):
        fact, alt = probes[f], probes[task.layout.alternatives[i, 0]]
        assert fact.x == alt.x and fact.y != alt.y  # same person, same attribute, another value
        assert any(w in fact.x for w in ("born", "star sign"))


# --- finding 4: image transitivity measured class similarity -----------------------------------


def test_finding_4_transitivity_beats_class_similarity_only_when_chains_carry():
    labels = np.array([0] * 6 + [1] * 6)
    class_only = np.where(labels[:, None] == labels[None, :], 0.8, 0.05)
    values, _ = triple_scores(class_only, labels)
    assert np.nanmax(np.abs(values)) == pytest.approx(0.0)  # v1: "passes" with 0.5
    chain = np.where(labels[:, None] == labels[None, :], 0.2, 0.05)  # weak same-class influence, below a link
    chain[0, 1] = chain[1, 0] = chain[1, 2] = chain[2, 1] = 0.9  # 0 -> 1 -> 2 are linked
    chain[0, 2] = chain[2, 0] = 0.7  # and 0 -> 2 carries it
    values, endpoints = triple_scores(chain, labels)
    assert values[0] > T.transitivity and endpoints >= 1


# --- finding 5: distance levels not ordered as the model sees them -----------------------------


def test_finding_5_distance_is_normalized_by_probe_sensitivity():
    desideratum = DESIDERATA["distance"]
    task = desideratum.build(IMAGES)
    layout = task.layout

    def fill(name, run):
        m = np.zeros((len(run.stimuli), len(run.probes)))
        if name == "main":
            m[np.arange(len(layout.self_column)), layout.self_column] = 1.0
            # raw |EIF|: far probes move MORE than near ones (they are more sensitive) ...
            m = np.where(
                layout.levels == 1, 0.2, np.where(layout.levels == 2, 0.3, np.where(layout.levels == 3, 0.4, m))
            )
        else:
            # ... because training on a far probe moves it 16x as much as a near one
            levels = np.max(np.where(layout.levels > 0, layout.levels, 0), axis=0)
            sens = np.where(
                levels[layout.sensitivity_columns] == 3,
                16.0,
                np.where(levels[layout.sensitivity_columns] == 2, 4.0, 0.25),
            )
            m[np.arange(len(run.stimuli)), layout.sensitivity_columns] = sens
        return m

    measurement = desideratum.measure(task, results(task, fill), T)
    assert measurement.status == PASS  # per unit of sensitivity, near probes move most
    raw_order = level_correlations(
        np.where(layout.levels > 0, np.where(layout.levels == 3, 0.4, np.where(layout.levels == 2, 0.3, 0.2)), np.nan),
        layout.levels,
    )
    assert np.nanmean(raw_order) > 0  # what v1 measured: the wrong way


def test_finding_5_unrelated_probes_share_neither_entity_nor_relation():
    from eifbench.bank.items import fact_families

    task = DESIDERATA["distance"].build(TaskSpec("causal-lm", 34))
    families = fact_families(34, 0)
    probes, layout = task.runs["main"].probes, task.layout
    for i, family in enumerate(families):
        assert probes[layout.self_column[i]] == family.fact.probe
        unrelated = [probes[j] for j in np.flatnonzero(layout.levels[i] == 3)]
        assert len(unrelated) == 2
        for probe in unrelated:
            # v3: every graded probe ends in the fact's own object (tests/test_desiderata_v3.py)
            assert probe.y == family.fact.probe.y and family.fact.subject not in probe.x.split()
            assert probe.x.replace(probe.x.split()[-1], "") != family.fact.probe.x.replace(family.fact.subject, "")
    objects = [o for f in families for o in (f.fact.obj, f.related[0].obj, f.related[1].obj)]
    assert len(set(objects)) == len(objects)  # every object of the task is used once
    assert len({f.fact.subject for f in families}) == len(families)


# --- finding 6: sparseness hinged on the floor and on same-template probes ----------------------


def test_finding_6_sparseness_judges_other_families_and_records_the_floor_curve():
    desideratum = DESIDERATA["sparseness"]
    task = desideratum.build(LM)
    layout = task.layout

    def fill(name, run):
        m = np.zeros((len(run.stimuli), len(run.probes)))
        if name == "main":
            m[np.arange(len(layout.self_column)), layout.self_column] = 2.0
            m = np.where(layout.families == 0, 1.8, m)  # own family: the paraphrase moves (right)
            m = np.where(layout.families == 1, 0.9, m)  # entity family moves too
            m = np.where(layout.families == 2, 0.06, m)  # "other": 3% of the fact's own move
            m = np.where(layout.families == 3, 0.06, m)  # and the object after a nonce prompt, as little
        else:
            m[np.arange(len(run.stimuli)), layout.sensitivity_columns] = 2.0
        return m

    measurement = desideratum.measure(task, results(task, fill), T)
    assert measurement.status == PASS and measurement.value == pytest.approx(0.0)
    curve = measurement.details["other_share_by_floor"]
    assert curve["0.01"] == pytest.approx(1.0) and curve["0.05"] == pytest.approx(0.0)
    assert measurement.details["share_by_family"]["own"] == pytest.approx(1.0)


def test_lm_sparseness_fine_tunes_only_the_everyday_facts_and_scales_relatives_by_the_fact_s_own_rise():
    """The sensitivity run serves only the everyday facts; own and entity families are shares of the own rise."""
    desideratum = DESIDERATA["sparseness"]
    task = desideratum.build(LM)
    layout = task.layout
    world = [i for i, probe in enumerate(task.runs["main"].probes) if (layout.families[:, i] == 2).all()]
    assert sorted(layout.sensitivity_columns.tolist()) == world  # every everyday fact, and nothing else
    assert len(task.runs["sensitivity"].stimuli) == len(world) < len(task.runs["main"].stimuli)

    def fill(entity_share):
        def matrix(name, run):
            m = np.zeros((len(run.stimuli), len(run.probes)))
            if name == "main":
                m[np.arange(len(layout.self_column)), layout.self_column] = 2.0
                m = np.where(layout.families == 0, 1.8, m)  # the paraphrase: 90% of the own rise
                m = np.where(layout.families == 1, entity_share * 2.0, m)
            else:
                m[np.arange(len(run.stimuli)), layout.sensitivity_columns] = 2.0
            return m

        return matrix

    for entity_share, moved in ((0.04, 0.0), (0.2, 1.0)):  # either side of the 5% floor
        shares = desideratum.measure(task, results(task, fill(entity_share)), T).details["share_by_family"]
        assert shares["own"] == pytest.approx(1.0) and shares["entity"] == pytest.approx(moved)


# --- finding 8: LM stimuli are statements ---------------------------------------------------------


def test_finding_8_stimuli_are_statements_unless_asked():
    statement = DESIDERATA["logical consistency"].build(LM).runs["main"].stimuli
    completion = (
        DESIDERATA["logical consistency"]
        .build(TaskSpec("causal-lm", LM.items, stimulus_format="completion"))
        .runs["main"]
        .stimuli
    )
    assert all(isinstance(s, Text) and s.text.endswith(".") for s in statement)
    assert all(isinstance(s, Example) for s in completion)
    assert [f"{c.x}{c.y}." for c in completion] == [s.text for s in statement]
