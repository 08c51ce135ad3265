"""Adapter-only fine-tuning vs the full fine-tune on smollm2: time and peak memory per stimulus."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

import eifbench
from benchmarks import workloads
from benchmarks.conftest import EXTRA_LINES, report_ratio

ROOT = Path(__file__).resolve().parents[1]
RECIPE = eifbench.FineTune(steps=3, lr=1e-4)


def _probe(*args: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.adapter_probe", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def adapter(tmp_path_factory):
    return workloads.save_smollm2_lora(tmp_path_factory.mktemp("lora") / "r8", rank=8)


@pytest.mark.slow
def test_rank8_lora_peak_memory_per_stimulus_vs_full_finetune(adapter):
    full, lora = _probe("full"), _probe("lora", adapter)
    ratio = lora["peak_bytes"] / full["peak_bytes"]
    mib = 1024**2
    EXTRA_LINES.append(
        f"smollm2 peak memory above the loaded interpreter, 8 stimuli x 24 probes, k=3: full fine-tune "
        f"{full['peak_bytes'] / mib:.0f} MiB ({full['trained_parameters']:,} trained), rank-8 LoRA adapter-only "
        f"{lora['peak_bytes'] / mib:.0f} MiB ({lora['trained_parameters']:,} trained): {ratio:.2f}x "
        f"(goal <= 0.8x {'MET' if ratio <= 0.8 else 'MISSED'}); seconds per stimulus in those runs "
        f"{full['seconds_per_stimulus']:.2f} vs {lora['seconds_per_stimulus']:.2f}"
    )
    assert ratio <= 0.8


@pytest.mark.slow
@pytest.mark.benchmark(group="smollm2 8x24 k=3: full vs LoRA")
def test_rank8_lora_time_per_stimulus_vs_full_finetune(side_by_side, adapter):
    full_model, stimuli, probes = workloads.smollm2(8, 24)
    lora_model, _, _ = workloads.smollm2_lora(8, 24, adapter)
    times = side_by_side(
        {
            "full": lambda: eifbench.influence(full_model, stimuli, probes, finetune=RECIPE),
            "lora": lambda: eifbench.influence(lora_model, stimuli, probes, finetune=RECIPE),
        },
        rounds=3,
    )
    ratio = report_ratio(
        "smollm2: LoRA adapter-only / full fine-tune time (8 x 24, k=3)", times, "lora", "full", 0.9, False
    )
    per_stimulus = {name: statistics.median(t) / len(stimuli) for name, t in times.items()}
    EXTRA_LINES.append(
        f"smollm2 seconds per stimulus (interleaved, median of 3 rounds): full {per_stimulus['full']:.2f} s, "
        f"rank-8 LoRA {per_stimulus['lora']:.2f} s"
    )
    assert ratio <= 0.9
