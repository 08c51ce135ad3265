"""Model specs, parsed once: ``name``, ``hf:<id or path>,key=value,...`` -> a frozen ``ModelSpec``.

The spec travels typed from the command line to the loader (and to Ray actors); no code
downstream splits a spec string again. A device override is ``spec.with_device(...)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from eifbench.errors import ModelSpecError

if TYPE_CHECKING:
    import torch

DTYPES = ("float32", "float16", "bfloat16", "float64", "auto")
CHAT_TEMPLATES = ("auto", "on", "off")
TRAINABLE = ("adapter", "all")
# The args that choose which weights are measured, in label order: two specs that differ in one
# of them are two models (two report columns, two baselines). Where it runs (device, device_map),
# how it is batched, and what trains or how it is prompted (recorded in the recipe) are not.
IDENTITY_ARGS = ("revision", "subfolder", "gguf_file", "peft", "dtype")


@dataclass(frozen=True)
class ModelArgs:
    """Keyword args a loader accepts; only these reach ``from_pretrained`` (an allow-list).

    Attributes:
        revision, subfolder, gguf_file, device_map: passed to ``from_pretrained``.
        dtype: weights dtype (float32 by default).
        trust_remote_code: run a checkpoint's own code (off unless asked).
        device: ``cpu``, ``cuda``, ``cuda:1``...; CUDA when available by default.
        batch_tokens: token budget of one probe batch.
        batch_stimuli: stimuli the exact engine fine-tunes at once when the recipe trains
            only adapters (LoRA) or Linear layers; 1 turns batching off (default: automatic).
        peft: a PEFT adapter folder to load on top of the base model.
        trainable: with an adapter, fine-tune the ``adapter``'s parameters only (default,
            as the adapter's own fine-tuning did) or ``all`` (base and adapter).
        chat_template: ``auto`` (on when the tokenizer defines one), ``on`` or ``off``;
            causal LMs only (``eifbench.adapters.chat`` says how stimuli are templated).
        system: a system prompt for chat-templated models.

    """

    revision: str | None = None
    dtype: str | None = None
    device_map: str | None = None
    gguf_file: str | None = None
    trust_remote_code: bool = False
    device: str | None = None
    subfolder: str | None = None
    batch_tokens: int | None = None
    batch_stimuli: int | None = None
    peft: str | None = None
    trainable: str = "adapter"
    chat_template: str = "auto"
    system: str | None = None

    def given(self) -> dict[str, Any]:
        """The args that differ from their defaults."""
        defaults = ModelArgs()
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) != getattr(defaults, f.name)
        }


ARG_TYPES: dict[str, type] = {
    f.name: (bool if f.name == "trust_remote_code" else int if f.name in ("batch_tokens", "batch_stimuli") else str)
    for f in dataclasses.fields(ModelArgs)
}
CHOICES: dict[str, tuple[str, ...]] = {"dtype": DTYPES, "chat_template": CHAT_TEMPLATES, "trainable": TRAINABLE}


@dataclass(frozen=True)
class ModelSpec:
    """A parsed spec.

    Attributes:
        name: the registry name (``hf``, ``fashion-cnn``, ``ref-logical``...).
        target: hub id or path after ``hf:`` / ``hf-image:``, else None.
        args: validated model args.

    """

    name: str
    target: str | None = None
    args: ModelArgs = field(default_factory=ModelArgs)

    @property
    def text(self) -> str:
        """The spec as a user writes it, without args (``hf:./m``): what messages and the catalogue name."""
        return f"{self.name}:{self.target}" if self.target is not None else self.name

    @property
    def label(self) -> str:
        """The model's label in reports and baselines: ``text`` plus every given arg that changes the weights.

        ``hf:./m,gguf_file=q4.gguf`` and ``hf:./m,gguf_file=q8.gguf`` are two columns; a spec
        without such args keeps its plain text (``smollm2``, ``hf:./m``), so existing baselines
        still match. Args are written in ``IDENTITY_ARGS`` order whatever order they were given in.
        """
        given = [f"{key}={getattr(self.args, key)}" for key in IDENTITY_ARGS if getattr(self.args, key) is not None]
        return ",".join([self.text, *given])

    def with_device(self, device: str) -> ModelSpec:
        """The same spec on another device."""
        return dataclasses.replace(self, args=dataclasses.replace(self.args, device=device))

    def with_args(self, **changes: Any) -> ModelSpec:
        """The same spec with some args changed (validated)."""
        return dataclasses.replace(
            self, args=dataclasses.replace(self.args, **{k: _coerce(k, v) for k, v in changes.items()})
        )


def _coerce(key: str, raw: Any) -> Any:
    kind = ARG_TYPES.get(key)
    if kind is None:
        raise ModelSpecError(f"Unknown model arg {key!r}; allowed: {', '.join(sorted(ARG_TYPES))}.")
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false", "1", "0", "yes", "no"):
            return raw.lower() in ("true", "1", "yes")
        raise ModelSpecError(f"Model arg {key}={raw!r} must be true or false.")
    if kind is int:
        try:
            value = int(raw) if not isinstance(raw, bool) else None
        except (TypeError, ValueError):
            value = None
        if value is None or value <= 0:
            raise ModelSpecError(f"Model arg {key}={raw!r} must be a positive integer.")
        return value
    if not isinstance(raw, str) or not raw:
        raise ModelSpecError(f"Model arg {key}={raw!r} must be a non-empty string.")
    if key in CHOICES and raw not in CHOICES[key]:
        raise ModelSpecError(f"Model arg {key}={raw!r}; choose one of {', '.join(CHOICES[key])}.")
    return raw


def parse_args(text: str | dict[str, Any] | ModelArgs | None) -> dict[str, Any]:
    """Parse ``"key=value,key=value"`` (or a dict) into validated model args."""
    if text is None or text == "":
        return {}
    if isinstance(text, ModelArgs):
        return text.given()
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


def parse_spec(spec: str | ModelSpec, model_args: str | dict[str, Any] | ModelArgs | None = None) -> ModelSpec:
    """Split ``"hf:./my-model,dtype=bfloat16"`` into name, target and args.

    Args given separately override those in the spec string.
    """
    if isinstance(spec, ModelSpec):
        return spec.with_args(**parse_args(model_args)) if model_args else spec
    if not isinstance(spec, str) or not spec.strip():
        raise ModelSpecError("The model spec is empty; run `eifbench models` to list specs.")
    head, _, tail = spec.strip().partition(",")
    name, colon, target = head.partition(":")
    args = {**parse_args(tail), **parse_args(model_args)}
    if colon and not target:
        raise ModelSpecError(f"Spec {spec!r} names no model after '{name}:'; e.g. hf:./my-model.")
    return ModelSpec(name=name, target=target if colon else None, args=ModelArgs(**args))


def resolve_device(args: ModelArgs) -> torch.device:
    """The ``device`` arg, else CUDA when available, else CPU; a device this machine lacks is an error."""
    import torch

    if args.device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(args.device)
    except (RuntimeError, ValueError) as error:
        raise ModelSpecError(f"device={args.device!r} is not a torch device (cpu, cuda, cuda:1, mps).") from error
    if device.type == "cuda" and (not torch.cuda.is_available() or (device.index or 0) >= torch.cuda.device_count()):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        raise ModelSpecError(f"device={args.device!r}, but this machine has {count} CUDA device(s); use device=cpu.")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ModelSpecError(f"device={args.device!r}, but MPS is not available here; use device=cpu.")
    if device.type not in ("cpu", "cuda", "mps"):
        raise ModelSpecError(f"device={args.device!r}: eifbench runs on cpu, cuda or mps.")
    return device


def resolve_dtype(args: ModelArgs) -> Any:
    """The torch dtype named by the ``dtype`` arg (float32 by default; ``"auto"`` passes through)."""
    import torch

    name = args.dtype or "float32"
    return "auto" if name == "auto" else getattr(torch, name)
