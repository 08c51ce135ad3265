"""The GPU figures, in one short run: ``python -m benchmarks.gpu [--model PATH] [--skip-default-run]``.

On a CUDA machine it prints one JSON line per measurement:

- ``engine``: stimuli per second of each engine (exact, first-order, in-context) on smollm2,
  32 stimuli x 24 probes, k=1, in float32 and bfloat16, and on ``--model`` (a local ~1B
  causal LM folder, bfloat16) when given;
- ``batched``: the exact engine on smollm2 + a rank-8 LoRA adapter, 64 stimuli x 24 probes,
  k=3, for ``batch_stimuli`` B = 1, 2, 4, ..., 64 (stimuli per second, peak device memory);
- ``default_run``: the wall time of ``eifbench run --cache=off`` (fashion-cnn + smollm2,
  every cell) on the device, and its verdicts against the committed baseline.

Every timing is taken after one warm-up call, with ``torch.cuda.synchronize`` around it. On
a machine without CUDA it says so and exits 2: nothing here is meaningful on a CPU.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINES = ("exact", "first-order", "in-context")
BATCHES = (1, 2, 4, 8, 16, 32, 64)


def timed(call: Callable[[], object]) -> float:
    """Seconds of one call after a warm-up call, the device synchronised on both sides."""
    import torch

    call()
    torch.cuda.synchronize()
    began = time.perf_counter()
    call()
    torch.cuda.synchronize()
    return time.perf_counter() - began


def engine_rates(spec: str, args: str, label: str) -> None:
    """Stimuli per second of each engine on one model."""
    import eifbench
    from benchmarks.workloads import _smollm2_items

    model = eifbench.load_model(spec, args)
    stimuli, probes = _smollm2_items(32, 24)
    recipe = eifbench.FineTune(steps=1, lr=1e-4)
    for engine in ENGINES:
        finetune = recipe if engine != "in-context" else None
        seconds = timed(lambda e=engine, f=finetune: eifbench.influence(model, stimuli, probes, engine=e, finetune=f))
        print(json.dumps({"engine": engine, "model": label, "stimuli_per_s": len(stimuli) / seconds}), flush=True)


def batched_rates() -> None:
    """The batched exact engine on smollm2 + LoRA for B = 1 ... 64: stimuli per second, peak memory."""
    import torch

    import eifbench
    from benchmarks.workloads import _smollm2_items, save_smollm2_lora

    with tempfile.TemporaryDirectory() as folder:
        adapter = save_smollm2_lora(Path(folder) / "lora")
        stimuli, probes = _smollm2_items(64, 24)
        model = eifbench.load_model(f"hf:{adapter}", "device=cuda")
        recipe = eifbench.FineTune(steps=3, lr=1e-4)
        for batch in BATCHES:
            torch.cuda.reset_peak_memory_stats()
            seconds = timed(
                lambda b=batch: eifbench.influence(model, stimuli, probes, finetune=recipe, batch_stimuli=b)
            )
            peak = torch.cuda.max_memory_allocated() / 2**20
            line = {"batched": batch, "stimuli_per_s": len(stimuli) / seconds, "peak_mib": round(peak)}
            print(json.dumps(line), flush=True)


def default_run() -> None:
    """``eifbench run`` on the device, every cell computed; its wall time and whether its verdicts hold."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "default.json"
        from eifbench.zoo import load_model

        # first-use work (fashion-cnn's training, the GGUF conversion) is done before the clock starts
        for name in ("fashion-cnn", "smollm2"):
            load_model(name, "device=cpu")
        argv = [sys.executable, "-m", "eifbench.cli", "run", "--cache=off", "--model-args=device=cuda", f"--json={out}"]
        began = time.perf_counter()
        proc = subprocess.run(argv, cwd=folder, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - began
        if proc.returncode not in (0, 1) or not out.exists():  # 1: verdicts fail, as the committed baseline's do
            print(json.dumps({"default_run_failed": proc.returncode, "stderr": proc.stderr[-3000:]}), flush=True)
            return
        measured = {
            (r["model"], r["desideratum"], r["condition"]): r["status"] for r in json.loads(out.read_text())["results"]
        }
        committed = json.loads((ROOT / "reports" / "baselines" / "default.json").read_text())["results"]
        want = {
            (r["model"], r["desideratum"], r["condition"]): r["status"]
            for r in committed
            if r["model"] in ("fashion-cnn", "smollm2")
        }
        differ = sorted(" / ".join(k) for k in want if measured.get(k) != want[k])
        print(json.dumps({"default_run_s": round(seconds, 1), "verdicts_differ": differ}), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a local ~1B causal LM folder, measured in bfloat16")
    parser.add_argument("--skip-default-run", action="store_true", help="leave out the default run (minutes)")
    args = parser.parse_args()
    import torch

    if not torch.cuda.is_available():
        print("benchmarks.gpu: no CUDA device here; these figures are for a GPU machine.", file=sys.stderr)
        return 2
    print(json.dumps({"device": torch.cuda.get_device_name(0), "torch": torch.__version__}), flush=True)
    engine_rates("smollm2", "device=cuda", "smollm2 float32")
    engine_rates("smollm2", "device=cuda,dtype=bfloat16", "smollm2 bfloat16")
    if args.model:
        engine_rates(f"hf:{args.model}", "device=cuda,dtype=bfloat16", f"{args.model} bfloat16")
    batched_rates()
    if not args.skip_default_run:
        default_run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
