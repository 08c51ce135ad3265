"""``hf:`` and ``hf-image:``: any Hugging Face checkpoint, local folder or hub id."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

from torch import nn

from eifbench.adapters.causal_lm import CausalLMAdapter
from eifbench.adapters.classifier import ClassifierAdapter
from eifbench.errors import ModelSpecError
from eifbench.zoo.specs import ModelArgs, ModelSpec, resolve_device, resolve_dtype

FROM_PRETRAINED_ARGS = ("revision", "gguf_file", "subfolder", "device_map")
# what a damaged or unsafe checkpoint raises in from_pretrained: a pickled .bin is refused by
# torch.load(weights_only=True) with an UnpicklingError; a corrupt file with an OSError/RuntimeError
LOAD_ERRORS = (OSError, ValueError, KeyError, RuntimeError, pickle.UnpicklingError)


def hf_kwargs(args: ModelArgs) -> dict[str, Any]:
    """``from_pretrained`` keyword args from the allow-listed model args."""
    kwargs: dict[str, Any] = {"trust_remote_code": args.trust_remote_code, "dtype": resolve_dtype(args)}
    for key in FROM_PRETRAINED_ARGS:
        if getattr(args, key) is not None:
            kwargs[key] = getattr(args, key)
    return kwargs


def tokenizer_kwargs(args: ModelArgs) -> dict[str, Any]:
    """``AutoTokenizer.from_pretrained`` keyword args."""
    return {
        k: v for k, v in hf_kwargs(args).items() if k in ("revision", "gguf_file", "subfolder", "trust_remote_code")
    }


def local_target(target: str) -> str | None:
    """The expanded folder when ``target`` is a local folder; raise when it looks like a missing path."""
    path = Path(os.path.expanduser(target))
    if path.exists():
        if not path.is_dir():
            raise ModelSpecError(f"{target!r} is a file; hf: takes a model folder (save_pretrained output).")
        return str(path)
    if target.startswith((".", "/", "~")) or target.count("/") > 1 or (os.sep == "\\" and "\\" in target):
        raise ModelSpecError(f"No model folder at {target!r}; check the path (relative to {os.getcwd()}).")
    return None


def explain_load_error(target: str, error: Exception, auto_name: str) -> ModelSpecError:
    """A one-line ModelSpecError for a failed ``from_pretrained``."""
    text = str(error)
    if os.environ.get("HF_HUB_OFFLINE") == "1" or "offline" in text.lower() or "connect" in text.lower():
        if local_target(target) is None:
            return ModelSpecError(
                f"Cannot load {target!r}: it is not a local folder and the Hugging Face Hub is not "
                "reachable (offline). Download it first (huggingface-cli download) and pass hf:<folder>."
            )
    first = text.strip().splitlines()[0] if text.strip() else type(error).__name__
    return ModelSpecError(f"Cannot load {target!r} with {auto_name}: {first}")


def quiet_progress() -> None:
    """No download/loading progress bars. Warnings stay on: they are how a wrong head shows."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def load_causal_lm(target: str, spec: ModelSpec) -> CausalLMAdapter:
    """A causal LM and its tokenizer from a folder or hub id, on the spec's device."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    quiet_progress()
    device = resolve_device(spec.args) if spec.args.device_map is None else None
    kwargs = hf_kwargs(spec.args)
    try:
        model = AutoModelForCausalLM.from_pretrained(target, **kwargs)
        tokenizer = AutoTokenizer.from_pretrained(target, **tokenizer_kwargs(spec.args))
    except LOAD_ERRORS as error:
        raise explain_load_error(target, error, "a causal LM (AutoModelForCausalLM)") from error
    if device is not None:
        model = model.to(device)
    return CausalLMAdapter(model.eval(), tokenizer, name=spec.text, batch_tokens=spec.args.batch_tokens)


def load_hf(spec: ModelSpec) -> CausalLMAdapter:
    """``hf:<id or path>``: a causal LM that AutoModelForCausalLM loads."""
    assert spec.target is not None
    return load_causal_lm(local_target(spec.target) or spec.target, spec)


class ImageLogits(nn.Module):
    """Adapt a HF image classifier to ``(b, c, h, w) -> logits (b, num_labels)``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixel_values: Any) -> Any:
        """Logits of a batch of images."""
        return self.model(pixel_values=pixel_values).logits


def load_hf_image(spec: ModelSpec) -> ClassifierAdapter:
    """``hf-image:<id or path>``: any AutoModelForImageClassification checkpoint."""
    from transformers import AutoModelForImageClassification

    quiet_progress()
    assert spec.target is not None
    target = local_target(spec.target) or spec.target
    device = resolve_device(spec.args) if spec.args.device_map is None else None
    try:
        model = AutoModelForImageClassification.from_pretrained(target, **hf_kwargs(spec.args))
    except LOAD_ERRORS as error:
        raise explain_load_error(target, error, "an image classifier (AutoModelForImageClassification)") from error
    config = model.config
    size = getattr(config, "image_size", None)
    channels = getattr(config, "num_channels", None)
    shape = (channels, size, size) if isinstance(size, int) and isinstance(channels, int) else None
    module = ImageLogits(model)
    if device is not None:
        module = module.to(device)
    return ClassifierAdapter(module.eval(), input_shape=shape, num_classes=config.num_labels, name=spec.text)
