"""``hf:``: any Hugging Face language model or text classifier, local folder or hub id.

The checkpoint's config decides the kind before anything loads (``zoo.architectures``):
a causal LM, a seq2seq LM or a text classifier, each through its own ``AutoModelFor...``
class and adapter; a PEFT adapter folder (or ``peft=<folder>``) loads its base model and
then the adapter on top with ``peft``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eifbench.adapters.causal_lm import CausalLMAdapter
from eifbench.adapters.chat import ChatFormat
from eifbench.adapters.seq2seq import Seq2SeqLMAdapter
from eifbench.adapters.text_classifier import TextClassifierAdapter
from eifbench.errors import InputError, ModelSpecError
from eifbench.kinds import ModelKind
from eifbench.zoo.architectures import looks_like_path
from eifbench.zoo.specs import ModelArgs, ModelSpec, resolve_device, resolve_dtype

FROM_PRETRAINED_ARGS = ("revision", "gguf_file", "subfolder", "device_map")
# what a damaged or unsafe checkpoint raises in from_pretrained: a pickled .bin is refused by
# torch.load(weights_only=True) with an UnpicklingError; a corrupt file with an OSError/RuntimeError
LOAD_ERRORS = (OSError, ValueError, KeyError, RuntimeError, pickle.UnpicklingError)
# kind -> (transformers auto class, what it is, adapter class)
AUTO_CLASSES: dict[ModelKind, tuple[str, str, type]] = {
    ModelKind.CAUSAL_LM: ("AutoModelForCausalLM", "a causal LM", CausalLMAdapter),
    ModelKind.SEQ2SEQ_LM: ("AutoModelForSeq2SeqLM", "a seq2seq LM", Seq2SeqLMAdapter),
    ModelKind.TEXT_CLASSIFIER: ("AutoModelForSequenceClassification", "a text classifier", TextClassifierAdapter),
}
LanguageAdapter = CausalLMAdapter | Seq2SeqLMAdapter | TextClassifierAdapter


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
    if looks_like_path(target):
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


@contextlib.contextmanager
def warnings_unless_it_fails() -> Iterator[None]:
    """Hold back the Python warnings of a load: shown when it succeeds, dropped when it fails.

    A failed load becomes one ModelSpecError line that says what went wrong; the warnings
    of a successful one (a newly initialized head, a deprecated argument) are re-issued.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)


@dataclass(frozen=True)
class Source:
    """Where a model comes from: the base checkpoint, its kind, and a PEFT adapter folder if any.

    ``base_from_adapter``: the base was named by the adapter's ``adapter_config.json``
    (``hf:<adapter folder>``), not by the user (``hf:<base>,peft=<adapter>``).
    """

    base: str
    kind: ModelKind
    adapter: str | None = None
    base_from_adapter: bool = False


def source_of(target: str, spec: ModelSpec, kind: ModelKind | None = None) -> Source:
    """The base, kind and adapter of ``hf:<target>`` (an adapter folder or ``peft=`` adds one)."""
    from eifbench.zoo.architectures import inspect_checkpoint
    from eifbench.zoo.peft_adapter import adapter_folder

    checkpoint = inspect_checkpoint(target, spec.args.subfolder)
    kind = kind or (checkpoint.kind if checkpoint is not None and checkpoint.kind is not None else ModelKind.CAUSAL_LM)
    if checkpoint is not None and checkpoint.adapter_of is not None:
        if spec.args.peft is not None:
            raise ModelSpecError(
                f"{target} is itself a PEFT adapter: pass hf:{target}, or hf:<base>,peft={target}, not both."
            )
        return Source(checkpoint.adapter_of, kind, target, base_from_adapter=True)
    if spec.args.peft is not None:
        return Source(target, kind, adapter_folder(spec.args.peft))
    if spec.args.given().get("trainable") is not None:
        raise ModelSpecError(
            f"trainable={spec.args.trainable} chooses what a PEFT adapter's fine-tune trains; {spec.text} has no "
            "adapter (load one with hf:<adapter folder> or peft=<folder>)."
        )
    return Source(target, kind)


