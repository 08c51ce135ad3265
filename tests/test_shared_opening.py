"""A causal LM reads its probes' shared opening once: the same read-outs, the same influences.

A chat template opens every probe alike, and in context every probe of a stimulus opens
with it. ``prepare_readout`` splits that opening off and ``readout`` computes it once; the
values must be the whole-row read-out's up to float rounding, and an influence (a
difference of two read-outs) must stay inside the noise floor where nothing was learned.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import eifbench
from eifbench.adapters.base import prepare_readout
from eifbench.adapters.shared_opening import MIN_SHARED, shared_length
from eifbench.stats import engine_noise
from tests.checkpoints import CHAT_TEMPLATE, save_tiny_lm

CONTEXT = "Zorblat the grey heron nests in the reeds of Lake Quillon every spring."
PROBES = [
    eifbench.Example("Zorblat nests in the", " reeds"),
    eifbench.Example("The heron is", " grey"),
    eifbench.Example("Lake Quillon is a", " lake"),
    eifbench.Example("In spring, Zorblat", " nests"),
    eifbench.Example("The capital of France is", " Paris"),
]


@pytest.fixture(scope="module")
def chat_lm(tmp_path_factory):
    folder = save_tiny_lm(tmp_path_factory.mktemp("chat"), chat_template=CHAT_TEMPLATE)
    return eifbench.load_model(f"hf:{folder}", "device=cpu")


def _close(a: torch.Tensor, b: torch.Tensor) -> float:
    """The largest difference relative to the read-out's size (the noise floor's scale)."""
    return float(((a - b).abs() / (1 + a.abs())).max())


@pytest.mark.parametrize("context", [None, CONTEXT])
def test_a_shared_opening_reads_as_the_whole_rows_do(chat_lm, context):
    shared = prepare_readout(chat_lm, PROBES, context)
    assert shared.opening is not None and shared.opening.length >= MIN_SHARED
    whole = chat_lm.readout(chat_lm.prepare_probes(PROBES, context=context))
    assert _close(whole, chat_lm.readout(shared)) < 1e-5  # float32 rounding; the noise floor is 7.6e-6 x 64


def test_no_opening_is_split_off_without_a_shared_start(tiny_lm):
    plain = prepare_readout(tiny_lm, PROBES)  # a byte tokenizer, no template: the prompts differ at once
    assert plain.opening is None
    assert shared_length([([1, 2, 3], 2), ([1, 2, 4], 2)]) == 0  # under MIN_SHARED: not worth a second call
    rows = [(list(range(20)) + [7, 8], 21), (list(range(20)) + [9], 20)]
    assert shared_length(rows) == 20  # never past the shortest prompt


def test_probe_terms_refuse_a_split_opening(chat_lm):
    with pytest.raises(ValueError, match="whole rows"):
        next(chat_lm.probe_terms(prepare_readout(chat_lm, PROBES)))


@pytest.mark.parametrize("engine", ["exact", "in-context"])
def test_nothing_learned_is_no_influence(chat_lm, engine):
    """lr 0 (or a neutral context equal to the stimulus) moves nothing: every cell is inside the noise floor.

    The baseline reads all probes with one opening, each stimulus's group with its own (a
    different split, a different rounding): that difference must stay float noise.
    """
    stimuli = [eifbench.Text(CONTEXT), eifbench.Text("The reeds of Lake Quillon are tall and green.")]
    mask = np.array([[True, True, False, True, True], [False, True, True, True, False]])
    recipe = eifbench.FineTune(steps=1, lr=0.0) if engine == "exact" else None
    result = eifbench.influence(chat_lm, stimuli, PROBES, engine=engine, finetune=recipe, mask=mask)
    assert chat_lm.reads_openings  # the read-outs above really split their openings off
    if engine == "exact":
        noise = engine_noise(result.baseline.double().numpy(), result.precision)
        cells = result.matrix.numpy()[mask]
        assert np.all(np.abs(cells) <= np.broadcast_to(noise, mask.shape)[mask])
    else:  # in context something is learned: the values match the whole-row read-outs instead
        whole = [
            chat_lm.readout(chat_lm.prepare_probes(PROBES, context=CONTEXT))
            - result.reference[0].nan_to_num()  # the engine's neutral read-out, for the cells it read
        ]
        read = result.matrix[0][torch.as_tensor(mask[0])]
        assert _close(whole[0][torch.as_tensor(mask[0])], read) < 1e-5


def _save_lfm2(folder):
    """A tiny LFM2 (a convolution layer and an attention layer): its cache cannot be copied per row."""
    transformers = pytest.importorskip("transformers")
    if not hasattr(transformers, "Lfm2ForCausalLM"):
        pytest.skip("this transformers release has no LFM2")
    from eifbench.zoo.lm import byte_tokenizer
    from tests.checkpoints import CHAT_TEMPLATE

    tokenizer = byte_tokenizer()
    tokenizer.chat_template = CHAT_TEMPLATE
    config = transformers.Lfm2Config(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        layer_types=["conv", "full_attention"],
    )
    torch.manual_seed(0)
    transformers.Lfm2ForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_a_model_whose_cache_cannot_be_shared_reads_whole_rows(tmp_path):
    lm = eifbench.load_model(f"hf:{_save_lfm2(tmp_path)}", "device=cpu")
    whole = lm.readout(lm.prepare_probes(PROBES))
    prepared = prepare_readout(lm, PROBES)
    assert lm.reads_openings is False and prepared.opening is None
    assert torch.equal(lm.readout(prepared), whole)
    result = eifbench.influence(lm, [eifbench.Text(CONTEXT)], PROBES, finetune=eifbench.FineTune(steps=1, lr=0.0))
    assert np.all(np.abs(result.matrix.numpy()) <= engine_noise(result.baseline.double().numpy(), result.precision))


def test_an_opening_read_differently_is_not_used(chat_lm, monkeypatch):
    """A model whose split read-out disagrees (a prompt-learning adapter prepends its virtual tokens to every call)."""
    import eifbench.adapters.causal_lm as causal_lm

    shifted = causal_lm.read_rest
    monkeypatch.setattr(causal_lm, "read_rest", lambda *args: shifted(*args) - 0.5)
    monkeypatch.setattr(chat_lm, "reads_openings", None)
    prepared = prepare_readout(chat_lm, PROBES, CONTEXT)
    assert chat_lm.reads_openings is False and prepared.opening is None
    assert prepare_readout(chat_lm, PROBES).opening is None  # decided once, for every later read-out
