"""GGUF checkpoints, dequantized once: the packaged SmolLM2 and any ``hf:<folder>,gguf_file=...``.

transformers dequantizes a GGUF file to float weights on every ``from_pretrained``, which
for a real model costs more than the rest of loading. The converted folder (safetensors
weights and the GGUF's tokenizer, chat template included) is cached like every other built
model: written atomically, checked before use, rebuilt when damaged.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open

from eifbench.zoo.cache import announce, atomic_folder, discard, discard_scratch, entry_path

log = logging.getLogger(__name__)


def intact(entry: Path) -> bool:
    """The converted folder's own integrity check: a parsable config and a readable weights file."""
    try:
        config = json.loads((entry / "config.json").read_text())
        with safe_open(str(entry / "model.safetensors"), framework="pt") as weights:
            has_weights = bool(list(weights.keys()))
        return bool(config.get("architectures")) and has_weights and (entry / "tokenizer_config.json").exists()
    except (OSError, ValueError, RuntimeError, SafetensorError) as error:
        log.warning("cache entry %s failed its integrity check (%s)", entry, error)
        return False


def convert_gguf(gguf: Path, entry: Path) -> None:
    """Dequantize a GGUF checkpoint with transformers and save it as a safetensors folder."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no progress bars; warnings stay on
    announce(f"dequantizing {gguf.name} to safetensors on first use (cached afterwards)")
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # Any: its hf_quantizer and config attributes are untyped (nn.Module types them Tensor | Module)
    model: Any = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # the GGUF is dequantized to float32 on load; drop the quantizer so it can be saved
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    with atomic_folder(entry) as scratch:
        model.save_pretrained(scratch)
        tokenizer.save_pretrained(scratch)


def cached_gguf(folder: Path, gguf_file: str) -> Path:
    """The cached, dequantized folder of ``folder/gguf_file``, converted on first use.

    Keyed by the file's resolved path, size and modification time, and transformers'
    version (which does the dequantizing): a replaced file or a new transformers converts again.
    """
    import transformers

    gguf = folder / gguf_file
    stat = gguf.stat()
    identity = f"{gguf.resolve()}:{stat.st_size}:{stat.st_mtime_ns}:{transformers.__version__}"
    entry = entry_path(f"gguf-{gguf.stem}-{hashlib.sha256(identity.encode()).hexdigest()[:16]}")
    if entry.exists() and intact(entry):
        return entry
    discard(entry)
    discard_scratch(entry)
    convert_gguf(gguf, entry)
    return entry
