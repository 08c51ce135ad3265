"""Time and peak memory per stimulus of one fine-tune mode on smollm2, in a fresh process.

``python -m benchmarks.adapter_probe full`` (every weight trained) or
``python -m benchmarks.adapter_probe lora ADAPTER_FOLDER`` (the adapter's weights only).
Prints one JSON line: peak resident memory above what the process held before the model
was loaded (as ``memory_probe``), and the exact engine's seconds per stimulus.
"""

from __future__ import annotations

import json
import sys

import psutil

from benchmarks.memory_probe import PeakSampler

STIMULI, PROBES = 8, 24


def main(mode: str, adapter: str | None = None) -> None:
    import torch  # noqa: F401  (imported before the reference point)
    import transformers  # noqa: F401

    import eifbench
    from benchmarks import workloads
    from eifbench.influence.exact import trainable_parameters

    before = psutil.Process().memory_info().rss
    recipe = eifbench.FineTune(steps=3, lr=1e-4)
    with PeakSampler() as sampler:
        if mode == "full":
            model, stimuli, probes = workloads.smollm2(STIMULI, PROBES)
        elif mode == "lora" and adapter is not None:
            model, stimuli, probes = workloads.smollm2_lora(STIMULI, PROBES, adapter)
        else:
            raise SystemExit(f"usage: python -m benchmarks.adapter_probe full | lora ADAPTER (got {mode!r})")
        result = eifbench.influence(model, stimuli, probes, finetune=recipe)
    trained = trainable_parameters(model.module, recipe)
    print(
        json.dumps(
            {
                "mode": mode,
                "peak_bytes": sampler.peak - before,
                "seconds_per_stimulus": result.seconds / len(stimuli),
                "trained_parameters": sum(p.numel() for p in trained),
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:3])
