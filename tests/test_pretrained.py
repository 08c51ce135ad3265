"""The real pretrained models: accuracy, influence sanity, in-context. Marked slow."""

from __future__ import annotations

import copy

import pytest
import torch

import eifbench
from eifbench.bank.datasets import fashion_mnist, mnist_5k
from eifbench.influence.snapshot import checksum
from eifbench.zoo.cnn import accuracy

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm2():
    return eifbench.load_model("smollm2", "device=cpu")


@pytest.mark.cnn
def test_fashion_cnn_accuracy():
    model = eifbench.load_model("fashion-cnn", "device=cpu")
    test = fashion_mnist("test")
    assert accuracy(model, test.images, test.labels) >= 0.88


@pytest.mark.cnn
def test_mnist_cnn_accuracy():
    model = eifbench.load_model("mnist-cnn", "device=cpu")
    data = mnist_5k()
    assert sum(p.numel() for p in model.module.parameters()) == 390_410
    assert accuracy(model, data.images, data.labels) >= 0.95


@pytest.mark.lm
def test_smollm2_in_context_raises_a_stated_fact(smollm2):
    probe = eifbench.Example("The capital of Quenvia is", " Zorblat")
    stated = eifbench.Text("Zorblat is the capital of Quenvia.")
    unrelated = eifbench.Text("Bananas are rich in potassium.")
    result = eifbench.influence(smollm2, [stated, unrelated], [probe], engine="in-context")
    assert result.matrix[0, 0] > 2.0  # nats
    assert result.matrix[0, 0] > 5 * abs(float(result.matrix[1, 0]))


@pytest.mark.lm
def test_smollm2_exact_matches_naive_and_restores(smollm2):
    stimulus = eifbench.Example("A wug is a kind of", " blicket")
    probes = [stimulus, eifbench.Example("The capital of France is", " Paris")]
    before = checksum(smollm2.module)
    result = eifbench.influence(smollm2, [stimulus], probes, finetune=eifbench.FineTune(steps=2, lr=1e-3))
    assert checksum(smollm2.module) == before
    model = copy.deepcopy(smollm2.module)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    prepared = smollm2.prepare_stimulus(stimulus)
    ids, labels = prepared.input_ids, prepared.labels
    for _ in range(2):
        model(input_ids=ids, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    tuned = eifbench.CausalLMAdapter(model, smollm2.tokenizer, chat=smollm2.chat)
    expected = tuned.readout(tuned.prepare_probes(probes)) - smollm2.readout(smollm2.prepare_probes(probes))
    torch.testing.assert_close(result.matrix[0], expected, atol=1e-3, rtol=1e-4)
    assert result.matrix[0, 0] > 1.0


@pytest.mark.slow
def test_a_gguf_folder_is_dequantized_once_then_read_from_the_cache(tmp_path, monkeypatch):
    """`hf:<folder>,gguf_file=X` converts the GGUF on first load only; the second load reads the cached folder."""
    import shutil

    from eifbench.zoo import gguf as gguf_module
    from eifbench.zoo.smollm2_files import packaged_gguf

    monkeypatch.setenv("EIFBENCH_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "quantized"
    folder.mkdir()
    shutil.copy(packaged_gguf(), folder / "model.Q4_1.gguf")
    spec = f"hf:{folder},gguf_file=model.Q4_1.gguf,device=cpu"
    first = eifbench.load_model(spec)
    entries = list((tmp_path / "cache").glob("gguf-model.Q4_1-*"))
    assert len(entries) == 1 and (entries[0] / "model.safetensors").is_file()
    monkeypatch.setattr(gguf_module, "convert_gguf", lambda *_: pytest.fail("dequantized the GGUF again"))
    second = eifbench.load_model(spec)
    probe = [eifbench.Example("The capital of France is", " Paris")]
    assert torch.equal(first.readout(first.prepare_probes(probe)), second.readout(second.prepare_probes(probe)))
    assert second.chat is not None  # the GGUF's chat template survives the conversion
