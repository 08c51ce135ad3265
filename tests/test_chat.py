"""Chat templates: the assistant states the fact; the read-out counts the completion's tokens only."""

from __future__ import annotations

import copy
import json

import pytest
import torch
import torch.nn.functional as F

import eifbench
from eifbench.errors import ModelSpecError
from eifbench.zoo import chat_template_of
from tests.checkpoints import CHAT_TEMPLATE, save_tiny_lm, save_tiny_t5
from tests.conftest import run_suite

# what CHAT_TEMPLATE renders before the assistant's reply, written out by hand
PREFIX = "<|system|>You are terse.<eos>\n<|user|>Tell me a fact.<eos>\n<|assistant|>"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("chat")
    return {"chat": save_tiny_lm(root / "chat", chat_template=CHAT_TEMPLATE), "plain": save_tiny_lm(root / "plain")}


@pytest.fixture(scope="module")
def chat(folders):
    return eifbench.load_model(f"hf:{folders['chat']}", "device=cpu")


def _ids(tokenizer, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False).input_ids)


def _sum_logp(module, ids: list[int], counted: int) -> float:
    with torch.no_grad():
        logp = F.log_softmax(module(input_ids=torch.tensor([ids])).logits[0].double(), dim=-1)
    return float(sum(logp[t - 1, ids[t]] for t in range(len(ids) - counted, len(ids))))


def test_the_read_out_counts_exactly_the_completion_after_the_assistant_prefix(chat):
    tok = chat.tokenizer
    probe = eifbench.Example("A wug is", " blue")
    completion = _ids(tok, " blue")
    ids = _ids(tok, PREFIX) + _ids(tok, "A wug is") + completion
    prepared = chat.prepare_probes([probe])
    batch = prepared.batches[0]
    assert batch.input_ids[0].tolist() == ids and int(batch.counted.sum()) == len(completion)
    assert tok.decode(batch.input_ids[0][~batch.counted[0]]).endswith("<|assistant|>A wug is")
    assert float(chat.readout(prepared)[0]) == pytest.approx(_sum_logp(chat.module, ids, len(completion)), abs=1e-4)


def test_a_statement_trains_as_the_assistant_answer_on_its_own_tokens(chat):
    tok = chat.tokenizer
    prepared = chat.prepare_stimulus(eifbench.Text("A wug is blue."))
    head, body = _ids(tok, PREFIX), _ids(tok, "A wug is blue.")
    assert prepared.input_ids[0].tolist() == head + body and prepared.first_label == len(head)
    assert prepared.labels[0].tolist() == [-100] * len(head) + body


def test_in_context_the_stimulus_is_an_earlier_assistant_answer(chat):
    batch = chat.prepare_probes([eifbench.Example("A wug is", " blue")], context="Zorbs live in caves.").batches[0]
    row = chat.tokenizer.decode(batch.input_ids[0][batch.attention_mask[0].bool()])
    assert row == (
        "<|system|>You are terse.<eos>\n<|user|>Tell me a fact.<eos>\n<|assistant|>Zorbs live in caves.<eos>\n"
        "<|user|>Tell me a fact.<eos>\n<|assistant|>A wug is blue"
    )
    assert int(batch.counted.sum()) == len(_ids(chat.tokenizer, " blue"))


def test_a_system_prompt_opens_every_sequence(folders):
    model = eifbench.load_model(f"hf:{folders['chat']},system=Be brief.", "device=cpu")
    prefix = model.tokenizer.decode(model.chat.assistant_prefix())
    assert prefix == "<|system|>Be brief.<eos>\n<|user|>Tell me a fact.<eos>\n<|assistant|>"


def test_the_engine_on_a_chat_model_equals_a_deepcopy_loop(chat):
    stimuli = [eifbench.Text("A wug is a kind of blicket."), eifbench.Example("Zorbs live in", " deep caves.")]
    probes = [eifbench.Example("A wug is a kind of", " blicket."), eifbench.Example("Zorbs live in", " deep caves.")]
    recipe = eifbench.FineTune(steps=2, lr=0.05)
    result = eifbench.influence(chat, stimuli, probes, finetune=recipe)
    tok = chat.tokenizer
    reads = [(_ids(tok, PREFIX) + _ids(tok, p.x) + _ids(tok, p.y), len(_ids(tok, p.y))) for p in probes]
    before = torch.tensor([_sum_logp(chat.module, ids, n) for ids, n in reads])
    for i, stimulus in enumerate(stimuli):
        tuned = copy.deepcopy(chat.module)
        optimizer = torch.optim.SGD(tuned.parameters(), lr=recipe.lr)
        if isinstance(stimulus, eifbench.Text):
            head, body = _ids(tok, PREFIX), _ids(tok, stimulus.text)
        else:
            head, body = _ids(tok, PREFIX) + _ids(tok, stimulus.x), _ids(tok, stimulus.y)
        ids, labels = torch.tensor([head + body]), torch.tensor([[-100] * len(head) + body])
        for _ in range(recipe.steps):
            tuned(input_ids=ids, labels=labels).loss.backward()
            optimizer.step()
            optimizer.zero_grad()
        after = torch.tensor([_sum_logp(tuned, ids, n) for ids, n in reads])
        torch.testing.assert_close(result.matrix[i], (after - before).float(), atol=2e-4, rtol=1e-4)
    assert result.matrix.abs().max() > 1e-2


