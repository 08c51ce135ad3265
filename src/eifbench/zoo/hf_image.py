"""``hf-image:``: any Hugging Face image classifier, at its own input shape and normalisation.

eifbench's packaged images are ``(1, 28, 28)`` in [0, 1]; the tasks resize them and
repeat channels to the model's input shape (``tasks.images.fit_images``), and the
wrapper module here normalises them as the model's image processor would
(``image_mean`` / ``image_std`` of ``preprocessor_config.json``), so the model sees the
inputs it was trained on. Rescaling to [0, 1] is already done.

Refused at load time, in one line that says what to fix: a damaged ``image_mean`` /
``image_std``, fewer labels than the packaged data sets' 10 classes, and a model that
declares no input size (no ``image_size`` in ``config.json``, no ``size`` / ``crop_size`` in
``preprocessor_config.json``): eifbench does not guess a size the model was not trained at.
"""

from __future__ import annotations

import json
import math
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


PROCESSOR_FILE = "preprocessor_config.json"
PACKAGED_CLASSES = 10  # fashion-mnist and mnist, the image data sets the suite draws from


def processor_path(target: str, spec: ModelSpec) -> Path | None:
    """The checkpoint's ``preprocessor_config.json``: in its folder, else in the local hub cache, else None."""
    folder = Path(target) / spec.args.subfolder if spec.args.subfolder else Path(target)
    path = folder / PROCESSOR_FILE
    if path.is_file():
        return path
    try:  # a hub id already in the local cache: no network
        from huggingface_hub import try_to_load_from_cache

        # it takes no subfolder (hf_hub_download does): the repo path is "subfolder/name"
        name = PROCESSOR_FILE
        cached = try_to_load_from_cache(target, f"{spec.args.subfolder}/{name}" if spec.args.subfolder else name)
    except Exception:  # a malformed id: the load reports it
        return None
    return Path(cached) if isinstance(cached, str) else None


def processor_config(target: str, spec: ModelSpec) -> dict[str, Any]:
    """The checkpoint's ``preprocessor_config.json`` (empty when it has none locally)."""
    path = processor_path(target, spec)
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ModelSpecError(f"{path} is not valid JSON ({error}); the checkpoint is damaged.") from None
    return data if isinstance(data, dict) else {}


def _per_channel(value: Any, field: str, channels: int, source: str) -> list[float]:
    """``image_mean`` / ``image_std`` as one finite float per channel, or a ModelSpecError saying what to fix."""
    fix = (
        f"set it to a number or a list of {channels} numbers (one per channel, for pixels in [0, 1]), as the "
        "model's image processor was trained with, or set do_normalize to false if the model takes raw [0, 1] pixels."
    )
    numbers = [value] if isinstance(value, (int, float)) else value if isinstance(value, list) else None
    if not numbers or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in numbers):
        raise ModelSpecError(f"{source}: {field} is {value!r}, not a number or a list of numbers; {fix}")
    floats = [float(v) for v in numbers] * (channels if len(numbers) == 1 else 1)
    if len(floats) != channels:
        raise ModelSpecError(
            f"{source}: {field} has {len(numbers)} values, but the model takes {channels} channel(s); {fix}"
        )
    if any(not math.isfinite(v) for v in floats):
        raise ModelSpecError(f"{source}: {field} is {value!r}, which is not finite; {fix}")
    if field == "image_std" and any(v <= 0 for v in floats):
        raise ModelSpecError(
            f"{source}: image_std is {value!r}; a standard deviation must be > 0 (normalising divides by it); {fix}"
        )
    return floats


def normalization(
    processor: dict[str, Any], channels: int, source: str = PROCESSOR_FILE
) -> tuple[list[float], list[float]] | None:
    """Per-channel (mean, std) from a processor config, or None when it does not normalise.

    Args:
        processor: the parsed ``preprocessor_config.json``.
        channels: the model's input channels.
        source: the file, for messages.

    Raises:
        ModelSpecError: ``image_mean`` / ``image_std`` is not a number or list of finite numbers,
            has the wrong number of values, or a std is not positive; the message names the
            file, the field and the fix.

    """
    mean, std = processor.get("image_mean"), processor.get("image_std")
    if not processor.get("do_normalize", True) or mean is None or std is None:
        return None
    return _per_channel(mean, "image_mean", channels, source), _per_channel(std, "image_std", channels, source)


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
    source = str(processor_path(target, spec) or f"{target}/{PROCESSOR_FILE}")
    labels = int(model.config.num_labels)
    if labels < PACKAGED_CLASSES:
        raise ModelSpecError(
            f"{spec.text} has {labels} label(s); the packaged image data sets (fashion-mnist, mnist) have "
            f"{PACKAGED_CLASSES} classes, so its probes would be out of range. Use a classifier with at least "
            f"{PACKAGED_CLASSES} outputs (e.g. a 10-label head fine-tuned on Fashion-MNIST), or wrap the model in "
            "eifbench.ClassifierAdapter and call eifbench.influence on your own images."
        )
    shape = input_shape(model.config, processor)
    if shape is None:
        raise ModelSpecError(
            f"{spec.text} declares no input size: its config.json has no image_size and its {PROCESSOR_FILE} no "
            'size or crop_size; add the size it was trained at, e.g. "image_size": 224 to config.json (or '
            '"size": {"height": 224, "width": 224} to ' + f"{PROCESSOR_FILE})."
        )
    stats = normalization(processor, shape[0], source)
    module = ImageLogits(model, *(stats or (None, None)))
    if device is not None:
        module = module.to(device)
    return ClassifierAdapter(module.eval(), input_shape=shape, num_classes=labels, name=spec.text)