def load_language_model(source: Source, spec: ModelSpec) -> LanguageAdapter:
    """Load the base (and adapter), its tokenizer, and wrap them in the kind's adapter."""
    import transformers

    from eifbench.zoo.peft_adapter import attach_adapter, has_tokenizer

    auto_name, what, adapter_class = AUTO_CLASSES[source.kind]
    quiet_progress()
    device = resolve_device(spec.args) if spec.args.device_map is None else None
    base, load_args = source.base, spec.args
    gguf = spec.args.gguf_file
    if gguf is not None and source.adapter is None and spec.args.subfolder is None and (Path(base) / gguf).is_file():
        from eifbench.zoo.gguf import cached_gguf  # dequantized once, then read as a plain folder

        base, load_args = str(cached_gguf(Path(base), gguf)), dataclasses.replace(spec.args, gguf_file=None)
    tokenizer_source = source.adapter if source.adapter is not None and has_tokenizer(source.adapter) else base
    with warnings_unless_it_fails():
        try:
            model = getattr(transformers, auto_name).from_pretrained(base, **hf_kwargs(load_args))
            tokenizer = transformers.AutoTokenizer.from_pretrained(tokenizer_source, **tokenizer_kwargs(load_args))
        except LOAD_ERRORS as error:
            explained = explain_load_error(source.base, error, f"{what} ({auto_name})")
            if source.base_from_adapter:
                explained = ModelSpecError(
                    f"{source.adapter}: adapter_config.json names the base model {source.base!r} "
                    f"(base_model_name_or_path). {explained} If the base is elsewhere, pass "
                    f"hf:<base>,peft={source.adapter}."
                )
            raise explained from error
        if source.adapter is not None:
            model = attach_adapter(model, source.adapter, spec.args.trainable)
    if device is not None:
        model = model.to(device)
    model = model.eval()
    if source.kind == ModelKind.CAUSAL_LM:
        return CausalLMAdapter(
            model, tokenizer, name=spec.text, batch_tokens=spec.args.batch_tokens, chat=chat_format(tokenizer, spec)
        )
    adapter: LanguageAdapter = adapter_class(model, tokenizer, name=spec.text, batch_tokens=spec.args.batch_tokens)
    return adapter


def chat_format(tokenizer: Any, spec: ModelSpec) -> ChatFormat | None:
    """The chat format of a causal LM: as decided before loading, checked against the tokenizer."""
    from eifbench.zoo import chat_template_of

    decided = chat_template_of(spec, ModelKind.CAUSAL_LM)
    defined = getattr(tokenizer, "chat_template", None) is not None
    if decided == "auto":  # the tokenizer files were not readable before loading: the tokenizer decides
        decided = "on" if defined else "off"
    if decided == "off":
        return None
    if not defined:
        raise ModelSpecError(
            f"chat_template=on, but {spec.text}'s tokenizer defines no chat template; use chat_template=off."
        )
    try:
        return ChatFormat(tokenizer, system=spec.args.system)
    except InputError as error:
        raise ModelSpecError(f"{spec.text}: {error}") from None


def load_causal_lm(target: str, spec: ModelSpec) -> CausalLMAdapter:
    """A causal LM (plus ``peft=`` adapter) and its tokenizer from a folder or hub id."""
    source = source_of(target, spec, ModelKind.CAUSAL_LM)
    adapter = load_language_model(source, spec)
    assert isinstance(adapter, CausalLMAdapter)
    return adapter


def load_hf(spec: ModelSpec) -> LanguageAdapter:
    """``hf:<id or path>``: a causal LM, seq2seq LM or text classifier, or a PEFT adapter of one."""
    assert spec.target is not None
    return load_language_model(source_of(local_target(spec.target) or spec.target, spec), spec)
