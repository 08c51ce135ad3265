"""Hardening round 2: the adversarial pass's reproductions, each now a clear answer (tiny models, < 2 min).

Items tested elsewhere: report paths and NaN thresholds (test_plugin), baselines, recipes,
models, kinds, SIGTERM, save-baseline and the gate's display (test_reports), caches, devices
and stimuli files (test_reliability), train mode and stale gradients (test_engines).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

import eifbench
from eifbench.errors import FineTuneDivergedError, InputError, ModelSpecError
from eifbench.influence.digest import digest
from eifbench.influence.snapshot import checksum


def test_1_a_train_mode_batchnorm_net_keeps_its_statistics():
    m = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(3136, 10))
    adapter = eifbench.ClassifierAdapter(m, input_shape=(1, 28, 28), num_classes=10)
    m.train()
    before = checksum(m)
    x = torch.rand(1, 28, 28, generator=torch.Generator().manual_seed(0))
    eifbench.influence(adapter, [eifbench.Example(x, 3)], [eifbench.Example(x, 1)], paranoid=True)
    assert checksum(m) == before and m.training


def test_7_a_completion_is_scored_on_its_own_tokens(tiny_lm):
    tok = tiny_lm.tokenizer
    ids, n_prompt = tiny_lm.encode("Hello", "world", "probe")
    assert ids[n_prompt:] == tok("world", add_special_tokens=False).input_ids  # not "elloworld"'s tail
    ids, n_prompt = tiny_lm.encode("The capital of France is ", "Paris", "probe")
    assert ids[n_prompt:] == tok(" Paris", add_special_tokens=False).input_ids  # the space moves to the completion
    value = eifbench.influence(
        tiny_lm, [eifbench.Text("a b c")], [eifbench.Example("The capital of France is ", "Paris")]
    )
    assert torch.isfinite(value.baseline).all()


def test_8_too_long_for_the_model_is_refused_in_every_engine(tiny_lm, tmp_path):
    with pytest.raises(InputError, match="takes at most 512"):
        eifbench.influence(tiny_lm, [eifbench.Text("x" * 10_000)], [eifbench.Example("a", " b")])
    from transformers import GPT2Config, GPT2LMHeadModel

    GPT2LMHeadModel(GPT2Config(n_positions=64, n_embd=32, n_layer=1, n_head=2, vocab_size=258)).save_pretrained(
        tmp_path
    )
    tiny_lm.tokenizer.save_pretrained(tmp_path)
    gpt2 = eifbench.load_model(f"hf:{tmp_path}", "device=cpu")
    long = eifbench.Text("word " * 100)
    for engine in ("exact", "first-order", "in-context"):
        with pytest.raises(InputError, match="takes at most 64"):
            eifbench.influence(gpt2, [long], [eifbench.Example("a", " b")], engine=engine)


def test_10_a_failing_first_call_does_not_fix_the_input_shape(tiny_cnn):
    adapter = eifbench.ClassifierAdapter(tiny_cnn.module, name="no-shape")
    with pytest.raises(InputError, match="cannot take a (stimulus|probe) input of shape"):
        eifbench.influence(adapter, [eifbench.Example(torch.rand(3, 5), 1)], [eifbench.Example(torch.rand(3, 5), 1)])
    good = [eifbench.Example(torch.rand(1, 28, 28), 1)]
    assert eifbench.influence(adapter, good, good).matrix.shape == (1, 1)
    assert adapter.input_shape == (1, 28, 28)


@pytest.mark.parametrize("device", ["cuda", "cuda:7", "meta"])
def test_12_a_device_this_machine_lacks_is_one_line(device):
    with pytest.raises(ModelSpecError, match="device="):
        eifbench.load_model("tiny-cnn", f"device={device}")


def test_low_a_huge_lr_diverges_with_advice_not_a_runtime_error(tiny_cnn, images):
    with pytest.raises(InputError, match="beyond float32's range"):
        eifbench.FineTune(lr=1e40)
    before = checksum(tiny_cnn.module)
    with pytest.raises(FineTuneDivergedError, match="lower the lr"):
        eifbench.influence(tiny_cnn, images[:2], images[:3], finetune=eifbench.FineTune(lr=1e30))
    assert checksum(tiny_cnn.module) == before and all(p.grad is None for p in tiny_cnn.module.parameters())


def test_low_finetune_fields_are_typed():
    with pytest.raises(InputError, match="steps must be an int"):
        eifbench.FineTune(steps=True)
    assert eifbench.FineTune(steps=np.int64(2), lr=np.float32(0.5)).steps == 2
    assert isinstance(eifbench.FineTune(lr=np.float64(0.5)).lr, float)
    with pytest.raises(InputError, match="glob"):
        eifbench.FineTune(trainable="")


def test_low_labels_and_pixels_are_checked_not_coerced(tiny_cnn):
    x = torch.rand(1, 28, 28)
    for label in (3.7, "3", True, float("nan"), None, "cat"):
        with pytest.raises(InputError, match="is not a class index"):
            eifbench.influence(tiny_cnn, [eifbench.Example(x, label)], [eifbench.Example(x, 1)])
    pixels = (x * 255).round().to(torch.uint8)
    as_uint8 = eifbench.influence(tiny_cnn, [eifbench.Example(pixels, 3)], [eifbench.Example(pixels, 3)]).matrix
    as_float = eifbench.influence(
        tiny_cnn, [eifbench.Example(pixels / 255.0, 3)], [eifbench.Example(pixels / 255.0, 3)]
    ).matrix
    torch.testing.assert_close(as_uint8, as_float)  # 0..255 bytes are read as [0, 1] pixels


def test_low_stimulus_containers(tiny_lm, tiny_cnn, images):
    generated = eifbench.influence(tiny_cnn, (e for e in images[:2]), iter(images[:3]))
    assert generated.matrix.shape == (2, 3)
    with pytest.raises(InputError, match="takes a list of stimuli"):
        eifbench.Chain("abc")
    with pytest.raises(InputError, match="finetune must be eifbench.FineTune"):
        eifbench.influence(tiny_cnn, images[:1], images[:1], finetune={"lr": 0.1})
    with pytest.raises(InputError, match="selects no trainable parameter"):
        eifbench.influence(tiny_cnn, images[:1], images[:1], finetune=eifbench.FineTune(trainable="*nothing*"))
    with pytest.raises(InputError, match="lone surrogate"):
        eifbench.influence(tiny_lm, [eifbench.Text("bad \ud800 text")], [eifbench.Example("a", " b")])


def test_low_dtype_is_applied_to_built_in_models():
    model = eifbench.load_model("tiny-cnn", "device=cpu,dtype=float64")
    assert next(model.module.parameters()).dtype == torch.float64


def test_low_a_pickled_checkpoint_is_refused_in_one_line(tmp_path, tiny_lm):
    tiny_lm.module.config.save_pretrained(tmp_path)
    tiny_lm.tokenizer.save_pretrained(tmp_path)
    (tmp_path / "pytorch_model.bin").write_bytes(b"\x80\x04cos\nsystem\nq\x00.")  # a pickle that would run code
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "eifbench.cli",
            "influence",
            "--model",
            f"hf:{tmp_path}",
            "--stimulus",
            "a b",
            "--probe",
            "a| b",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr


def test_low_reading_stimuli_writes_nothing_outside_the_run(tmp_path, monkeypatch):
    from eifbench.tasks.stimuli_file import _read_version, read_stimuli_file

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("HF_HOME", str(home / ".cache" / "huggingface"))
    monkeypatch.chdir(tmp_path)
    facts = tmp_path / "facts.jsonl"
    facts.write_text('{"prompt": "A wug is", "completion": " red"}\n{"prompt": "A dax is", "completion": " blue"}\n')
    _read_version.cache_clear()
    assert len(read_stimuli_file(str(facts))) == 2
    assert not (home / ".cache" / "huggingface" / "datasets").exists() and not (tmp_path / ".hypothesis").exists()


def test_low_markdown_escapes_the_model_spec(tmp_path):
    from eifbench.desiderata.base import Status
    from eifbench.report.rendering.markdown import markdown_report
    from eifbench.report.results.records import Record

    evil = "hf:./x|<script>alert(1)</script>"
    record = Record(
        model=evil, column=evil, kind="causal-lm", desideratum="distance", condition="finetune", status=Status.PASS,
        metric="m", value=-0.5, ci=(-0.6, -0.4), threshold=-0.3, higher_is_better=False, n=3, unmeasured=0,
        seconds=1.0, recipe={"engine": "exact"}, stimuli="d", bank="1",
    )  # fmt: skip
    text = markdown_report({"complete": True}, [record])
    assert "<script>" not in text and "\\|" in text


def test_low_digests_do_not_collide_across_list_boundaries():
    assert digest([eifbench.Text("ab;Xcd")]) != digest([eifbench.Text("ab"), eifbench.Text("cd")])
    assert digest([eifbench.Example("a", "b")]) != digest([eifbench.Example("ab", "")])


def test_low_interrupting_eifbench_run_exits_130_not_the_bad_input_code(monkeypatch):
    import pytest as real_pytest

    from eifbench.cli import main

    monkeypatch.setattr(real_pytest, "main", lambda args, **plugins: real_pytest.ExitCode.INTERRUPTED)
    assert main(["run", "--model", "tiny-cnn"]) == 130


def test_low_schema_message_shows_the_type():
    from eifbench.errors import BaselineError
    from eifbench.report.results.loading import load_report

    path = os.path.join(os.path.dirname(__file__), "_schema_string.json")
    try:
        with open(path, "w") as f:
            json.dump({"schema_version": "2", "results": []}, f)
        with pytest.raises(BaselineError, match="schema_version .2., this eifbench reads 3"):
            load_report(path)
    finally:
        os.unlink(path)
