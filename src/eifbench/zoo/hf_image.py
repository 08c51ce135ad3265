"""``hf-image:``: any Hugging Face image classifier, at its own input shape and normalisation.

eifbench's packaged images are ``(1, 28, 28)`` in [0, 1]; the tasks resize them and
repeat channels to the model's input shape (``tasks.images.fit_images``), and the
wrapper module here normalises them as the model's image processor would
(``image_mean`` / ``image_std`` of ``preprocessor_config.json``), so the model sees the
inputs it was trained on. Rescaling to [0, 1] is already done.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from eifbench.adapters.classifier import ClassifierAdapter
from eifbench.errors import ModelSpecError
from eifbench.zoo.hf import (
    LOAD_ERRORS,
    explain_load_error,
    hf_kwargs,
    local_target,
    quiet_progress,
    warnings_unless_it_fails,
)
from eifbench.zoo.specs import ModelSpec, resolve_device


class ImageLogits(nn.Module):
    """Adapt a HF image classifier to ``(b, c, h, w)`` images in [0, 1] -> logits ``(b, num_labels)``.

    Args:
        model: the ``AutoModelForImageClassification`` model.
        mean, std: per-channel normalisation (c values each), or None for none.

    """

    mean: torch.Tensor  # buffers, registered in __init__
    std: torch.Tensor

    def __init__(self, model: nn.Module, mean: list[float] | None = None, std: list[float] | None = None) -> None:
        super().__init__()
        self.model = model
        self.normalizes = mean is not None and std is not None
        # non-persistent buffers: they follow .to(device), and are never state of the model
        self.register_buffer("mean", torch.tensor(mean or [0.0]).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std or [1.0]).view(1, -1, 1, 1), persistent=False)

    def forward(self, pixel_values: torch.Tensor) -> Any:
        """Logits of a batch of images, normalised first when the processor says so."""
        if self.normalizes:
            pixel_values = (pixel_values - self.mean.to(pixel_values.dtype)) / self.std.to(pixel_values.dtype)
        return self.model(pixel_values=pixel_values).logits


def processor_config(target: str, spec: ModelSpec) -> dict[str, Any]:
    """The checkpoint's ``preprocessor_config.json`` (empty when it has none locally)."""
    folder = Path(target) / spec.args.subfolder if spec.args.subfolder else Path(target)
    path = folder / "preprocessor_config.json"
    if not path.is_file():
        try:  # a hub id already in the local cache: no network
            from huggingface_hub import try_to_load_from_cache

            # it takes no subfolder (hf_hub_download does): the repo path is "subfolder/name"
            name = "preprocessor_config.json"
            cached = try_to_load_from_cache(target, f"{spec.args.subfolder}/{name}" if spec.args.subfolder else name)
        except Exception:  # a malformed id: the load reports it
            return {}
        if not isinstance(cached, str):
            return {}
        path = Path(cached)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ModelSpecError(f"{path} is not valid JSON ({error}); the checkpoint is damaged.") from None
    return data if isinstance(data, dict) else {}


def normalization(processor: dict[str, Any], channels: int) -> tuple[list[float], list[float]] | None:
    """Per-channel (mean, std) from a processor config, or None when it does not normalise."""
    mean, std = processor.get("image_mean"), processor.get("image_std")
    if not processor.get("do_normalize", True) or mean is None or std is None:
        return None
    mean = [float(mean)] * channels if isinstance(mean, (int, float)) else [float(v) for v in mean]
    std = [float(std)] * channels if isinstance(std, (int, float)) else [float(v) for v in std]
    if len(mean) != channels or len(std) != channels or any(s <= 0 for s in std):
        raise ModelSpecError(
            f"preprocessor_config.json has image_mean {mean} / image_std {std}, which do not fit the model's "
            f"{channels} channels."
        )
    return mean, std


def input_shape(config: Any, processor: dict[str, Any]) -> tuple[int, int, int] | None:
    """``(channels, height, width)`` from the model config, else the processor's crop or resize size."""
    channels = getattr(config, "num_channels", None) or 3
    size = getattr(config, "image_size", None)
    if isinstance(size, int):
        return (channels, size, size)
    if isinstance(size, (list, tuple)) and len(size) == 2:
        return (channels, int(size[0]), int(size[1]))
    for key in ("crop_size", "size"):
        value = processor.get(key)
        if isinstance(value, int):
            return (channels, value, value)
        if isinstance(value, dict) and "height" in value and "width" in value:
            return (channels, int(value["height"]), int(value["width"]))
        if isinstance(value, dict) and "shortest_edge" in value:
            return (channels, int(value["shortest_edge"]), int(value["shortest_edge"]))
    return None


def load_hf_image(spec: ModelSpec) -> ClassifierAdapter:
    """``hf-image:<id or path>``: any AutoModelForImageClassification checkpoint."""
    from transformers import AutoModelForImageClassification

    quiet_progress()
    assert spec.target is not None
    target = local_target(spec.target) or spec.target
    device = resolve_device(spec.args) if spec.args.device_map is None else None
    try:
        with warnings_unless_it_fails():
            model = AutoModelForImageClassification.from_pretrained(target, **hf_kwargs(spec.args))
    except LOAD_ERRORS as error:
        raise explain_load_error(target, error, "an image classifier (AutoModelForImageClassification)") from error
    processor = processor_config(target, spec)
    shape = input_shape(model.config, processor)
    stats = normalization(processor, shape[0]) if shape is not None else None
    module = ImageLogits(model, *(stats or (None, None)))
    if device is not None:
        module = module.to(device)
    return ClassifierAdapter(module.eval(), input_shape=shape, num_classes=model.config.num_labels, name=spec.text)
