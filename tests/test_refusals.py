"""Bad model and stimuli input is refused in one line at load time or run start, never deep inside a test.

Each test reproduces one refusal: a damaged image processor config, an image classifier
with too few labels or no input size, a stimuli file of the wrong kind or with a bad
label, a full disk while caching fashion-cnn, an adapter whose base folder is gone,
batching advice for a kind that is never batched, and peft's FutureWarning on load.
"""

from __future__ import annotations

import errno
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

import eifbench
from eifbench.errors import InputError, ModelSpecError
from eifbench.kinds import ModelKind
from eifbench.tasks.stimuli_file import check_stimuli_kind, read_stimuli_file
from tests.checkpoints import save_lora, save_tiny_bert_classifier, save_tiny_lm
from tests.conftest import save_tiny_vit

FACTS = [
    {"prompt": "A wug is a kind of", "completion": " bird"},
    {"prompt": "A dax is a kind of", "completion": " fish"},
]
LABELLED = [{"text": "A fine film.", "label": "POSITIVE"}, {"text": "A dull film.", "label": "NEGATIVE"}]


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# --- 1. hf-image: a damaged preprocessor_config.json ----------------------------------------------------------


@pytest.mark.parametrize(
    "mean,std,message",
    [
        ("abc", [0.5], r"image_mean is 'abc', not a number or a list of numbers"),
        ([0.5], [0.0], r"image_std is \[0\.0\]; a standard deviation must be > 0"),
        ([0.5], [-1], r"image_std is \[-1\]; a standard deviation must be > 0"),
        ([0.5, 0.5], [0.5], r"image_mean has 2 values, but the model takes 1 channel"),
        ([0.5], ["x"], r"image_std is \['x'\], not a number"),
        ([0.5], {"r": 1}, r"image_std is \{'r': 1\}, not a number"),
    ],
)
def test_a_damaged_processor_config_is_a_model_spec_error_naming_file_and_field(tmp_path, mean, std, message):
    folder = save_tiny_vit(tmp_path / "vit", normalize=(mean, std))
    with pytest.raises(ModelSpecError, match=message) as caught:
        eifbench.load_model(f"hf-image:{folder}", "device=cpu")
    text = str(caught.value)
    assert str(folder / "preprocessor_config.json") in text and "set it to a number or a list of 1 numbers" in text


# --- 2. hf-image: too few labels, no input size ----------------------------------------------------------------


def _save_sizeless_resnet(folder: Path) -> Path:
    """A tiny ResNet: its config has no image_size (ResNets take any size), and no processor is saved."""
    from transformers import ResNetConfig, ResNetForImageClassification

    torch.manual_seed(0)
    config = ResNetConfig(num_channels=1, embedding_size=8, hidden_sizes=[8], depths=[1], num_labels=10)
    ResNetForImageClassification(config).save_pretrained(folder)
    return folder


def test_an_image_classifier_with_fewer_labels_than_the_data_sets_is_refused_at_load(tmp_path):
    folder = save_tiny_vit(tmp_path / "vit3", labels=3)
    with pytest.raises(ModelSpecError, match=r"has 3 label\(s\); the packaged image data sets .* have 10 classes"):
        eifbench.load_model(f"hf-image:{folder}", "device=cpu")


def test_an_image_classifier_without_an_input_size_is_refused_until_one_is_declared(tmp_path):
    folder = _save_sizeless_resnet(tmp_path / "resnet")
    with pytest.raises(ModelSpecError, match=r"declares no input size: .*\"image_size\": 224 to config\.json"):
        eifbench.load_model(f"hf-image:{folder}", "device=cpu")
    (folder / "preprocessor_config.json").write_text(json.dumps({"size": {"height": 28, "width": 28}}))
    assert eifbench.load_model(f"hf-image:{folder}", "device=cpu").input_shape == (1, 28, 28)


# --- 3. stimuli files: the wrong kind for the model, bad labels -----------------------------------------------


