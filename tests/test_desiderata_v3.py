"""Desiderata v3 on learners whose right verdict is known: hand-built influence on the real layouts.

Each test is one finding of the v3 audit that the v2 metrics got wrong: a learner that
raises the completion word after any prompt passed distance, sparseness and noise
invariance; a rank correlation without an effect passed distance; one item gave a
decisive verdict; items the model never learned were scored; an interval left its
metric's range; a model that learns nothing from its context was "inconclusive".
"""

from __future__ import annotations

import numpy as np
import pytest

from eifbench.bank.items import fact_families
from eifbench.desiderata import DESIDERATA, FAIL, INCONCLUSIVE, PASS, Thresholds
from eifbench.desiderata.base import Measurement, no_in_context_learning
from eifbench.errors import InputError
from eifbench.influence.in_context import neutral_context
from eifbench.intervals import range_interval
from eifbench.stimuli import Example, Text
from eifbench.tasks.base import TaskSpec
from tests.synthetic import results, same_probe

T = Thresholds()
LM = TaskSpec("causal-lm", 36)
IMAGES = TaskSpec("classifier", 36, dataset="fashion-mnist")


def completion_word(rise: float = 1.0):
    """A context-free learner: a stimulus raises its last word after every prompt, and nothing else."""

    def last_word(item) -> str:
        text = item.text if isinstance(item, Text) else f"{item.x}{item.y}"
        return text.rstrip(".").split()[-1]

    def fill(name, run):
        words = [last_word(p) for p in run.probes]
        m = np.zeros((len(run.stimuli), len(run.probes)))
        for i, stimulus in enumerate(run.stimuli):
            if isinstance(stimulus, (Text, Example)):
                m[i] = [rise if w == last_word(stimulus) else 0.0 for w in words]
        return m

    return fill


@pytest.mark.parametrize("name", ["distance", "sparseness", "noise invariance"])
def test_a_learner_that_only_raises_the_completion_word_fails(name):
    desideratum = DESIDERATA[name]
    task = desideratum.build(LM)
    measurement = desideratum.measure(task, results(task, completion_word()), T)
    assert measurement.status == FAIL, measurement


@pytest.mark.parametrize("name", ["distance", "sparseness", "noise invariance"])
def test_a_learner_that_raises_exactly_what_it_states_passes(name):
    """The other side: the controls do not fail an ideal sparse learner (the one the v2 tests pass too)."""
    desideratum = DESIDERATA[name]
    task = desideratum.build(LM)
    fill = same_probe()
    if name == "distance":  # the paraphrase states the fact too: it moves as much as the fact itself
        fill = _with_paraphrase(task)
    measurement = desideratum.measure(task, results(task, fill), T)
    if name == "noise invariance":  # pure noise teaches nothing, the noised copies state nothing exactly
        assert measurement.details["spill"]["status"] == "pass"
    else:
        assert measurement.status == PASS, measurement


def _with_paraphrase(task):
    layout = task.layout

    def fill(name, run):
        m = np.zeros((len(run.stimuli), len(run.probes)))
        m[np.arange(len(layout.self_column)), layout.self_column] = 2.0
        m[layout.levels == 1] = 2.0
        return m

    return fill


def test_lm_distance_grades_only_probes_that_end_in_the_stimulus_s_completion():
    task = DESIDERATA["distance"].build(LM)
    probes, layout = task.runs["main"].probes, task.layout
    families = fact_families(LM.items, LM.seed)
    assert layout.completion_matched
    for i, family in enumerate(families):
        graded = np.flatnonzero(layout.levels[i] > 0)
        assert sorted(layout.levels[i, graded].tolist()) == [1, 2, 2, 3, 3]
        assert {probes[j].y for j in graded} == {f" {family.fact.obj}"}
        for j in np.flatnonzero(layout.levels[i] == 3):  # another entity, another relation
            assert family.fact.subject not in probes[j].x.split()
            assert probes[j].x.split()[2:] != family.fact.probe.x.split()[2:]


