"""The benchmark workloads and the two reference loops every engine is measured against."""

from __future__ import annotations

import copy
from pathlib import Path

import torch
import torch.nn.functional as F

import eifbench
from eifbench.adapters.base import prepare_readout
from eifbench.bank.datasets import fashion_mnist
from eifbench.bank.items import exclusive_items


def fashion(n_stimuli: int, n_probes: int) -> tuple[object, list, list]:
    """fashion-cnn with test images as stimuli and (other) test images as probes."""
    model = eifbench.load_model("fashion-cnn", "device=cpu")
    data = fashion_mnist("test")
    stimuli = [eifbench.Example(data.images[i], int(data.labels[i])) for i in range(n_stimuli)]
    probes = [eifbench.Example(data.images[i], int(data.labels[i])) for i in range(2000, 2000 + n_probes)]
    return model, stimuli, probes


def smollm2(n_stimuli: int, n_probes: int) -> tuple[object, list, list]:
    """smollm2 with the bank's exclusive facts as stimuli (statements) and facts, negations and
    alternatives as probes."""
    stimuli, probes = _smollm2_items(n_stimuli, n_probes)
    return eifbench.load_model("smollm2", "device=cpu"), stimuli, probes


def smollm2_lora(n_stimuli: int, n_probes: int, adapter: str) -> tuple[object, list, list]:
    """The smollm2 workload on smollm2 + a LoRA adapter folder, fine-tuning the adapter only."""
    stimuli, probes = _smollm2_items(n_stimuli, n_probes)
    return eifbench.load_model(f"hf:{adapter}", "device=cpu"), stimuli, probes


def _smollm2_items(n_stimuli: int, n_probes: int) -> tuple[list, list]:
    items = exclusive_items(max(n_stimuli, n_probes // 3 + 1), 0)
    probes = [p for i in items for p in (i.fact.probe, i.fact.negated, i.fact.with_object(i.alternatives[0]).probe)]
    return [i.fact.statement for i in items[:n_stimuli]], probes[:n_probes]


ATTENTION_AND_MLP = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def save_smollm2_lora(folder: Path, rank: int = 8, targets: tuple[str, ...] = ("q_proj", "v_proj")) -> str:
    """A seeded rank-``rank`` LoRA adapter (non-zero B) on ``targets`` of the converted SmolLM2 folder."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from eifbench.zoo.lm import _smollm2_folder

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(_smollm2_folder())
    config = LoraConfig(r=rank, lora_alpha=2 * rank, target_modules=list(targets), init_lora_weights=False)
    get_peft_model(base, config).save_pretrained(folder)
    return str(folder)


def naive_loop(model, stimuli, probes, steps: int, lr: float) -> torch.Tensor:
    """What one writes without eifbench: deepcopy, new optimizer, k steps, one batched read."""
    prepared = model.prepare_probes(probes)
    base = _naive_read(model, model.module, prepared)
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
        rows.append(_naive_read(model, tuned, prepared) - base)
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
    prepared = prepare_readout(model, list(probes))  # as the engine reads them (a shared opening once)
    batches = [model.prepare_stimulus(s) for s in stimuli]
    for batch in batches:
        for _ in range(steps):
            grads = torch.autograd.grad(_swapped(model, work, model.loss, batch), params)
            with torch.no_grad():
                torch._foreach_add_(params, grads, alpha=-0.0)
        _swapped(model, work, model.readout, prepared)


def _loss(model, module, batch):
    if model.kind == "classifier":
        x, y = batch
        return F.cross_entropy(module(x), y)
    return module(input_ids=batch.input_ids, labels=batch.labels).loss


def _swapped(model, module, method, argument):
    """Run an adapter method (the engine's own trimmed loss / read-out) on another module."""
    original = model.module
    model.module = module
    try:
        return method(argument)
    finally:
        model.module = original


@torch.inference_mode()
def _naive_read(model, module, prepared):
    """The read-out as one writes it: full logits, log-softmax, gather, mask."""
    if model.kind == "classifier":
        return torch.cat([F.log_softmax(module(x), -1).gather(1, y[:, None])[:, 0] for x, y in prepared.batches])
    values = []
    for batch in prepared.batches:
        logits = module(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits
        logp = F.log_softmax(logits[:, :-1].float(), dim=-1).gather(2, batch.input_ids[:, 1:, None])[..., 0]
        values.append((logp * batch.counted[:, 1:]).sum(dim=1))
    out = torch.empty(prepared.count)
    out[prepared.order] = torch.cat(values)
    return out
