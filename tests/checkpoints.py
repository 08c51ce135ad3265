"""Tiny Hugging Face checkpoints saved to local folders: one per model kind, nothing from a hub.

Each builder seeds torch, builds a 1-2 layer model from a config, and ``save_pretrained``s
it with a tokenizer, so ``hf:<folder>`` loads it exactly as a user's checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

# a hand-written chat template with a generation prompt, for the byte tokenizer
CHAT_TEMPLATE = (
    "{% if messages[0]['role'] != 'system' %}<|system|>You are terse.<eos>\n{% endif %}"
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<eos>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def _byte_tokenizer():
    from eifbench.zoo.lm import byte_tokenizer

    return byte_tokenizer()


def save_tiny_lm(folder: Path, *, chat_template: str | None = None) -> Path:
    """The tiny-lm model and byte tokenizer (optionally with a chat template) in ``folder``."""
    import eifbench

    model = eifbench.load_model("tiny-lm", "device=cpu")
    tokenizer = _byte_tokenizer()
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    model.module.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def save_lora(base: Path, folder: Path, *, rank: int = 4, targets: tuple[str, ...] = ("q_proj", "v_proj")) -> Path:
    """A seeded LoRA adapter of the causal LM in ``base``, with non-zero B (so it changes the model)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(base)
    config = LoraConfig(
        r=rank, lora_alpha=2 * rank, target_modules=list(targets), init_lora_weights=False, task_type="CAUSAL_LM"
    )
    get_peft_model(model, config).save_pretrained(folder)
    return folder


def save_tiny_t5(folder: Path) -> Path:
    """A seeded 1-layer T5 with the byte tokenizer."""
    from transformers import T5Config, T5ForConditionalGeneration

    tokenizer = _byte_tokenizer()
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=32,
        d_ff=64,
        d_kv=8,
        num_layers=1,
        num_decoder_layers=1,
        num_heads=4,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    T5ForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def save_tiny_bert_classifier(folder: Path, *, labels: tuple[str, ...] = ("NEGATIVE", "POSITIVE")) -> Path:
    """A seeded 1-layer BERT sequence classifier with the byte tokenizer."""
    from transformers import BertConfig, BertForSequenceClassification

    tokenizer = _byte_tokenizer()
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        max_position_embeddings=128,
        pad_token_id=tokenizer.pad_token_id,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={name: i for i, name in enumerate(labels)},
    )
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def write_config(folder: Path, architecture: str, model_type: str) -> Path:
    """Only a config.json naming an architecture: what the kind check reads before loading."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"architectures": [architecture], "model_type": model_type}))
    return folder
