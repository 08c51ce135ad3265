"""The stimulus bank: a pure function of (bank version, seed), pinned by its digest."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

from eifbench.bank import BANK_VERSION, IMAGE_BANK_VERSION, LABELLED_BANK_VERSION
from eifbench.bank.draws import Draws
from eifbench.bank.items import REAL_WORDS, chain_items, entailment_items, exclusive_items, fact_families, gibberish
from eifbench.bank.language import typo
from eifbench.desiderata import DESIDERATA
from eifbench.desiderata.registry import BUILT_IN
from eifbench.influence.digest import run_digest, task_digest
from eifbench.tasks.base import TaskSpec
from tests.numbers import GOLDEN

# The version of the bank part and of the desideratum each default task was drawn at, per (model kind,
# desideratum); the digest it was drawn to is the golden one (tests/golden/stimuli.json, shared with
# tests/test_no_number_changes.py). A change to one desideratum's default stimuli bumps its ``version``
# (and its row here, and the golden file: ``python -m tests.numbers``), and so redraws, and refuses the
# baselines of, that desideratum alone. A change to a part's shared bank (the fact families all
# language tasks draw on) bumps the part's version in eifbench/bank.
PINNED_AT = {
    ("causal-lm", "distance"): ("2", "1"),
    ("causal-lm", "sparseness"): ("2", "2"),
    ("causal-lm", "noise invariance"): ("2", "2"),
    ("causal-lm", "transitivity"): ("2", "1"),
    ("causal-lm", "logical consistency"): ("2", "1"),
    ("causal-lm", "asymmetry"): ("2", "1"),
    ("classifier", "distance"): ("1", "1"),
    ("classifier", "sparseness"): ("1", "2"),
    ("classifier", "noise invariance"): ("1", "2"),
    ("classifier", "transitivity"): ("1", "1"),
    ("text-classifier", "distance"): ("1", "1"),
    ("text-classifier", "sparseness"): ("1", "2"),
    ("text-classifier", "noise invariance"): ("1", "2"),
}
VERSION_OF = {"causal-lm": BANK_VERSION, "classifier": IMAGE_BANK_VERSION, "text-classifier": LABELLED_BANK_VERSION}
BUILT_IN_KINDS = tuple(VERSION_OF)
DATASET_OF = {"classifier": "fashion-mnist"}


def default_task_digest(kind: str, name: str, items: int = 36, seed: int = 0) -> str:
    """The digest of one desideratum's default task (36 items) for a model kind."""
    spec = TaskSpec(kind, items, seed=seed, dataset=DATASET_OF.get(kind))
    return task_digest(DESIDERATA[name].build(spec))


def bank_digest(kind: str, items: int = 36, seed: int = 0) -> str:
    """One digest over every desideratum's default task for a model kind."""
    hasher = hashlib.blake2b(digest_size=12)
    for name, desideratum in DESIDERATA.items():
        if desideratum.not_applicable(kind, "finetune") is None:
            hasher.update(f"{name}:{default_task_digest(kind, name, items, seed)};".encode())
    return hasher.hexdigest()


@pytest.mark.parametrize(
    "kind,name",
    [(k, n) for k in BUILT_IN_KINDS for n in BUILT_IN if DESIDERATA[n].not_applicable(k, "finetune") is None],
)
def test_each_desideratum_s_default_stimuli_are_pinned(kind, name):
    desideratum = DESIDERATA[name]
    versions = (VERSION_OF[kind], desideratum.version)
    assert PINNED_AT.get((kind, name)) == versions, (
        f"{kind} {name} is at versions {versions}: a new version updates its row of PINNED_AT"
    )
    golden = json.loads((GOLDEN / "stimuli.json").read_text())[f"{kind}/statement/{DATASET_OF.get(kind)}/{name}"]
    assert default_task_digest(kind, name) == golden, (
        f"the default {kind} stimuli of {name} changed: bump {type(desideratum).__name__}.version, update its "
        "row of PINNED_AT and the golden stimuli (python -m tests.numbers); its baselines are refused, the "
        "other desiderata's stay valid"
    )


def test_the_bank_is_the_same_in_a_fresh_process_and_differs_by_seed():
    code = "from tests.test_bank import bank_digest; print(bank_digest('causal-lm'))"
    fresh = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    ).stdout.strip()
    assert fresh == bank_digest("causal-lm")
    assert bank_digest("causal-lm", seed=1) != fresh


def test_draws_are_frozen_arithmetic():
    draws = Draws("pin", 0)
    assert [draws.below(10) for _ in range(8)] == [1, 5, 9, 5, 5, 0, 9, 4]  # SHAKE-256: the same everywhere
    assert Draws("pin", 0).sample(range(100), 3) == Draws("pin", 0).sample(range(100), 3)
    normal = Draws("pin", 1).normal_array(20000)
    assert abs(normal.mean()) < 0.03 and abs(normal.std() - 1) < 0.03


def test_items_are_deduplicated_within_a_task():
    families = fact_families(34, 0)
    assert len({f.fact.subject for f in families}) == 34
    objects = [o for f in families for o in (f.fact.obj, f.related[0].obj, f.related[1].obj)]
    assert len(set(objects)) == len(objects)
    exclusive = exclusive_items(34, 0)
    assert len({(i.fact.relation.name, i.fact.obj) for i in exclusive}) == 34
    assert len({w for i in exclusive for w in (i.fact.subject, i.control)}) == 68
    chains = chain_items(34, 0)
    words = [w for c in chains for w in (c.entity, *c.categories, c.control)]
    assert len(set(words)) == len(words) and not set(words) & REAL_WORDS
    assert len({p for c in chains for p in (c.prop, c.control_property)}) == 68
    assert len({e.hypernym for e in entailment_items(34, 0)}) == 34


def test_gibberish_and_typos_are_varied():
    junk = gibberish(12, 0)
    assert len({len((j.x + j.y).split()) for j in junk}) >= 4 and len({j.y[-1] for j in junk}) >= 3
    kinds = {typo("kind", k, 0) for k in ("swap", "drop", "double", "replace", "insert")}
    assert len(kinds) == 5 and "kind" not in kinds


def test_the_bank_refuses_more_items_than_it_holds():
    from eifbench.errors import InputError

    with pytest.raises(InputError, match="at most 40 entailment pairs"):
        entailment_items(41, 0)


def distinct_fine_tunes(kind: str, items: int) -> int:
    """How many stimuli every desideratum of a kind fine-tunes on, each distinct run once (as a session does)."""
    runs = {}
    for desideratum in DESIDERATA.values():
        if desideratum.not_applicable(kind, "finetune") is None:
            spec = TaskSpec(kind, items, dataset="fashion-mnist" if kind == "classifier" else None)
            for run in desideratum.build(spec).runs.values():
                runs[run_digest(run)] = len(run.stimuli)
    return sum(runs.values())


@pytest.mark.parametrize("kind,share", [("causal-lm", 0.12), ("classifier", 0.14), ("text-classifier", 0.19)])
def test_a_smoke_run_costs_about_its_share_of_a_full_one(kind, share):
    """``--limit 4`` fine-tunes about 4/36 of what 36 items do: the sensitivity probes and pools scale too.

    Before, an LM's 24 everyday facts and an image model's 128 broad probes, 64 spill images
    and 80-image transitivity pool were fine-tuned on whatever the limit: 16% and 54%.
    """
    assert distinct_fine_tunes(kind, 4) / distinct_fine_tunes(kind, 36) <= share
