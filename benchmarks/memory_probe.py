"""Peak memory of one workload, in a fresh process: ``python -m benchmarks.memory_probe MODE``.

Prints one JSON line: the peak resident memory above what the process held before the
model was loaded (interpreter, torch, transformers), sampled every 2 ms.
"""

from __future__ import annotations

import json
import sys
import threading
import time

import psutil


class PeakSampler:
    """Samples this process's RSS in a thread and keeps the maximum."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.002)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def main(mode: str) -> None:
    import torch  # noqa: F401  (imported before the reference point)
    import transformers  # noqa: F401

    import eifbench
    from benchmarks import workloads

    before = psutil.Process().memory_info().rss
    with PeakSampler() as sampler:
        model, stimuli, probes = workloads.smollm2(8, 24)
        recipe = eifbench.FineTune(steps=3, lr=1e-4)
        if mode == "grads":  # the reference: the model plus one full set of gradients
            model.loss(model.prepare_stimulus(stimuli[0])).backward()
        elif mode == "exact":
            eifbench.influence(model, stimuli, probes, finetune=recipe)
        elif mode == "naive":
            workloads.naive_loop(model, stimuli, probes, recipe.steps, recipe.lr)
        else:
            raise SystemExit(f"unknown mode {mode!r}")
    params = sum(p.numel() * p.element_size() for p in model.module.parameters())
    print(json.dumps({"mode": mode, "peak_bytes": sampler.peak - before, "model_bytes": params}))


if __name__ == "__main__":
    main(sys.argv[1])
