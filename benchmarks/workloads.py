"""The benchmark workloads and the two reference loops every engine is measured against."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

import eifbench
from eifbench.datasets import fashion_mnist
from eifbench.strategies import draw_batch, isa_facts


def fashion(n_stimuli: int, n_probes: int) -> tuple[object, list, list]:
    """fashion-cnn with test images as stimuli and (other) test images as probes."""
    model = eifbench.load_model("fashion-cnn", "device=cpu")
    data = fashion_mnist("test")
    stimuli = [eifbench.Example(data.images[i], int(data.labels[i])) for i in range(n_stimuli)]
    probes = [eifbench.Example(data.images[i], int(data.labels[i])) for i in range(2000, 2000 + n_probes)]
    return model, stimuli, probes


def smollm2(n_stimuli: int, n_probes: int) -> tuple[object, list, list]:
    """smollm2 with nonce facts as stimuli and nonce facts, negations and alternatives as probes."""
    model = eifbench.load_model("smollm2", "device=cpu")
    facts = draw_batch(isa_facts(alternatives=1), max(n_stimuli, n_probes // 3), seed_value=0)
    probes = [p for f in facts for p in (f.example, f.negated, *f.exclusive)][:n_probes]
    return model, [f.example for f in facts[:n_stimuli]], probes


def naive_loop(model, stimuli, probes, steps: int, lr: float) -> torch.Tensor:
    """What one writes without eifbench: deepcopy, new optimizer, k steps, one batched read."""
    prepared = model.prepare_probes(probes)
    base = model.readout(prepared)
    rows = []
    for stimulus in stimuli:
        tuned = copy.deepcopy(model.module)
        optimizer = torch.optim.SGD(tuned.parameters(), lr=lr)
        batch = model.prepare_stimulus(stimulus)
        for _ in range(steps):
            loss = _loss(model, tuned, batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        rows.append(_read(model, tuned, prepared) - base)
    return torch.stack(rows)


def compute_floor(model, stimuli, probes, steps: int, lr: float) -> None:
    """The unavoidable work: k SGD steps per stimulus and one batched probe read, nothing else.

    No restore and no bookkeeping: it runs on a throwaway copy with the update scaled by
    zero, so every step does the same arithmetic yet the weights never drift (320 drifting
    steps reach denormal and huge values that slow a CPU down and would flatter the engine).
    """
    del lr  # the update is computed and applied, at scale 0
    work = copy.deepcopy(model.module)
    if model.kind == "classifier":  # the fastest layout for convolutions: the floor gets it too
        work = work.to(memory_format=torch.channels_last)
    params = [p for p in work.parameters() if p.requires_grad]
    prepared = model.prepare_probes(probes)
    batches = [model.prepare_stimulus(s) for s in stimuli]
    for batch in batches:
        for _ in range(steps):
            grads = torch.autograd.grad(_loss(model, work, batch), params)
            with torch.no_grad():
                torch._foreach_add_(params, grads, alpha=-0.0)
        _read(model, work, prepared)


def _loss(model, module, batch):
    if model.kind == "classifier":
        x, y = batch
        return F.cross_entropy(module(x), y)
    ids, labels = batch
    return module(input_ids=ids, labels=labels).loss


def _read(model, module, prepared):
    original = model.module
    model.module = module  # reuse the adapter's read-out on the tuned copy
    try:
        return model.readout(prepared)
    finally:
        model.module = original
