"""The stimulus bank: a pure function of (bank version, seed), pinned by its digest."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from eifbench.bank import BANK_VERSION, IMAGE_BANK_VERSION, LABELLED_BANK_VERSION
from eifbench.bank.draws import Draws
from eifbench.bank.language import typo
from eifbench.desiderata import DESIDERATA
from eifbench.influence.digest import task_digest
from eifbench.tasks.base import TaskSpec
from eifbench.tasks.lm_items import REAL_WORDS, chain_items, entailment_items, exclusive_items, fact_families, gibberish

# bump the part's version (and its digest) whenever a change alters any of its default stimuli:
# BANK_VERSION for language models, IMAGE_BANK_VERSION, LABELLED_BANK_VERSION
PINNED = {
    ("2", "causal-lm"): "1529949abe273a867251241a",
    ("1", "classifier"): "dded9fc51ab72aec707ca406",
    ("1", "text-classifier"): "64c40edd2f7de051b4213d79",
}
VERSION_OF = {"causal-lm": BANK_VERSION, "classifier": IMAGE_BANK_VERSION, "text-classifier": LABELLED_BANK_VERSION}


def bank_digest(kind: str, items: int = 34, seed: int = 0) -> str:
    """One digest over every desideratum's default task for a model kind."""
    hasher = hashlib.blake2b(digest_size=12)
    spec = TaskSpec(kind, items, seed=seed, dataset="fashion-mnist" if kind == "classifier" else None)
    for name, desideratum in DESIDERATA.items():
        if desideratum.not_applicable(kind, "finetune") is None:
            hasher.update(f"{name}:{task_digest(desideratum.build(spec))};".encode())
    return hasher.hexdigest()


@pytest.mark.parametrize("kind", ["causal-lm", "classifier", "text-classifier"])
def test_the_default_bank_is_pinned(kind):
    assert bank_digest(kind) == PINNED[(VERSION_OF[kind], kind)], (
        f"the default {kind} stimuli changed: bump its version in eifbench/bank/__init__.py and update PINNED"
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