def test_the_completion_controls_share_only_the_object_with_their_fact():
    sparseness = DESIDERATA["sparseness"].build(LM)
    noise = DESIDERATA["noise invariance"].build(LM)
    probes = sparseness.runs["main"].probes
    for i, family in enumerate(fact_families(LM.items, LM.seed)):
        fact_words = set(family.fact.text().rstrip(".").lower().split())
        completion = np.flatnonzero(sparseness.layout.families[i] == 3)
        assert len(completion) == 2
        for j in completion:
            words = set(f"{probes[j].x}{probes[j].y}".lower().split())
            assert words & fact_words == {family.fact.obj.lower()}
        control = noise.runs["noised"].stimuli[noise.layout.control_row[i]]
        assert set(control.text.rstrip(".").lower().split()) & fact_words == {family.fact.obj.lower()}


def test_distance_needs_a_contrast_not_only_a_rank_order():
    """A brightness-like learner: every level moves almost as much as the nearest, in order."""
    desideratum = DESIDERATA["distance"]
    task = desideratum.build(IMAGES)
    layout = task.layout

    jitter = np.random.default_rng(0).uniform(-0.01, 0.01, layout.levels.shape)

    def fill(name, run):
        m = np.zeros((len(run.stimuli), len(run.probes)))
        if name == "main":
            m = np.select([layout.levels == 1, layout.levels == 2, layout.levels == 3], [0.989, 0.983, 0.955], 0.0)
            m += np.where(layout.levels > 0, jitter, 0.0)
            m[np.arange(len(layout.self_column)), layout.self_column] = 1.0
        else:
            m[np.arange(len(run.stimuli)), layout.sensitivity_columns] = 1.0
        return m

    measurement = desideratum.measure(task, results(task, fill), T)
    assert measurement.ci[1] <= T.distance  # the rank correlation alone would pass
    assert measurement.details["contrast"]["status"] == "fail" and measurement.status == FAIL
    assert "contrast" in measurement.reason


def test_distance_fails_when_a_farther_level_moves_more():
    desideratum = DESIDERATA["distance"]
    task = desideratum.build(LM)
    layout = task.layout

    def fill(name, run):
        m = np.select([layout.levels == 1, layout.levels == 2, layout.levels == 3], [0.9, 0.0, 0.3], 0.0)
        m[np.arange(len(layout.self_column)), layout.self_column] = 1.0
        return m

    measurement = desideratum.measure(task, results(task, fill), T)
    assert measurement.details["contrast"]["inverted"] == ["2<3"] and measurement.status == FAIL


def test_an_item_whose_stimulus_lowered_its_own_probe_is_not_learned():
    desideratum = DESIDERATA["asymmetry"]
    task = desideratum.build(LM)
    layout = task.layout

    def fill(name, run):
        m = np.zeros((len(run.stimuli), len(run.probes)))
        m[layout.premise_row, layout.premise] = -0.1  # training on A lowered A: nothing was taught
        m[layout.conclusion_row, layout.conclusion] = 0.5
        m[layout.premise_row, layout.conclusion] = -0.4  # what v2 scored: clipped to -1, a "violation"
        return m

    measurement = desideratum.measure(task, results(task, fill), T)
    assert measurement.n == 0 and measurement.unmeasured == LM.items and measurement.status == INCONCLUSIVE
    assert measurement.details["learning"] == {
        "items": LM.items,
        "learned": 0,
        "share": 0.0,
        "median_self_influence": pytest.approx(-0.1),
    }
    assert "not learned" in measurement.reason


@pytest.mark.parametrize("count,status", [(1, INCONCLUSIVE), (7, INCONCLUSIVE), (8, PASS), (36, PASS)])
def test_a_decisive_verdict_needs_the_minimum_number_of_items(count, status):
    values = np.linspace(-0.95, -0.85, count)
    measurement = DESIDERATA["distance"].summarize(values, T)
    assert measurement.status == status
    if status == INCONCLUSIVE:
        assert "a verdict needs at least 8" in measurement.reason
    low, high = measurement.ci
    assert high > low  # never zero width, even for one item


