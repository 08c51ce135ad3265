"""smollm2 reads its probes' shared opening once: the engines with and without it, side by side.

SmolLM2's chat template opens every sequence with the same system prompt (35 of a
probe's about 40 tokens), and in context every probe of a stimulus opens with the stimulus. The
variants differ only in that: "whole rows" hides the adapter's ``prepare_shared``, so every
read-out runs each row from its first token, as before.
"""

from __future__ import annotations

import pytest

import eifbench
from benchmarks.conftest import EXTRA_LINES, report_ratio
from eifbench.adapters.base import prepare_readout
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


@pytest.mark.slow
def test_smollm2_reads_with_a_shared_opening_what_it_reads_whole(distance_task):
    """Every probe of the distance task, read both ways: the difference is float rounding, not a change."""
    model, _, probes, _ = distance_task
    shared = model.readout(prepare_readout(model, list(probes)))
    whole = model.readout(model.prepare_probes(list(probes)))
    assert model.reads_openings  # the shared read really split an opening off
    relative = float(((shared - whole).abs() / whole.abs().clamp_min(1e-6)).max())
    EXTRA_LINES.append(
        f"smollm2, {len(probes)} probes: shared opening vs whole rows, max |difference| / |read-out| {relative:.1e}"
    )
    assert relative < 1e-5
