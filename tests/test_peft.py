"""PEFT adapters: loaded on their base, only the adapter trained by default, restored bit for bit."""

from __future__ import annotations

import copy
import json
import subprocess

import pytest
import torch
import torch.nn.functional as F

import eifbench
from eifbench.errors import ModelSpecError
from eifbench.influence.exact import trainable_parameters
from eifbench.influence.snapshot import Snapshot, checksum
from tests.checkpoints import save_lora, save_tiny_lm
from tests.conftest import FACTS, PROBES, eifbench_cli

RECIPE = eifbench.FineTune(steps=2, lr=0.05)


@pytest.fixture(scope="module")
def lora(tmp_path_factory):
    folder = tmp_path_factory.mktemp("peft")
    save_tiny_lm(folder / "base")
    return save_lora(folder / "base", folder / "adapter")


@pytest.fixture(scope="module")
def adapter_model(lora):
    return eifbench.load_model(f"hf:{lora}", "device=cpu")


def _naive_peft(model, stimuli, probes, steps, lr):
    """deepcopy the PEFT model, SGD on what requires grad, read with the model's own forward."""

    def read(module):
        values = []
        for probe in probes:
            head = model.tokenizer(probe.x).input_ids
            ids = head + model.tokenizer(probe.y, add_special_tokens=False).input_ids
            with torch.no_grad():
                logp = F.log_softmax(module(input_ids=torch.tensor([ids])).logits[0].double(), dim=-1)
            values.append(float(sum(logp[t - 1, ids[t]] for t in range(len(head), len(ids)))))
        return torch.tensor(values)

    before = read(model.module)
    rows = []
    for stimulus in stimuli:
        tuned = copy.deepcopy(model.module)
        optimizer = torch.optim.SGD([p for p in tuned.parameters() if p.requires_grad], lr=lr)
        prepared = model.prepare_stimulus(stimulus)
        for _ in range(steps):
            loss = tuned(input_ids=prepared.input_ids, labels=prepared.labels).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        rows.append(read(tuned) - before)
    return torch.stack(rows).float()


def test_an_adapter_folder_loads_base_plus_adapter_with_only_the_adapter_trainable(adapter_model):
    module = adapter_model.module
    assert type(module).__name__ == "PeftModelForCausalLM"
    trained = [n for n, p in module.named_parameters() if p.requires_grad]
    assert trained and all("lora_" in n for n in trained)
    assert len(trained) == 8  # q_proj and v_proj of 2 layers, A and B each
    assert adapter_model.trims_logits and adapter_model.left_pads  # read from the base model's forward
    parameters = trainable_parameters(module, eifbench.FineTune())
    lora_bytes = sum(p.numel() * p.element_size() for p in parameters)
    buffer_bytes = sum(b.numel() * b.element_size() for b in module.buffers())
    assert Snapshot(module, parameters).nbytes == lora_bytes + buffer_bytes  # not the base's weights


def test_adapter_influence_equals_a_deepcopy_loop_and_restores_bitwise(adapter_model):
    before = checksum(adapter_model.module)
    result = eifbench.influence(adapter_model, FACTS, PROBES, finetune=RECIPE)
    assert checksum(adapter_model.module) == before
    expected = _naive_peft(adapter_model, FACTS, PROBES, RECIPE.steps, RECIPE.lr)
    assert result.matrix.abs().max() > 1e-2
    torch.testing.assert_close(result.matrix, expected, atol=2e-4, rtol=1e-4)


def test_base_plus_peft_arg_is_the_same_model(adapter_model, lora):
    other = eifbench.load_model(f"hf:{lora.parent / 'base'},peft={lora}", "device=cpu")
    torch.testing.assert_close(
        eifbench.influence(other, FACTS[:2], PROBES, finetune=RECIPE).matrix,
        eifbench.influence(adapter_model, FACTS[:2], PROBES, finetune=RECIPE).matrix,
    )


def test_trainable_all_trains_the_base_too(adapter_model, lora):
    everything = eifbench.load_model(f"hf:{lora},trainable=all", "device=cpu")
    assert all(p.requires_grad for p in everything.module.parameters())
    before = checksum(everything.module)
    full = eifbench.influence(everything, FACTS, PROBES, finetune=RECIPE).matrix
    assert checksum(everything.module) == before
    adapter_only = eifbench.influence(adapter_model, FACTS, PROBES, finetune=RECIPE).matrix
    assert (full - adapter_only).abs().max() > 0.1
    torch.testing.assert_close(
        full, _naive_peft(everything, FACTS, PROBES, RECIPE.steps, RECIPE.lr), atol=2e-4, rtol=1e-4
    )


def test_adapter_spec_mistakes_are_one_line_errors(lora, tmp_path):
    base = lora.parent / "base"
    with pytest.raises(
        ModelSpecError, match="trainable=all chooses what a PEFT adapter's fine-tune trains; .* has no adapter"
    ):
        eifbench.load_model(f"hf:{base},trainable=all")
    with pytest.raises(ModelSpecError, match="holds no adapter_config.json"):
        eifbench.load_model(f"hf:{base},peft={tmp_path}")
    with pytest.raises(ModelSpecError, match="is itself a PEFT adapter"):
        eifbench.load_model(f"hf:{lora},peft={lora}")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA"}))
    with pytest.raises(ModelSpecError, match="names no base_model_name_or_path"):
        eifbench.load_model(f"hf:{broken}")