def test_auto_on_off_and_their_mistakes(folders, chat):
    chat_spec, plain_spec = f"hf:{folders['chat']}", f"hf:{folders['plain']}"
    assert chat.chat is not None
    assert chat_template_of(chat_spec) == "on" and chat_template_of(plain_spec) == "off"
    assert chat_template_of(f"{chat_spec},chat_template=off") == "off"
    assert chat_template_of("smollm2") == "on" and chat_template_of("tiny-lm") == "off"  # decided without loading
    off = eifbench.load_model(f"{chat_spec},chat_template=off", "device=cpu")
    plain = eifbench.load_model(plain_spec, "device=cpu")
    probes = [eifbench.Example("A wug is", " blue")]
    assert off.chat is None and plain.chat is None
    torch.testing.assert_close(off.readout(off.prepare_probes(probes)), plain.readout(plain.prepare_probes(probes)))
    with pytest.raises(ModelSpecError, match="chat_template=on, but .* defines no chat template"):
        eifbench.load_model(f"{plain_spec},chat_template=on", "device=cpu")
    with pytest.raises(ModelSpecError, match="system=... needs a chat template"):
        eifbench.load_model(f"{plain_spec},system=Be brief.", "device=cpu")


def test_a_template_without_a_generation_prompt_is_refused(tmp_path):
    folder = save_tiny_lm(tmp_path / "lm", chat_template="{% for m in messages %}{{ m['content'] }}\n{% endfor %}")
    with pytest.raises(ModelSpecError, match="adds no assistant prefix"):
        eifbench.load_model(f"hf:{folder}", "device=cpu")


def test_chat_arguments_on_a_seq2seq_model_are_refused(tmp_path):
    folder = save_tiny_t5(tmp_path / "t5")
    with pytest.raises(ModelSpecError, match="is a seq2seq-lm: chat_template=on and system= apply to causal LMs only"):
        eifbench.load_model(f"hf:{folder},chat_template=on")
    assert chat_template_of(f"hf:{folder}") == "off"


def test_records_carry_the_resolved_template_and_a_baseline_without_it_is_refused(folders, tmp_path):
    model = f"hf:{folders['chat']}"
    baseline = tmp_path / "base.json"
    common = ("--eif-limit", "2", "--eif-lr", "0.01", "-k", "distance")
    saved = run_suite("--eif-model", model, f"--eif-save-baseline={baseline}", *common)
    assert saved.returncode == 0, saved.stdout[-2000:]
    recipes = [r["recipe"] for r in json.loads(baseline.read_text())["results"]]
    assert recipes and all(r["chat_template"] == "on" for r in recipes)
    refused = run_suite(
        "--eif-model", model, "--eif-model-args", "chat_template=off", f"--eif-compare={baseline}", *common
    )
    assert refused.returncode == 4, refused.stdout[-2000:]
    assert "'chat_template': 'on'" in refused.stderr and "'chat_template': 'off'" in refused.stderr
    assert "Traceback" not in refused.stderr


@pytest.mark.slow
@pytest.mark.lm
def test_smollm2_template_prefix_and_completion_tokens():
    model = eifbench.load_model("smollm2", "device=cpu")
    assert model.chat is not None
    tok = model.tokenizer
    prefix = (
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>user\nTell me a fact.<|im_end|>\n<|im_start|>assistant\n"
    )
    assert tok.decode(model.chat.assistant_prefix()) == prefix
    probe = eifbench.Example("The capital of France is", " Paris")
    completion = _ids(tok, " Paris")
    ids = _ids(tok, prefix) + _ids(tok, "The capital of France is") + completion
    prepared = model.prepare_probes([probe])
    batch = prepared.batches[0]
    real = batch.attention_mask[0].bool()
    assert batch.input_ids[0][real].tolist() == ids and int(batch.counted.sum()) == len(completion)
    assert float(model.readout(prepared)[0]) == pytest.approx(_sum_logp(model.module, ids, len(completion)), abs=2e-3)
