"""smollm2 reads its probes' shared opening once: the engines with and without it, side by side.

SmolLM2's chat template opens every sequence with the same system prompt (about 30 of a
probe's 40 tokens), and in context every probe of a stimulus opens with the stimulus. The
variants differ only in that: "whole rows" hides the adapter's ``prepare_shared``, so every
read-out runs each row from its first token, as before.
"""

from __future__ import annotations

import pytest

import eifbench
from benchmarks.conftest import report_ratio
from eifbench.desiderata import DESIDERATA
from eifbench.tasks.base import TaskSpec

STIMULI = 6


@pytest.fixture(scope="module")
def distance_task():
    model = eifbench.load_model("smollm2", "device=cpu")
    task = DESIDERATA["distance"].build(TaskSpec("causal-lm", 36))
    run = task.runs["main"]
    return model, run.stimuli[:STIMULI], run.probes, run.mask[:STIMULI]


def _variants(model, stimuli, probes, mask, engine):
    recipe = eifbench.FineTune(steps=1, lr=1e-4) if engine == "exact" else None

    def shared():
        eifbench.influence(model, stimuli, probes, engine=engine, finetune=recipe, mask=mask)

    def whole_rows():
        model.prepare_shared = None  # prepare_readout falls back to whole rows
        try:
            eifbench.influence(model, stimuli, probes, engine=engine, finetune=recipe, mask=mask)
        finally:
            del model.prepare_shared

    return {"whole rows": whole_rows, "shared opening": shared}


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["exact", "in-context"])
@pytest.mark.benchmark(group="shared opening")
def test_smollm2_reads_its_shared_opening_once(side_by_side, distance_task, engine):
    times = side_by_side(_variants(*distance_task, engine), rounds=3)
    label = f"smollm2 {engine}, distance task ({STIMULI} stimuli x their probes): whole rows / shared opening"
    report_ratio(label, times, "whole rows", "shared opening", 1.5, True)
