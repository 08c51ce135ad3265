"""Read-outs and losses follow the stated rules; bad input is refused with the fix."""

from __future__ import annotations

import pytest
import torch

import eifbench
from eifbench.errors import InputError


def test_lm_readout_counts_completion_tokens_only(tiny_lm):
    tok = tiny_lm.tokenizer
    probe = eifbench.Example("A wug is", " blue")
    ids = tok(probe.x + probe.y).input_ids
    n_prompt = len(tok(probe.x).input_ids)
    with torch.no_grad():
        logp = torch.log_softmax(tiny_lm.module(torch.tensor([ids])).logits[0], dim=-1)
    expected = sum(float(logp[t - 1, ids[t]]) for t in range(n_prompt, len(ids)))
    got = float(tiny_lm.readout(tiny_lm.prepare_probes([probe]))[0])
    assert got == pytest.approx(expected, abs=1e-4)
    longer = eifbench.Example("A wug is", " blue and green")
    assert float(tiny_lm.readout(tiny_lm.prepare_probes([longer]))[0]) < got  # more tokens, more mass


def test_text_loss_is_exactly_the_model_loss(tiny_lm):
    text = "All blickets have a tail."
    ids = torch.tensor([tiny_lm.tokenizer(text).input_ids])
    with torch.no_grad():
        expected = tiny_lm.module(ids, labels=ids).loss
        got = tiny_lm.loss(tiny_lm.prepare_stimulus(eifbench.Text(text)))
    assert torch.equal(got, expected)


def test_example_loss_covers_completion_only(tiny_lm):
    prepared = tiny_lm.prepare_stimulus(eifbench.Example("A wug is", " blue"))
    ids, labels = prepared.input_ids, prepared.labels
    n_prompt = len(tiny_lm.tokenizer("A wug is").input_ids)
    assert prepared.first_label == n_prompt
    assert (labels[0, :n_prompt] == -100).all() and (labels[0, n_prompt:] == ids[0, n_prompt:]).all()


def test_padding_never_counts(tiny_lm):
    probes = [eifbench.Example("A", " b"), eifbench.Example("A much longer prompt here", " b")]
    batch = tiny_lm.prepare_probes(probes).batches[0]
    assert batch.input_ids.shape[0] == 2
    pad_positions = batch.attention_mask == 0
    assert pad_positions.any() and not batch.counted[pad_positions].any()


@pytest.mark.parametrize(
    "probe,match",
    [
        (eifbench.Example("A wug is", ""), "no completion tokens"),
        (eifbench.Example("", "hello"), "empty prompt"),
        (eifbench.Text("hello"), "Text has no completion"),
        (eifbench.Example(3, 4), "Example\\(prompt: str, completion: str\\)"),
    ],
)
def test_bad_lm_probes(tiny_lm, probe, match):
    with pytest.raises(InputError, match=match):
        eifbench.influence(tiny_lm, [eifbench.Text("a b c")], [probe])


def test_bad_lm_stimuli(tiny_lm):
    with pytest.raises(InputError, match="Text stimulus is empty"):
        eifbench.influence(tiny_lm, [eifbench.Text("  ")], [eifbench.Example("a", " b")])
    with pytest.raises(InputError, match="stimulus list is empty"):
        eifbench.influence(tiny_lm, [], [eifbench.Example("a", " b")])
    with pytest.raises(InputError, match="probe list is empty"):
        eifbench.influence(tiny_lm, [eifbench.Text("a b")], [])
    with pytest.raises(InputError, match="at least one stimulus"):
        eifbench.Chain([])
    with pytest.raises(InputError, match="Unknown engine 'fast'"):
        eifbench.influence(tiny_lm, [eifbench.Text("a b")], [eifbench.Example("a", " b")], engine="fast")


def test_bad_classifier_input(tiny_cnn, images):
    with pytest.raises(InputError, match=r"shape \(28, 28\), but tiny-cnn takes \(1, 28, 28\)"):
        eifbench.influence(tiny_cnn, [eifbench.Example(torch.rand(28, 28), 1)], images[:2])
    with pytest.raises(InputError, match="label 10 is out of range: tiny-cnn has 10 classes"):
        eifbench.influence(tiny_cnn, images[:1], [eifbench.Example(torch.rand(1, 28, 28), 10)])
    with pytest.raises(InputError, match="in-context.*needs a language model; tiny-cnn is a classifier"):
        eifbench.influence(tiny_cnn, images[:1], images[:2], engine="in-context")


def test_pairs_are_accepted_as_examples(tiny_cnn, images):
    pairs = [(e.x, e.y) for e in images[:3]]
    a = eifbench.influence(tiny_cnn, pairs[:1], pairs).matrix
    b = eifbench.influence(tiny_cnn, images[:1], images[:3]).matrix
    assert torch.equal(a, b)


def test_finetune_validates_its_fields():
    with pytest.raises(InputError, match="steps must be an int >= 1"):
        eifbench.FineTune(steps=0)
    with pytest.raises(InputError, match="lr must be a finite number"):
        eifbench.FineTune(lr=float("nan"))
    with pytest.raises(InputError, match="optimizer must be one of"):
        eifbench.FineTune(optimizer="rmsprop")


def test_trimmed_logits_equal_full_logits(tiny_lm):
    from tests.conftest import PROBES

    assert tiny_lm.trims_logits
    full = eifbench.CausalLMAdapter(tiny_lm.module, tiny_lm.tokenizer)
    full.trims_logits = False
    torch.testing.assert_close(
        tiny_lm.readout(tiny_lm.prepare_probes(PROBES)), full.readout(full.prepare_probes(PROBES)), atol=1e-5, rtol=1e-6
    )
    example = eifbench.Example("A wug is a kind of", " blicket")
    with torch.no_grad():
        trimmed = tiny_lm.loss(tiny_lm.prepare_stimulus(example))
        reference = full.loss(full.prepare_stimulus(example))
    torch.testing.assert_close(trimmed, reference, atol=1e-6, rtol=1e-6)
