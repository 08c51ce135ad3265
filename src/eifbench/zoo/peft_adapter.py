"""PEFT adapters (LoRA and the rest of ``peft``): loaded on their base, trained as the user trained them.

By default only the adapter's parameters are fine-tuned (``requires_grad`` is set on them
alone), so the exact engine snapshots and restores the adapter's weights, not the base
model's: that is where the time and memory per stimulus go down. ``trainable=all``
unfreezes the base as well.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from torch import nn

from eifbench.errors import ModelSpecError


def adapter_folder(path: str) -> str:
    """The expanded adapter folder of ``peft=<path>``; it must hold ``adapter_config.json``."""
    folder = Path(os.path.expanduser(path))
    if not (folder / "adapter_config.json").is_file():
        raise ModelSpecError(
            f"peft={path!r} holds no adapter_config.json; pass the folder PeftModel.save_pretrained wrote."
        )
    return str(folder)


def has_tokenizer(folder: str) -> bool:
    """Whether an adapter folder ships its own tokenizer (else the base's is used)."""
    return (Path(folder) / "tokenizer_config.json").is_file()


def attach_adapter(model: nn.Module, folder: str, trainable: str) -> nn.Module:
    """Wrap ``model`` in the PEFT adapter saved in ``folder``.

    Args:
        model: the loaded base model.
        folder: a ``PeftModel.save_pretrained`` folder.
        trainable: ``"adapter"``: only the adapter's parameters (and its
            ``modules_to_save``) require grad; ``"all"``: every parameter does.

    Returns:
        The ``PeftModel``; its forward takes the base model's arguments.

    Raises:
        ModelSpecError: peft is not installed, or the adapter does not fit the base.

    """
    try:
        from peft import PeftModel
    except ImportError:
        raise ModelSpecError(
            f"{folder} is a PEFT adapter; loading it needs the peft package: pip install peft."
        ) from None
    try:
        with warnings.catch_warnings():
            # peft reads the base model's `is_gradient_checkpointing`, which transformers 5 deprecated in
            # favour of `is_activation_checkpointing`: a FutureWarning about peft's code, not the user's,
            # printed on every adapter load. Only that warning is silenced; every other one still shows.
            warnings.filterwarnings(
                "ignore", message=r"`is_gradient_checkpointing` is deprecated", category=FutureWarning
            )
            wrapped = PeftModel.from_pretrained(model, folder, is_trainable=True)
    except (OSError, ValueError, KeyError, RuntimeError, TypeError) as error:
        text = str(error).strip()
        first = text.splitlines()[0] if text else type(error).__name__
        raise ModelSpecError(f"Cannot load the PEFT adapter {folder} on its base model: {first}") from None
    if trainable == "all":
        for parameter in wrapped.parameters():
            parameter.requires_grad_(True)
    return wrapped