@pytest.mark.parametrize("kind", [ModelKind.CAUSAL_LM, ModelKind.SEQ2SEQ_LM, "causal-lm"])
def test_a_labelled_file_for_a_language_model_is_refused(tmp_path, kind):
    path = _jsonl(tmp_path / "labelled.jsonl", LABELLED)
    with pytest.raises(InputError, match=r"holds labelled sentences \(text, label\) .* needs facts: use the columns"):
        check_stimuli_kind(path, kind)
    check_stimuli_kind(path, ModelKind.TEXT_CLASSIFIER)


def test_a_facts_file_for_a_text_classifier_is_refused(tmp_path):
    path = _jsonl(tmp_path / "facts.jsonl", FACTS)
    with pytest.raises(
        InputError, match=r"holds facts \(prompt, completion\) .* text classifier, .* columns text, label"
    ):
        check_stimuli_kind(path, ModelKind.TEXT_CLASSIFIER)
    check_stimuli_kind(path, ModelKind.CAUSAL_LM)
    check_stimuli_kind(path, ModelKind.CLASSIFIER)  # image classifiers read no stimuli file


def test_check_stimuli_kind_imports_no_torch(tmp_path):
    facts, labelled = _jsonl(tmp_path / "f.jsonl", FACTS), _jsonl(tmp_path / "l.jsonl", LABELLED)
    code = (
        "import sys\nfrom eifbench.tasks.stimuli_file import check_stimuli_kind\n"
        f"check_stimuli_kind({str(facts)!r}, 'causal-lm')\n"
        f"check_stimuli_kind({str(labelled)!r}, 'text-classifier', ('NEGATIVE', 'POSITIVE'))\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_an_unknown_label_name_or_index_names_its_row_when_the_labels_are_known(tmp_path):
    from eifbench.zoo.architectures import declared_labels

    labels = declared_labels(str(save_tiny_bert_classifier(tmp_path / "bert")))
    assert labels == ("NEGATIVE", "POSITIVE")
    rows = [*LABELLED, {"text": "So so.", "label": "NEUTRAL"}]
    with pytest.raises(InputError, match=r"row 2 label 'NEUTRAL' is not one of the model's labels \(NEGATIVE, POS"):
        check_stimuli_kind(_jsonl(tmp_path / "names.jsonl", rows), ModelKind.TEXT_CLASSIFIER, labels)
    # class indices in a column of their own type: the declared minimum `datasets` cannot read a
    # JSON column that mixes names and numbers
    indices = [{"text": "A fine film.", "label": 1}, {"text": "A dull film.", "label": 0}]
    rows = [*indices, {"text": "So so.", "label": 1}, {"text": "Odd.", "label": 2}]
    with pytest.raises(InputError, match=r"row 3 label 2 is out of range: the model has 2 classes"):
        check_stimuli_kind(_jsonl(tmp_path / "index.jsonl", rows), ModelKind.TEXT_CLASSIFIER, labels)
    check_stimuli_kind(
        _jsonl(tmp_path / "ok.jsonl", [*indices, {"text": "Fine.", "label": 1}]), "text-classifier", labels
    )
    check_stimuli_kind(_jsonl(tmp_path / "known.jsonl", LABELLED), "text-classifier", labels)


def test_a_float_label_in_a_csv_names_its_own_row(tmp_path):
    path = tmp_path / "floats.csv"
    path.write_text("text,label\nA good film,1\nA bad film,0\nMeh,2.5\n")
    with pytest.raises(eifbench.EifError, match=r"row 2 column 'label' is float 2\.5"):
        read_stimuli_file(str(path))
    empty = tmp_path / "empty.csv"
    empty.write_text("text,label\nA good film,1\nA bad film,\nMeh,0\n")
    with pytest.raises(eifbench.EifError, match=r"row 1 has an empty 'label'"):
        read_stimuli_file(str(empty))
    whole = tmp_path / "whole.csv"  # a float column of whole numbers (one row is 1.0) reads as class indices
    whole.write_text("text,label\nA good film,1.0\nA bad film,0\n")
    assert [r["label"] for r in read_stimuli_file(str(whole))] == ["1", "0"]


# --- 4. a full disk while caching fashion-cnn -----------------------------------------------------------------


def test_a_full_disk_while_caching_fashion_cnn_warns_and_keeps_the_trained_model(monkeypatch, tmp_path):
    from eifbench.zoo import cnn

    monkeypatch.setenv("EIFBENCH_CACHE", str(tmp_path))
    trained = cnn.fashion_net().eval()
    monkeypatch.setattr(cnn, "train_fashion", lambda **_: trained)

    def disk_full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cnn, "save_file", disk_full)
    entry = tmp_path / cnn.FASHION_VERSION
    with pytest.warns(RuntimeWarning, match=r"Could not cache fashion-cnn at .*No space left on device") as caught:
        model = eifbench.load_model("fashion-cnn", "device=cpu")
    assert str(entry) in str(caught[0].message) and "EIFBENCH_CACHE" in str(caught[0].message)
    assert model.module is trained  # the trained weights, from memory
    assert not entry.exists() and not list(tmp_path.glob(f".{entry.name}.*"))  # no half-written entry


