"""Seq2seq LMs (a tiny T5): the completion is the decoder target given the prompt as encoder input."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

import eifbench
from eifbench.adapters.chat import FACT_REQUEST
from eifbench.influence.snapshot import checksum
from tests.checkpoints import save_tiny_t5
from tests.conftest import FACTS, PROBES


@pytest.fixture(scope="module")
def t5(tmp_path_factory):
    return eifbench.load_model(f"hf:{save_tiny_t5(tmp_path_factory.mktemp('t5') / 't5')}", "device=cpu")


def _pair(tok, item) -> tuple[list[int], list[int]]:
    """(encoder ids, target ids) as the adapter documents them, computed here."""
    if isinstance(item, eifbench.Text):
        return list(tok(FACT_REQUEST).input_ids), list(tok(item.text, add_special_tokens=False).input_ids)
    return list(tok(item.x).input_ids), list(tok(item.y, add_special_tokens=False).input_ids)


def _read(module, tok, probe) -> float:
    source, target = _pair(tok, probe)
    start = module.config.decoder_start_token_id
    with torch.no_grad():
        logits = module(
            input_ids=torch.tensor([source]), decoder_input_ids=torch.tensor([[start, *target[:-1]]])
        ).logits
    logp = F.log_softmax(logits[0].double(), dim=-1)
    return float(sum(logp[t, token] for t, token in enumerate(target)))


def test_read_out_is_the_target_log_prob_given_the_prompt(t5):
    expected = torch.tensor([_read(t5.module, t5.tokenizer, p) for p in PROBES])
    torch.testing.assert_close(t5.readout(t5.prepare_probes(PROBES)), expected.float(), atol=1e-4, rtol=1e-5)


def test_exact_engine_equals_a_deepcopy_loop(t5):
    stimuli = [*FACTS, eifbench.Chain([FACTS[0], FACTS[1]])]
    recipe = eifbench.FineTune(steps=2, lr=0.05)
    before_sum = checksum(t5.module)
    result = eifbench.influence(t5, stimuli, PROBES, finetune=recipe)
    assert checksum(t5.module) == before_sum
    tok = t5.tokenizer
    before = torch.tensor([_read(t5.module, tok, p) for p in PROBES])
    for i, stimulus in enumerate(stimuli):
        tuned = copy.deepcopy(t5.module)
        optimizer = torch.optim.SGD(tuned.parameters(), lr=recipe.lr)
        for link in stimulus.links if isinstance(stimulus, eifbench.Chain) else (stimulus,):
            source, target = _pair(tok, link)
            for _ in range(recipe.steps):
                tuned(input_ids=torch.tensor([source]), labels=torch.tensor([target])).loss.backward()
                optimizer.step()
                optimizer.zero_grad()
        after = torch.tensor([_read(tuned, tok, p) for p in PROBES])
        torch.testing.assert_close(result.matrix[i], (after - before).float(), atol=2e-4, rtol=1e-4)
    assert result.matrix.abs().max() > 1e-2


def test_in_context_the_stimulus_is_prepended_to_the_encoder_input(t5):
    batch = t5.prepare_probes([eifbench.Example("A wug is", " blue")], context="Zorbs live in caves.").batches[0]
    assert t5.tokenizer.decode(batch.input_ids[0][batch.attention_mask[0].bool()]) == "Zorbs live in caves.\nA wug is"
    before = checksum(t5.module)
    result = eifbench.influence(t5, FACTS, PROBES, engine="in-context")
    assert checksum(t5.module) == before and result.reference is not None
    assert torch.isfinite(result.matrix).all() and result.matrix.abs().max() > 0


def test_first_order_approximates_exact_at_a_small_step(t5):
    recipe = eifbench.FineTune(lr=1e-4)
    exact = eifbench.influence(t5, FACTS, PROBES, finetune=recipe).matrix
    first = eifbench.influence(t5, FACTS, PROBES, engine="first-order", finetune=recipe).matrix
    torch.testing.assert_close(first, exact, atol=5e-5, rtol=0.05)
