"""Language-model tasks, drawn from the bank (``eifbench.bank.items``).

Distance, sparseness and noise invariance share one fact bank: the same facts, read on
the same probes, so one ``main`` run and one ``sensitivity`` run serve all three (the
session computes each distinct run once).

Each fact is also read on six "completion" probes that end in its own object: its entity
in its two other relations ("A wug eats | desert"), two unrelated entities in their
relations ("A dax has a | desert") and two prompts of nonce words that share no word with
it ("Plimbo vass torquen | desert"). A read-out is log p(completion | prompt), so only
probes that share the completion can tell a learner that reads the prompt from one that
raises the completion word after any prompt: distance grades the first four, sparseness
counts the nonce ones as a stratum of their own, and noise invariance's control states the
first nonce one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from eifbench.bank.items import (
    ChainItem,
    EntailmentItem,
    ExclusiveItem,
    FactFamily,
    _draws,
    chain_items,
    entailment_items,
    exclusive_items,
    fact_families,
    gibberish,
    noised_statement,
    nonce_prompts,
    world_probes,
)
from eifbench.bank.language import Fact
from eifbench.stimuli import Chain, Example, Stimulus, Text
from eifbench.tasks import layouts
from eifbench.tasks.base import PER_FAMILY, FamilyBank, Run, Task, TaskSpec, as_stimulus, sensitivity_run

PER_COMPLETION = 6  # the fact's object after its entity's other relations, unrelated facts, nonce prompts (2 each)
OTHERS = 12  # other facts each fact is read on (sparseness's "other" family, distance's unrelated)
SPILL_FACTS = 12  # facts the pure-noise spill is read on (with every everyday fact)


def state(fact: Fact, spec: TaskSpec) -> Stimulus:
    """The fact as a stimulus in the spec's format."""
    return as_stimulus(fact.probe, spec.stimulus_format)


@dataclass(frozen=True)
class FactBank(FamilyBank[FactFamily]):
    """The shared fact-bank runs; the completion probes follow the rest, six per fact."""

    completion_start: int

    def completion_column(self, family: int, slot: int) -> int:
        """Column of a fact's completion probe: 0, 1 its entity; 2, 3 unrelated entities; 4, 5 nonce prompts."""
        return self.completion_start + PER_COMPLETION * family + slot