# --- 5. an adapter whose base folder is missing ---------------------------------------------------------------


@pytest.fixture(scope="module")
def lora(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lora")
    return save_lora(save_tiny_lm(root / "base"), root / "adapter")


def _with_base(adapter: Path, base: str, folder: Path) -> Path:
    import shutil

    copy = Path(shutil.copytree(adapter, folder))
    config = json.loads((copy / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = base
    (copy / "adapter_config.json").write_text(json.dumps(config))
    return copy


@pytest.mark.parametrize("base", ["{tmp}/gone", "./gone-base", "org/gone-base"])
def test_an_adapter_whose_base_is_missing_says_the_name_came_from_adapter_config(lora, tmp_path, base):
    adapter = _with_base(lora, base.format(tmp=tmp_path), tmp_path / "adapter")
    with pytest.raises(ModelSpecError) as caught:
        eifbench.load_model(f"hf:{adapter}", "device=cpu")
    text = str(caught.value)
    assert "adapter_config.json" in text and base.format(tmp=tmp_path) in text, text
    assert f"hf:<base>,peft={adapter}" in text, text


def test_loading_an_adapter_prints_no_peft_future_warning(lora):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        eifbench.load_model(f"hf:{lora}", "device=cpu")
    assert not [w for w in caught if "is_gradient_checkpointing" in str(w.message)], [str(w.message) for w in caught]


# --- 6. batching advice that fits the model kind ---------------------------------------------------------------


def test_batching_a_text_classifier_is_refused_without_lora_advice(tmp_path):
    folder = save_tiny_bert_classifier(tmp_path / "bert")
    with pytest.raises(ModelSpecError, match=r"batch_stimuli=2: .* a text-classifier \(TextClassifierAdapter\)"):
        eifbench.load_model(f"hf:{folder}", "device=cpu,batch_stimuli=2")
    model = eifbench.load_model(f"hf:{folder}", "device=cpu")
    examples = [eifbench.Example("A fine film.", 1), eifbench.Example("A dull film.", 0)]
    with pytest.raises(InputError) as caught:
        eifbench.influence(model, examples, examples, batch_stimuli=2)
    text = str(caught.value)
    assert "one stimulus at a time whatever FineTune(trainable=...) trains" in text and "batch_stimuli=1" in text
    assert "LoRA" not in text and "Linear" not in text, text


def test_a_stimuli_file_edited_between_two_reads_is_read_again(tmp_path):
    import os

    path = _jsonl(
        tmp_path / "facts.jsonl", [{"prompt": f"Zork {i} lives in", "completion": " caves"} for i in range(2)]
    )
    assert len(read_stimuli_file(str(path))) == 2
    _jsonl(path, [{"prompt": f"Zork {i} lives in", "completion": " caves"} for i in range(3)])
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))  # a later edit
    assert len(read_stimuli_file(str(path))) == 3
