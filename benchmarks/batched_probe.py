"""Peak memory of the batched exact engine on smollm2 + a LoRA adapter, in a fresh process.

``python -m benchmarks.batched_probe ADAPTER_FOLDER [B]`` (B: ``batch_stimuli``, automatic if
omitted). Prints one JSON line: peak resident memory above what the process held before the
model was loaded (as ``memory_probe``), the model's parameter bytes, and the B the engine used.
"""

from __future__ import annotations

import json
import sys

import psutil

from benchmarks.memory_probe import PeakSampler

STIMULI, PROBES = 32, 24


def main(adapter: str, batch: str | None = None) -> None:
    import torch  # noqa: F401  (imported before the reference point)
    import transformers  # noqa: F401

    import eifbench
    from benchmarks import workloads

    before = psutil.Process().memory_info().rss
    recipe = eifbench.FineTune(steps=3, lr=1e-4)
    with PeakSampler() as sampler:
        model, stimuli, probes = workloads.smollm2_lora(STIMULI, PROBES, adapter)
        result = eifbench.influence(
            model, stimuli, probes, finetune=recipe, batch_stimuli=None if batch is None else int(batch)
        )
    print(
        json.dumps(
            {
                "peak_bytes": sampler.peak - before,
                "model_bytes": sum(p.numel() * p.element_size() for p in model.module.parameters()),
                "batched": result.batched,
                "seconds": result.seconds,
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:3])