def fact_bank(spec: TaskSpec) -> FactBank:
    """The facts, their probes (+ everyday facts + gibberish probes) and the two shared runs."""
    families = fact_families(spec.items, spec.seed)
    probes: list[Example] = []
    for f in families:
        probes += [f.fact.probe, f.fact.paraphrase(0), f.related[0].probe, f.related[1].probe]
    world_start = len(probes)
    probes += world_probes(spec.items)
    noise_start = len(probes)
    probes += gibberish(max(2, spec.items // 3), spec.seed)
    world = np.arange(world_start, noise_start)
    draws = _draws(spec.seed, "fact-bank-others")
    others = [
        draws.child(i).sample([j for j in range(len(families)) if j != i], min(OTHERS, len(families) - 1))
        for i in range(len(families))
    ]
    # the first two facts a fact is read on whose relation differs (other entity and object too)
    unrelated = [
        [j for j in others[i] if families[j].fact.relation.name != f.fact.relation.name][:2]
        for i, f in enumerate(families)
    ]
    completion_start = len(probes)
    nonce = nonce_prompts(2 * len(families), spec.seed, {f.fact.subject for f in families})
    for i, f in enumerate(families):
        far = [families[j].fact for j in unrelated[i]]
        # too few facts of another relation (a small task): another entity in one of this one's other relations
        far += [f.related[k].with_subject(families[(i + 1 + k) % len(families)].fact.subject) for k in range(2)]
        probes += [fact.with_object(f.fact.obj).probe for fact in (*f.related, *far[:2])]
        probes += [Example(prompt, f" {f.fact.obj}") for prompt in nonce[2 * i : 2 * i + 2]]
    # only the everyday facts need a fine-tune of their own for their scale: every fact probe's
    # is its self-influence in the main run, and a fact's paraphrase and related facts are
    # scaled by the fact's own rise (sparseness's own and entity families)
    sensitivity_columns = np.array(world, dtype=np.int64)
    stimuli = tuple(state(f.fact, spec) for f in families)
    # each fact is read on its own family, its completion probes, OTHERS other facts and every
    # everyday fact: what distance, sparseness and noise invariance need (a dense read costs 4x as much)
    mask = np.zeros((len(families), len(probes)), dtype=bool)
    mask[:, world] = True
    for i in range(len(families)):
        mask[i, PER_FAMILY * i : PER_FAMILY * (i + 1)] = True
        start = completion_start + PER_COMPLETION * i
        mask[i, start : start + PER_COMPLETION] = True
        mask[i, [PER_FAMILY * j for j in others[i]]] = True
    return FactBank(
        families=families,
        probes=tuple(probes),
        others=others,
        main=Run(stimuli, tuple(probes), mask),
        sensitivity=sensitivity_run(probes, sensitivity_columns, spec.stimulus_format),
        everyday_columns=world,
        gibberish_columns=np.arange(noise_start, completion_start),
        sensitivity_columns=sensitivity_columns,
        completion_start=completion_start,
    )


def _labels(bank: FactBank) -> tuple[str, ...]:
    return tuple(f.fact.text() for f in bank.families)


def distance(spec: TaskSpec) -> Task[layouts.DistanceLayout]:
    """Per fact, probes graded by distance, every one ending in the fact's own object.

    Its paraphrase (1), its entity in two other relations (2), two unrelated entities in
    their own relations (3).
    """
    bank = fact_bank(spec)
    n = len(bank.families)
    levels = np.full((n, len(bank.probes)), layouts.UNUSED, dtype=np.int64)
    for i in range(n):
        levels[i, bank.column(i, 1)] = layouts.NEAR
        levels[i, [bank.completion_column(i, 0), bank.completion_column(i, 1)]] = layouts.RELATED
        levels[i, [bank.completion_column(i, 2), bank.completion_column(i, 3)]] = layouts.FAR
    layout = layouts.DistanceLayout(
        np.arange(n) * PER_FAMILY, levels, bank.sensitivity_columns, completion_matched=True
    )
    return Task("distance", {"main": bank.main}, layout, _labels(bank))


def sparseness(spec: TaskSpec) -> Task[layouts.SparsenessLayout]:
    """Per fact, probes in families.

    Own (its paraphrase), entity (its other relations), "other": the other facts it is read
    on and the everyday facts, and "completion": two nonce-word prompts ending in its object.
    """
    bank = fact_bank(spec)
    n = len(bank.families)
    families = np.full((n, len(bank.probes)), layouts.UNUSED, dtype=np.int64)
    families[:, bank.everyday_columns] = layouts.OTHER
    for i in range(n):
        families[i, [bank.column(j, 0) for j in bank.others[i]]] = layouts.OTHER
        families[i, bank.column(i, 0)] = layouts.UNUSED
        families[i, bank.column(i, 1)] = layouts.OWN
        families[i, [bank.column(i, 2), bank.column(i, 3)]] = layouts.ENTITY
        families[i, [bank.completion_column(i, 4), bank.completion_column(i, 5)]] = layouts.COMPLETION
    layout = layouts.SparsenessLayout(
        np.arange(n) * PER_FAMILY,
        families,
        bank.sensitivity_columns,
        scaled_by_own=(layouts.OWN, layouts.ENTITY, layouts.COMPLETION),
    )
    return Task("sparseness", {"main": bank.main, "sensitivity": bank.sensitivity}, layout, _labels(bank))


def noise(spec: TaskSpec) -> Task[layouts.NoiseLayout]:
    """Clean facts (the shared bank), a noised copy of each, its control, and gibberish.

    The control of fact i is its first nonce completion probe, stated ("Plimbo vass torquen
    desert."): it shares the one word a learner that ignores the prompt could learn, and no
    word a reader of the prompt would.
    """
    bank = fact_bank(spec)
    n = len(bank.families)
    draws = _draws(spec.seed, "noise")
    statements = [noised_statement(f.fact, draws.child(i), i) for i, f in enumerate(bank.families)]
    controls = [Text(_stated(bank.probes[bank.completion_column(i, 4)])) for i in range(n)]
    noised: list[Text | Example] = [*statements, *controls]
    if spec.stimulus_format == "completion":
        objects = [f.fact.obj for f in bank.families] * 2
        noised = [Example(*_split(t.text.rstrip("."), obj)) for t, obj in zip((*statements, *controls), objects)]
    # as many pure-noise statements as facts: a spill of exactly 0 on 12 of them cannot rule out that a
    # quarter of all noise spills (intervals.range_interval); the bank's first ones are already probes
    extra = gibberish(max(2, spec.items), spec.seed)[len(bank.gibberish_columns) :]
    probes = (*bank.probes, *extra)
    pure_columns = np.concatenate([bank.gibberish_columns, np.arange(len(bank.probes), len(probes))])
    pure = [as_stimulus(probes[j], spec.stimulus_format) for j in pure_columns]
    family = np.stack([np.arange(n) * PER_FAMILY, np.arange(n) * PER_FAMILY + 1], axis=1)
    spill = np.concatenate([np.arange(min(n, SPILL_FACTS)) * PER_FAMILY, bank.everyday_columns])
    mask = np.zeros((2 * n + len(pure), len(probes)), dtype=bool)
    for i in range(n):  # the noised copy and its control both read the fact's own family
        mask[i, family[i]] = mask[n + i, family[i]] = True
    for g, column in enumerate(pure_columns):
        mask[2 * n + g, column] = True
        mask[2 * n + g, spill] = True
    layout = layouts.NoiseLayout(
        self_column=family[:, 0],
        family=family,
        noised_row=np.arange(n),
        control_row=np.arange(n, 2 * n),
        pure_row=np.arange(2 * n, 2 * n + len(pure)),
        pure_column=pure_columns,
        spill_columns=spill,
        sensitivity_columns=bank.sensitivity_columns,
    )
    runs = {"main": bank.main, "noised": Run((*noised, *pure), probes, mask), "sensitivity": bank.sensitivity}
    kinds = ["paraphrase" if i % 3 == 2 else "typo" for i in range(n)]
    return Task(
        "noise invariance",
        runs,
        layout,
        _labels(bank),
        details={
            "noised": tuple(t.text for t in statements),
            "controls": tuple(t.text for t in controls),
            "kinds": kinds,
        },
    )


def _stated(probe: Example) -> str:
    """A probe as the statement it reads: ``("Plimbo vass", " desert")`` -> ``"Plimbo vass desert."``."""
    return f"{probe.x}{probe.y}."


def _split(text: str, obj: str) -> tuple[str, str]:
    """A noised statement as (prompt, " object"): the object is never noised."""
    head, _, _ = text.rpartition(f" {obj}")
    return head, f" {obj}"


def consistency(spec: TaskSpec) -> Task[layouts.ConsistencyLayout]:
    """Exclusive attributes: the fact, its negation, two alternatives, and each about a control person."""
    return consistency_task(exclusive_items(spec.items, spec.seed), spec.stimulus_format)


def consistency_task(items: Sequence[ExclusiveItem], stimulus_format: str) -> Task[layouts.ConsistencyLayout]:
    """The consistency task of given items (the bank's, or a falsification test's)."""
    probes: list[Example] = []
    for item in items:
        control = item.fact.with_subject(item.control)
        probes += [item.fact.probe, item.fact.negated, *(item.fact.with_object(a).probe for a in item.alternatives)]
        probes += [control.probe, control.negated, *(control.with_object(a).probe for a in item.alternatives)]
    base = np.arange(len(items)) * 8
    layout = layouts.ConsistencyLayout(
        fact=base,
        negation=base + 1,
        alternatives=np.stack([base + 2, base + 3], axis=1),
        fact_control=base + 4,
        negation_control=base + 5,
        alternative_controls=np.stack([base + 6, base + 7], axis=1),
    )
    mask = np.zeros((len(items), len(probes)), dtype=bool)
    for i in range(len(items)):
        mask[i, 8 * i : 8 * i + 8] = True
    stimuli = tuple(as_stimulus(item.fact.probe, stimulus_format) for item in items)
    return Task(
        "logical consistency", {"main": Run(stimuli, tuple(probes), mask)}, layout, tuple(i.fact.text() for i in items)
    )


def transitivity(spec: TaskSpec) -> Task[layouts.ChainLayout]:
    """Premise chains; the conclusion and its three controls; the conclusion trained as often."""
    return transitivity_task(chain_items(spec.items, spec.seed), spec.stimulus_format)


def transitivity_task(items: Sequence[ChainItem], stimulus_format: str) -> Task[layouts.ChainLayout]:
    """The transitivity task of given chains."""
    probes: list[Example] = []
    for item in items:
        concl = item.conclusion
        other = concl.with_object(item.control_property)
        probes += [
            concl.probe,
            concl.with_subject(item.control).probe,
            other.probe,
            other.with_subject(item.control).probe,
        ]
    base = np.arange(len(items)) * 4
    layout = layouts.ChainLayout(base, base + 1, base + 2, base + 3, np.array([item.depth for item in items]))
    own = np.zeros((len(items), len(probes)), dtype=bool)
    for i in range(len(items)):
        own[i, 4 * i : 4 * i + 4] = True
    chains = tuple(Chain([as_stimulus(p.probe, stimulus_format) for p in item.premises]) for item in items)
    # the reference gets the chain's training budget: depth x k steps on the conclusion
    references = tuple(Chain([as_stimulus(item.conclusion.probe, stimulus_format)] * item.depth) for item in items)
    concl_only = np.zeros_like(own)
    concl_only[np.arange(len(items)), base] = True
    runs = {"main": Run(chains, tuple(probes), own), "reference": Run(references, tuple(probes), concl_only)}
    labels = tuple(" ".join(p.text() for p in item.premises) + f" => {item.conclusion.text()}" for item in items)
    return Task("transitivity", runs, layout, labels, details={"depths": [item.depth for item in items]})


def asymmetry(spec: TaskSpec) -> Task[layouts.AsymmetryLayout]:
    """Entailment pairs A => B, each trained and read both ways, with control-entity probes."""
    return asymmetry_task(entailment_items(spec.items, spec.seed), spec.stimulus_format)


def asymmetry_task(items: Sequence[EntailmentItem], stimulus_format: str) -> Task[layouts.AsymmetryLayout]:
    """The asymmetry task of given entailment pairs."""
    probes: list[Example] = []
    stimuli: list[Stimulus] = []
    for item in items:
        a, b = item.premise, item.conclusion
        probes += [a.probe, b.probe, a.with_subject(item.control).probe, b.with_subject(item.control).probe]
        stimuli += [as_stimulus(a.probe, stimulus_format), as_stimulus(b.probe, stimulus_format)]
    base = np.arange(len(items)) * 4
    layout = layouts.AsymmetryLayout(
        premise_row=np.arange(len(items)) * 2,
        conclusion_row=np.arange(len(items)) * 2 + 1,
        premise=base,
        conclusion=base + 1,
        premise_control=base + 2,
        conclusion_control=base + 3,
    )
    mask = np.zeros((len(stimuli), len(probes)), dtype=bool)
    for i in range(len(items)):
        mask[2 * i, [4 * i, 4 * i + 1, 4 * i + 3]] = True
        mask[2 * i + 1, [4 * i + 1, 4 * i, 4 * i + 2]] = True
    labels = tuple(f"{i.premise.text()} => {i.conclusion.text()}" for i in items)
    return Task("asymmetry", {"main": Run(tuple(stimuli), tuple(probes), mask)}, layout, labels)


def noise_layout(n: int, per_family: int) -> layouts.NoiseLayout:
    """The noise layout of n facts with consecutive families and no pure noise.

    Noised copies sit in rows 0..n-1 and each item's shuffled control in the next row.

    Falsification tests use it for one fact with one shuffled partner (n=1, two rows).
    """
    family = np.arange(n * per_family).reshape(n, per_family)
    empty = np.zeros(0, dtype=np.int64)
    return layouts.NoiseLayout(family[:, 0], family, np.arange(n), np.arange(n) + 1, empty, empty, empty, empty)
