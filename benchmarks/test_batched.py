"""Batched exact influence on smollm2 + rank-8 LoRA: vs one stimulus at a time, vs a naive loop.

32 stimuli x 24 probes, k=3 SGD, LoRA on every attention and MLP projection. The batched
engine fine-tunes B stimuli in one forward/backward, each on its own adapter copy; the
one-at-a-time engine is the same call with ``batch_stimuli=1``; the naive loop deep-copies
the PEFT model and runs ``torch.optim.SGD`` per stimulus (``workloads.naive_loop``).
``EIFBENCH_BATCHED_ROUNDS`` lowers the number of interleaved rounds on a slow or shared box.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import eifbench
from benchmarks import workloads
from benchmarks.conftest import EXTRA_LINES, report_ratio

ROOT = Path(__file__).resolve().parents[1]
RECIPE = eifbench.FineTune(steps=3, lr=1e-4)
STIMULI, PROBES = 32, 24
ROUNDS = int(os.environ.get("EIFBENCH_BATCHED_ROUNDS", "3"))
SCALING = (1, 2, 4, 8, 16)


@pytest.fixture(scope="module")
def adapter(tmp_path_factory) -> str:
    return workloads.save_smollm2_lora(tmp_path_factory.mktemp("lora") / "r8", 8, workloads.ATTENTION_AND_MLP)


@pytest.fixture(scope="module")
def workload(adapter):
    return workloads.smollm2_lora(STIMULI, PROBES, adapter)


@pytest.mark.slow
@pytest.mark.benchmark(group="smollm2+LoRA 32x24 k=3: batched vs one at a time vs naive")
def test_batched_vs_one_at_a_time_vs_naive_loop(side_by_side, workload):
    model, stimuli, probes = workload
    used: list[int] = []

    def batched() -> None:
        used.append(eifbench.influence(model, stimuli, probes, finetune=RECIPE).batched)

    times = side_by_side(
        {
            "batched": batched,
            "one-at-a-time": lambda: eifbench.influence(model, stimuli, probes, finetune=RECIPE, batch_stimuli=1),
            "naive": lambda: workloads.naive_loop(model, stimuli, probes, RECIPE.steps, RECIPE.lr),
        },
        rounds=ROUNDS,
    )
    label = f"smollm2+LoRA r8 ({STIMULI} x {PROBES}, k=3, automatic B={max(used)}, {ROUNDS} rounds)"
    naive = report_ratio(f"{label}: naive loop / batched", times, "naive", "batched", 3.0, True)
    single = report_ratio(f"{label}: one-at-a-time / batched", times, "one-at-a-time", "batched", 2.0, True)
    assert naive >= 3.0 and single >= 2.0


@pytest.mark.slow
@pytest.mark.benchmark(group="smollm2+LoRA 32x24 k=3: B scaling")
def test_stimuli_per_second_as_b_grows(benchmark, workload):
    """Not a goal: how throughput scales with B (B=1 is the one-at-a-time engine), one run each."""
    model, stimuli, probes = workload
    eifbench.influence(model, stimuli[:2], probes, finetune=RECIPE)  # warm-up
    rates: dict[int, float] = {}

    def sweep() -> None:
        for b in SCALING:
            start = time.perf_counter()
            eifbench.influence(model, stimuli, probes, finetune=RECIPE, batch_stimuli=b)
            rates[b] = len(stimuli) / (time.perf_counter() - start)

    benchmark.pedantic(sweep, rounds=1, iterations=1)
    EXTRA_LINES.append(
        f"smollm2+LoRA r8 stimuli/second by B ({STIMULI} x {PROBES}, k=3, B=1 one at a time): "
        + ", ".join(f"B={b} {rate:.2f}" for b, rate in rates.items())
    )


@pytest.mark.slow
def test_batched_peak_memory_vs_the_model(adapter):
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.batched_probe", adapter],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    probe = json.loads(proc.stdout.strip().splitlines()[-1])
    ratio = probe["peak_bytes"] / probe["model_bytes"]
    mib = 1024**2
    EXTRA_LINES.append(
        f"smollm2+LoRA r8 batched engine (automatic B={probe['batched']}) peak memory above the loaded interpreter: "
        f"{probe['peak_bytes'] / mib:.0f} MiB, model {probe['model_bytes'] / mib:.0f} MiB: {ratio:.2f}x "
        f"(goal <= 1.5x {'MET' if ratio <= 1.5 else 'MISSED'}); engine call {probe['seconds']:.1f} s"
    )
    assert ratio <= 1.5