def test_an_adapter_spec_is_recorded_by_its_base_kind(lora):
    from eifbench.zoo import spec_kind

    assert spec_kind(f"hf:{lora}") == "causal-lm"


@pytest.mark.slow
@pytest.mark.lm
def test_smollm2_rank8_lora_trains_the_adapter_only_and_restores(tmp_path):
    from eifbench.zoo.lm import _smollm2_folder

    adapter = save_lora(_smollm2_folder(), tmp_path / "lora", rank=8)
    model = eifbench.load_model(f"hf:{adapter}", "device=cpu")
    trained = trainable_parameters(model.module, eifbench.FineTune())
    assert 0 < sum(p.numel() for p in trained) < 0.01 * sum(p.numel() for p in model.module.parameters())
    stimulus = eifbench.Example("A wug is a kind of", " blicket")
    probes = [stimulus, eifbench.Example("The capital of France is", " Paris")]
    before = checksum(model.module)
    recipe = eifbench.FineTune(steps=2, lr=1e-3)
    result = eifbench.influence(model, [stimulus], probes, finetune=recipe)
    assert checksum(model.module) == before
    tuned = copy.deepcopy(model.module)
    optimizer = torch.optim.SGD([p for p in tuned.parameters() if p.requires_grad], lr=1e-3)
    prepared = model.prepare_stimulus(stimulus)
    for _ in range(2):
        tuned(input_ids=prepared.input_ids, labels=prepared.labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    copy_adapter = eifbench.CausalLMAdapter(tuned, model.tokenizer, chat=model.chat)
    expected = copy_adapter.readout(copy_adapter.prepare_probes(probes)) - model.readout(model.prepare_probes(probes))
    torch.testing.assert_close(result.matrix[0], expected, atol=1e-3, rtol=1e-4)
    assert result.matrix[0, 0] > 0


def _eifbench_run(*args: str, cwd) -> subprocess.CompletedProcess:
    return eifbench_cli("run", *args, cwd=cwd, timeout=1800)


@pytest.mark.slow
@pytest.mark.lm
def test_a_lora_adapter_trained_on_smollm2_is_gated_against_the_base_baseline(tmp_path):
    """``eifbench run --model hf:./adapter --compare base.json --compare-as smollm2``: exit 0, or 1 on a regression."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from eifbench.zoo.lm import _smollm2_folder

    base = AutoModelForCausalLM.from_pretrained(_smollm2_folder())
    torch.manual_seed(0)
    tuned = get_peft_model(base, LoraConfig(r=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    tokenizer = eifbench.load_model("smollm2", "device=cpu").tokenizer
    optimizer = torch.optim.Adam([p for p in tuned.parameters() if p.requires_grad], lr=1e-3)
    ids = torch.tensor([tokenizer("Zorbs live in deep caves and eat glowing moss.").input_ids])
    for _ in range(3):  # a few steps: the adapter is a real, slightly fine-tuned checkpoint
        tuned(input_ids=ids, labels=ids).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    tuned.save_pretrained(tmp_path / "adapter")

    common = ["--limit", "4", "--lr", "1e-3", "--", "-k", "distance", "-p", "no:cacheprovider"]
    # rho <= 2 and contrast >= -2 always, on as few as 2 learned items: the baseline passes wherever it measures
    passing = ["--threshold", "distance=2", "--threshold", "distance_contrast=-2", "--threshold", "min_items=2"]
    saved = _eifbench_run("--model", "smollm2", "--save-baseline", "base.json", *passing, *common, cwd=tmp_path)
    assert saved.returncode == 0, saved.stdout[-3000:] + saved.stderr[-2000:]
    # the adapter's default probe trains only the adapter, the base's trained every weight: refused at start
    refused = _eifbench_run(
        "--model", "hf:./adapter", "--compare", "base.json", "--compare-as", "smollm2", *common, cwd=tmp_path
    )
    assert refused.returncode == 4, refused.stdout[-3000:] + refused.stderr[-2000:]
    assert "trainable=all" in refused.stdout + refused.stderr
    gate = ["--model", "hf:./adapter,trainable=all", "--compare", "base.json", "--compare-as", "smollm2"]
    # the same passing threshold and a tolerance that forgives any move: nothing can regress -> 0
    lenient = [*gate, *passing, "--tolerance", "distance=100", "--json", "ok.json"]
    ok = _eifbench_run(*lenient, *common, cwd=tmp_path)
    records = json.loads((tmp_path / "ok.json").read_text())["results"]
    assert ok.returncode == 0, ok.stdout[-3000:] + ok.stderr[-2000:]
    assert {r["gate"]["kind"] for r in records if r["gate"]} <= {"ok", "improvement"}
    # a threshold nothing meets: every measured record newly fails -> a regression -> 1
    strict_args = [*gate, "--threshold", "distance=-2", "--threshold", "min_items=2", "--json", "bad.json"]
    strict = _eifbench_run(*strict_args, *common, cwd=tmp_path)
    records = json.loads((tmp_path / "bad.json").read_text())["results"]
    assert strict.returncode == 1, strict.stdout[-3000:] + strict.stderr[-2000:]
    assert any(r["gate"] and r["gate"]["kind"] == "regression" for r in records)
    assert all(r["model"] == "hf:./adapter" and r["recipe"].get("chat_template") in (None, "on") for r in records)