def test_the_minimum_is_a_threshold_users_can_set():
    assert DESIDERATA["distance"].summarize(np.array([-0.9, -0.85, -0.95]), T.replace(min_items=3)).status == PASS
    with pytest.raises(InputError, match="min_items"):
        T.replace(min_items=1)
    with pytest.raises(InputError, match="min_items"):
        T.replace(min_items=2.5)


@pytest.mark.parametrize("value_range", [(-1.0, 1.0), (0.0, 1.0), (-2.0, 2.0)])
def test_intervals_stay_in_the_metric_range_and_all_equal_items_are_not_certain(value_range):
    low, high = value_range
    skewed = np.array([high] * 30 + [low] * 2)
    ci = range_interval(skewed, value_range)
    assert low <= ci[0] <= ci[1] <= high
    for n in (1, 8, 36):
        equal = range_interval(np.full(n, high), value_range)
        unseen = 1 - 0.025 ** (1 / n)  # the share of items a sample of n equal ones cannot rule out
        assert equal == pytest.approx((high - unseen * (high - low), high))
    assert range_interval(np.array([np.nan]), value_range) != range_interval(np.array([0.0]), value_range)


def _nothing_learned(n: int) -> Measurement:
    return DESIDERATA["distance"].summarize(np.full(n, np.nan), T, learned=np.zeros(n, dtype=bool))


def test_no_in_context_learning_is_a_fail_not_a_neutral_inconclusive():
    assert _nothing_learned(36).status == INCONCLUSIVE
    in_context = no_in_context_learning(_nothing_learned(36))
    assert in_context.status == FAIL and in_context.reason.startswith("no in-context learning")
    few = DESIDERATA["distance"].summarize(np.full(3, -0.9), T)
    assert no_in_context_learning(few) == few  # some items learned: too few is still "could not tell"


class WordPieces:
    """A tokenizer whose counts do not add up word by word: a word of 7+ letters is two tokens."""

    name = "word-pieces"

    def count_tokens(self, text: str) -> int:
        return sum(2 if len(w) >= 7 else 1 for w in text.split())


class OnlyEven:
    name = "only-even"

    def count_tokens(self, text: str) -> int:
        return 2 * len(text.split())


@pytest.mark.parametrize("tokens", range(1, 40))
def test_the_neutral_context_has_exactly_the_stimulus_s_token_count(tokens):
    assert WordPieces().count_tokens(neutral_context(WordPieces(), tokens)) == tokens


def test_a_tokenizer_that_cannot_match_the_length_is_refused():
    with pytest.raises(InputError, match="exactly 3 tokens"):
        neutral_context(OnlyEven(), 3)


class Truncating:
    """A tokenizer that stops counting at 5 tokens: no passage ever has 9."""

    name = "truncating"

    def count_tokens(self, text: str) -> int:
        return min(5, len(text.split()))


def test_a_tokenizer_that_stops_counting_is_refused_not_a_hang():
    with pytest.raises(InputError, match="exactly 9 tokens"):
        neutral_context(Truncating(), 9)


def test_the_noise_task_has_one_pure_noise_statement_per_fact_and_nothing_else_as_noise():
    task = DESIDERATA["noise invariance"].build(LM)
    layout, probes = task.layout, task.runs["noised"].probes
    assert len(layout.pure_row) == LM.items
    stated = {f"{p.x}{p.y}" for p in (probes[j] for j in layout.pure_column)}
    facts = {f.fact.text().rstrip(".") for f in fact_families(LM.items, LM.seed)}
    assert len(stated) == LM.items and not stated & facts
    real = set(fact_families(LM.items, LM.seed)[0].fact.text().lower().split())
    for j in layout.pure_column:  # gibberish: no word of a fact's template or object
        assert not set(f"{probes[j].x}{probes[j].y}".lower().split()) & (real - {"a"})
