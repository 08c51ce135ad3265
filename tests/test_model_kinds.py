"""Every supported kind end to end on a tiny local checkpoint; every other kind refused in one line."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import torch

import eifbench
from eifbench.desiderata import DESIDERATA
from eifbench.errors import ModelSpecError
from eifbench.tasks.base import TaskSpec
from tests.checkpoints import (
    CHAT_TEMPLATE,
    save_lora,
    save_tiny_bert_classifier,
    save_tiny_lm,
    save_tiny_t5,
    write_config,
)
from tests.conftest import ROOT, run_suite, save_tiny_vit, verdict_exit_code

SUPPORTED = (
    "; eifbench checks causal LMs (hf:<id or path>), seq2seq LMs such as T5 or BART (hf:), text classifiers (hf:)"
)
REFUSED = [  # (architecture, model_type, prefix, the message, literally)
    ("BertForMaskedLM", "bert", "hf", "is a BertForMaskedLM (a masked LM)" + SUPPORTED),
    ("Wav2Vec2ForCTC", "wav2vec2", "hf", "is a Wav2Vec2ForCTC (a speech recognizer)" + SUPPORTED),
    (
        "WhisperForConditionalGeneration",
        "whisper",
        "hf",
        "is a WhisperForConditionalGeneration (a speech-to-text model)" + SUPPORTED,
    ),
    (
        "LlavaForConditionalGeneration",
        "llava",
        "hf",
        "is a LlavaForConditionalGeneration (a multimodal (image/audio + text) generator)" + SUPPORTED,
    ),
    ("LlamaForCausalLM", "llama", "hf-image", "is a LlamaForCausalLM (a causal LM); load it with hf:"),
    (
        "BertForSequenceClassification",
        "bert",
        "hf-image",
        "is a BertForSequenceClassification (a text classifier); load it with hf:",
    ),
    (
        "ViTForImageClassification",
        "vit",
        "hf",
        "is a ViTForImageClassification (an image classifier); load it with hf-image:",
    ),
]


@pytest.mark.parametrize("architecture,model_type,prefix,message", REFUSED, ids=[r[0] + "@" + r[2] for r in REFUSED])
def test_an_unsupported_or_misprefixed_checkpoint_is_refused_before_loading(
    tmp_path, architecture, model_type, prefix, message
):
    folder = write_config(tmp_path / "model", architecture, model_type)  # no weights: nothing may load
    with pytest.raises(ModelSpecError, match=re.escape(message)):
        eifbench.load_model(f"{prefix}:{folder}")


@pytest.mark.parametrize(
    "architecture,model_type,prefix,message", REFUSED[:5], ids=[r[0] + "@" + r[2] for r in REFUSED[:5]]
)
def test_the_cli_refuses_in_one_line_without_a_traceback(tmp_path, architecture, model_type, prefix, message):
    folder = write_config(tmp_path / "model", architecture, model_type)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "eifbench.cli",
            "influence",
            "--model",
            f"{prefix}:{folder}",
            "--stimulus",
            "a b",
            "--probe",
            "a| b",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and "Traceback" not in proc.stderr
    assert message in proc.stderr


def test_the_suite_refuses_an_unsupported_checkpoint_as_a_usage_error(tmp_path):
    folder = write_config(tmp_path / "mlm", "BertForMaskedLM", "bert")
    proc = run_suite("--eif-model", f"hf:{folder}")
    assert (
        proc.returncode == 4 and "is a BertForMaskedLM (a masked LM)" in proc.stderr and "Traceback" not in proc.stderr
    )


def test_eifbench_models_lists_every_kind_with_an_example():
    proc = subprocess.run([sys.executable, "-m", "eifbench.cli", "models"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    for kind, example in [
        ("causal-lm", "hf:HuggingFaceTB/SmolLM2-135M-Instruct"),
        ("causal-lm (PEFT adapter)", "hf:<base>,peft=./my-lora"),
        ("seq2seq-lm", "hf:google/flan-t5-small"),
        ("text-classifier", "hf:distilbert/distilbert-base-uncased-finetuned-sst-2-english"),
        ("classifier", "hf-image:google/vit-base-patch16-224"),
    ]:
        assert any(kind in line and example in line for line in proc.stdout.splitlines()), (kind, proc.stdout)


def test_a_vit_gets_its_input_shape_and_its_processor_normalisation(tmp_path):
    mean, std = [0.5, 0.4, 0.3], [0.2, 0.3, 0.4]
    folder = save_tiny_vit(tmp_path / "vit", image_size=224, channels=3, patch=32, normalize=(mean, std))
    model = eifbench.load_model(f"hf-image:{folder}", "device=cpu")
    assert model.input_shape == (3, 224, 224)
    x = torch.rand(2, 3, 224, 224)
    normalized = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(model.module(x), model.module.model(pixel_values=normalized).logits)
    bare = eifbench.load_model(f"hf-image:{save_tiny_vit(tmp_path / 'bare', image_size=224, channels=3, patch=32)}")
    assert not bare.module.normalizes


@pytest.mark.parametrize("subfolder", [None, "weights"])
def test_a_hub_id_in_the_local_cache_is_inspected_offline(monkeypatch, tmp_path, subfolder):
    """A hub id already in the HF cache: its kind and processor config are read from the cache, in its subfolder."""
    import huggingface_hub.constants

    from eifbench.kinds import ModelKind
    from eifbench.zoo.architectures import inspect_checkpoint
    from eifbench.zoo.hf_image import processor_config
    from eifbench.zoo.specs import parse_spec

    commit = "0" * 40
    repo = tmp_path / "models--org--tiny"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    folder = write_config(snapshot / subfolder if subfolder else snapshot, "LlamaForCausalLM", "llama")
    (folder / "preprocessor_config.json").write_text(json.dumps({"image_mean": [0.5], "image_std": [0.2]}))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # the cache or nothing
    checkpoint = inspect_checkpoint("org/tiny", subfolder)
    assert checkpoint is not None and checkpoint.kind == ModelKind.CAUSAL_LM
    spec = parse_spec("hf-image:org/tiny", f"subfolder={subfolder}" if subfolder else None)
    assert processor_config("org/tiny", spec) == {"image_mean": [0.5], "image_std": [0.2]}


def test_image_tasks_pick_the_same_images_at_any_input_shape():
    small = DESIDERATA["distance"].build(TaskSpec("classifier", 4, dataset="fashion-mnist", input_shape=(1, 28, 28)))
    large = DESIDERATA["distance"].build(TaskSpec("classifier", 4, dataset="fashion-mnist", input_shape=(3, 224, 224)))
    assert large.items == small.items  # chosen in the packaged images' pixel space, not the model's
    probe = large.runs["main"].probes[0].x
    assert probe.shape == (3, 224, 224) and torch.equal(probe[0], probe[2])


# --- each kind end to end: `eifbench run --model <spec> -- --eif-limit 4` on its tiny checkpoint --------------

LANGUAGE = set(DESIDERATA)
KINDS = {
    "lora": ({"finetune": LANGUAGE, "in-context": LANGUAGE}, ()),
    "chat": ({"finetune": LANGUAGE, "in-context": LANGUAGE}, ()),
    "t5": ({"finetune": LANGUAGE, "in-context": LANGUAGE}, ()),
    "bert": ({"finetune": {"distance", "sparseness", "noise invariance"}, "in-context": set()}, ("--eif-lr", "0.05")),
    "vit": ({"finetune": {"distance", "sparseness", "noise invariance", "transitivity"}, "in-context": set()}, ()),
}


def _checkpoint(kind: str, root) -> str:
    if kind == "lora":
        return f"hf:{save_lora(save_tiny_lm(root / 'base'), root / 'lora')}"
    if kind == "chat":
        return f"hf:{save_tiny_lm(root / 'chat', chat_template=CHAT_TEMPLATE)}"
    if kind == "t5":
        return f"hf:{save_tiny_t5(root / 't5')}"
    if kind == "bert":
        return f"hf:{save_tiny_bert_classifier(root / 'bert')}"
    vit = save_tiny_vit(root / "vit", image_size=224, channels=3, patch=32, normalize=([0.5] * 3, [0.5] * 3))
    return f"hf-image:{vit}"


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_runs_the_suite_end_to_end(tmp_path, kind):
    spec = _checkpoint(kind, tmp_path)
    applicable, extra = KINDS[kind]
    out = tmp_path / "report.json"
    proc = run_suite("--eif-model", spec, "--eif-limit", "4", *extra, json_path=out)
    assert proc.returncode == verdict_exit_code(out), proc.stdout[-3000:] + proc.stderr[-2000:]
    records = json.loads(out.read_text())["results"]
    assert {(r["desideratum"], r["condition"]) for r in records} == {
        (d, c) for d in DESIDERATA for c in ("finetune", "in-context")
    }
    for record in records:
        expected = record["desideratum"] in applicable[record["condition"]]
        assert (record["status"] != "n/a") == expected, record
        if expected:  # a real verdict on measured items (items the model did not learn are counted, not hidden)
            assert record["n"] + record["unmeasured"] > 0 and record["stimuli"], record
    assert all(r["model"] == spec for r in records)


def test_the_cli_run_command_takes_a_kind_spec(tmp_path):
    folder = save_tiny_t5(tmp_path / "t5")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "eifbench.cli",
            "run",
            "--model",
            f"hf:{folder}",
            "--limit",
            "2",
            "--json",
            "run.json",
            "--",
            "-k",
            "distance",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={**__import__("os").environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"},
    )
    assert proc.returncode == verdict_exit_code(tmp_path / "run.json"), proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "hf:" in proc.stdout and "distance" in proc.stdout
