"""Parsing model specs: ``name``, ``hf:<id or path>,key=value,...``, and model args."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eifbench.errors import ModelSpecError

if TYPE_CHECKING:
    import torch

# Only these keyword args reach a loader: a spec from a CI config must not smuggle in
# arbitrary from_pretrained options.
ALLOWED_ARGS = {
    "revision": str,
    "dtype": str,
    "device_map": str,
    "gguf_file": str,
    "trust_remote_code": bool,
    "device": str,
    "subfolder": str,
    "batch_tokens": int,
}
DTYPES = ("float32", "float16", "bfloat16", "auto")


@dataclass(frozen=True)
class ModelSpec:
    """A parsed spec.

    The registry ``name`` (``hf``, ``fashion-cnn``...), an optional target (hub id or path
    after ``hf:``), and validated keyword args.
    """

    name: str
    target: str | None = None
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The spec as a user writes it, without args."""
        return f"{self.name}:{self.target}" if self.target is not None else self.name


def _coerce(key: str, raw: Any) -> Any:
    kind = ALLOWED_ARGS.get(key)
    if kind is None:
        raise ModelSpecError(f"Unknown model arg {key!r}; allowed: {', '.join(sorted(ALLOWED_ARGS))}.")
    if kind is bool and isinstance(raw, str):
        if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise ModelSpecError(f"Model arg {key}={raw!r} must be true or false.")
        return raw.lower() in ("true", "1", "yes")
    if kind is int and isinstance(raw, str):
        try:
            return int(raw)
        except ValueError as error:
            raise ModelSpecError(f"Model arg {key}={raw!r} must be an integer.") from error
    if key == "dtype" and raw not in DTYPES:
        raise ModelSpecError(f"Model arg dtype={raw!r}; choose one of {', '.join(DTYPES)}.")
    return raw


def parse_args(text: str | dict[str, Any] | None) -> dict[str, Any]:
    """Parse ``"key=value,key=value"`` (or a dict) into validated model args."""
    if text is None or text == "":
        return {}
    if isinstance(text, dict):
        return {key: _coerce(key, value) for key, value in text.items()}
    args: dict[str, Any] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise ModelSpecError(f"Model arg {part!r} is not key=value (e.g. dtype=bfloat16).")
        key, value = part.split("=", 1)
        args[key.strip()] = _coerce(key.strip(), value.strip())
    return args


def parse_spec(spec: str, model_args: str | dict[str, Any] | None = None) -> ModelSpec:
    """Split ``"hf:./my-model,dtype=bfloat16"`` into name, target and args.

    Args given separately override those in the spec string.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ModelSpecError("The model spec is empty; run `eifbench models` to list specs.")
    head, _, tail = spec.strip().partition(",")
    name, colon, target = head.partition(":")
    args = {**parse_args(tail), **parse_args(model_args)}
    if colon and not target:
        raise ModelSpecError(f"Spec {spec!r} names no model after '{name}:'; e.g. hf:./my-model.")
    return ModelSpec(name=name, target=target if colon else None, args=args)


def resolve_device(args: dict[str, Any]) -> torch.device:
    """The ``device`` arg, else CUDA when available, else CPU."""
    import torch

    if "device" in args:
        try:
            return torch.device(args["device"])
        except RuntimeError as error:
            raise ModelSpecError(f"device={args['device']!r} is not a torch device.") from error
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_dtype(args: dict[str, Any]) -> Any:
    """The torch dtype named by the ``dtype`` arg (float32 by default; ``"auto"`` passes through)."""
    import torch

    name = args.get("dtype", "float32")
    return "auto" if name == "auto" else getattr(torch, name)
