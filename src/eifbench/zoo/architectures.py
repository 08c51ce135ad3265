"""Which kind of model a Hugging Face checkpoint is, read from its config before loading it.

A checkpoint is classified by the ``architectures`` in its ``config.json`` (and a PEFT
adapter by its base model's), so a masked LM never loads silently as a causal LM with a
fresh head, and every unsupported kind is refused in one line that names it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from eifbench.errors import ModelSpecError
from eifbench.kinds import ModelKind

SEQ2SEQ_TYPES = frozenset(
    {
        "t5",
        "mt5",
        "umt5",
        "bart",
        "mbart",
        "pegasus",
        "pegasus_x",
        "marian",
        "led",
        "longt5",
        "blenderbot",
        "plbart",
        "prophetnet",
    }
)
SUPPORTED = (
    "causal LMs (hf:<id or path>), seq2seq LMs such as T5 or BART (hf:), text classifiers (hf:), "
    "PEFT/LoRA adapters of those (hf:<adapter folder>), image classifiers (hf-image:<id or path>)"
)


@dataclass(frozen=True)
class Checkpoint:
    """What a checkpoint is: its architecture, model type, kind, and PEFT base if an adapter."""

    architecture: str
    model_type: str
    kind: ModelKind | None
    adapter_of: str | None = None

    @property
    def description(self) -> str:
        """``BertForMaskedLM (a masked LM)``."""
        return f"{self.architecture} ({describe(self.architecture, self.model_type)})"


SPEECH_TYPES = frozenset({"whisper", "speech_to_text", "speecht5", "seamless_m4t", "seamless_m4t_v2", "moonshine"})


def describe(architecture: str, model_type: str = "") -> str:
    """A human name for an architecture's head."""
    if architecture.endswith("ForConditionalGeneration") and model_type not in SEQ2SEQ_TYPES:
        return "a speech-to-text model" if model_type in SPEECH_TYPES else "a multimodal (image/audio + text) generator"
    names = (
        ("ForMaskedLM", "a masked LM"),
        ("ForPreTraining", "a pre-training model with a masked-LM head"),
        ("ForCTC", "a speech recognizer"),
        ("ForAudioClassification", "an audio classifier"),
        ("ForSpeechSeq2Seq", "a speech-to-text model"),
        ("ForTokenClassification", "a token classifier"),
        ("ForQuestionAnswering", "an extractive QA model"),
        ("ForMultipleChoice", "a multiple-choice model"),
        ("ForImageClassification", "an image classifier"),
        ("ForSequenceClassification", "a text classifier"),
        ("ForCausalLM", "a causal LM"),
        ("LMHeadModel", "a causal LM"),
        ("ForConditionalGeneration", "a seq2seq LM"),
    )
    return next((name for suffix, name in names if architecture.endswith(suffix)), "an unsupported kind of model")


def kind_of(architecture: str, model_type: str) -> ModelKind | None:
    """The eifbench kind of an architecture, or None when unsupported."""
    if architecture.endswith("ForImageClassification"):
        return ModelKind.CLASSIFIER
    if architecture.endswith("ForSequenceClassification"):
        return ModelKind.TEXT_CLASSIFIER
    if architecture.endswith(("ForCausalLM", "LMHeadModel")) and "Vision" not in architecture:
        return ModelKind.CAUSAL_LM
    if architecture.endswith("ForConditionalGeneration") and model_type in SEQ2SEQ_TYPES:
        return ModelKind.SEQ2SEQ_LM
    return None


CONFIG_FILES = ("config.json", "adapter_config.json")


def _config_file(target: str, subfolder: str | None) -> Path | None:
    """The folder holding a checkpoint's config: local, in the hub cache, or fetched alone (config only)."""
    local = Path(os.path.expanduser(target))
    if local.is_dir():
        folder = local / subfolder if subfolder else local
        return folder
    try:  # a hub id already in the local cache: no network
        from huggingface_hub import try_to_load_from_cache

        for name in CONFIG_FILES:
            # it takes no subfolder (hf_hub_download does): the repo path is "subfolder/name"
            cached = try_to_load_from_cache(target, f"{subfolder}/{name}" if subfolder else name)
            if isinstance(cached, str):
                return Path(cached).parent
    except Exception:  # huggingface_hub raises on malformed ids; then we cannot tell before loading
        return None
    return _fetch_config(target, subfolder)


def _fetch_config(target: str, subfolder: str | None) -> Path | None:
    """Download only a hub id's config (kilobytes), so its kind is known before its weights download."""
    try:
        from huggingface_hub import constants, hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError
    except ImportError:
        return None
    if constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE") == "1":
        return None
    for name in CONFIG_FILES:
        try:
            return Path(hf_hub_download(target, name, subfolder=subfolder)).parent
        except EntryNotFoundError:
            continue
        except Exception:  # no network, no such repo, a gated repo: the load itself reports it
            return None
    return None


def adapter_base(folder: Path) -> str:
    """The base model an adapter folder names.

    A folder (relative to the adapter folder or the working directory), else a hub id.
    """
    try:
        base = json.loads((folder / "adapter_config.json").read_text()).get("base_model_name_or_path")
    except (OSError, ValueError) as error:
        raise ModelSpecError(
            f"{folder / 'adapter_config.json'} is not valid JSON ({error}); the adapter is damaged."
        ) from None
    if not base or not isinstance(base, str):
        raise ModelSpecError(
            f"{folder}: adapter_config.json names no base_model_name_or_path; pass hf:<base>,peft={folder}."
        )
    expanded = Path(os.path.expanduser(base))
    if not expanded.is_absolute() and (folder / expanded).is_dir():
        return str(folder / expanded)
    if expanded.is_dir():
        return str(expanded)
    if looks_like_path(base):
        raise ModelSpecError(
            f"{folder}: the base model {base!r} named by base_model_name_or_path in adapter_config.json is not a "
            f"folder (relative to {folder} or {os.getcwd()}); pass the base yourself: hf:<base>,peft={folder}."
        )
    return base


def looks_like_path(target: str) -> bool:
    """Whether ``target`` is written as a path rather than a hub id (``org/name``)."""
    return target.startswith((".", "/", "~")) or target.count("/") > 1 or (os.sep == "\\" and "\\" in target)


def inspect_checkpoint(target: str, subfolder: str | None = None) -> Checkpoint | None:
    """The checkpoint's kind from its config (None when the config is not available locally)."""
    folder = _config_file(target, subfolder)
    if folder is None:
        return None
    if (folder / "adapter_config.json").is_file():
        base = adapter_base(folder)
        inner = inspect_checkpoint(base)
        if inner is None:
            return Checkpoint("PeftModel", "peft", ModelKind.CAUSAL_LM, adapter_of=base)
        return Checkpoint(inner.architecture, inner.model_type, inner.kind, adapter_of=base)
    config = folder / "config.json"
    if not config.is_file():
        return None
    try:
        data = json.loads(config.read_text())
    except (OSError, ValueError) as error:
        raise ModelSpecError(f"{config} is not valid JSON ({error}); the checkpoint is damaged.") from None
    architectures = data.get("architectures") or []
    model_type = str(data.get("model_type", ""))
    if not architectures:
        return Checkpoint(f"<no architectures, model_type {model_type!r}>", model_type, None)
    return Checkpoint(str(architectures[0]), model_type, kind_of(str(architectures[0]), model_type))


def declared_labels(target: str, subfolder: str | None = None) -> tuple[str, ...] | None:
    """A text classifier's label names in class-index order, read from its config before loading.

    From ``config.json``'s ``id2label`` (an adapter folder: its base's); ``LABEL_0``... when
    the config gives only ``num_labels``. None when the config is not available locally or
    declares neither.
    """
    folder = _config_file(target, subfolder)
    if folder is None:
        return None
    if (folder / "adapter_config.json").is_file() and not (folder / "config.json").is_file():
        return declared_labels(adapter_base(folder))
    try:
        data = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):  # a missing or damaged config is reported when the model loads
        return None
    id2label = data.get("id2label") if isinstance(data, dict) else None
    if isinstance(id2label, dict) and id2label:
        try:
            by_index = {int(i): str(name) for i, name in id2label.items()}
        except (TypeError, ValueError):
            return None
        return tuple(by_index[i] for i in sorted(by_index))
    count = data.get("num_labels") if isinstance(data, dict) else None
    if isinstance(count, int) and not isinstance(count, bool) and count > 0:
        return tuple(f"LABEL_{i}" for i in range(count))
    return None


def defines_chat_template(target: str, subfolder: str | None = None, gguf_file: str | None = None) -> bool | None:
    """Whether the tokenizer a checkpoint ships defines a chat template, read before loading.

    Looks where transformers does: ``chat_template.jinja``, ``chat_template.json``, the
    ``chat_template`` key of ``tokenizer_config.json`` (an adapter folder's own tokenizer
    first, else its base's), or a GGUF file's ``tokenizer.chat_template``. None when the
    tokenizer files are not available locally.
    """
    folder = _config_file(target, subfolder)
    if folder is None:
        return None
    if gguf_file is not None:
        return gguf_has_template(folder / gguf_file)
    if (folder / "chat_template.jinja").is_file() or (folder / "chat_template.json").is_file():
        return True
    tokenizer_config = folder / "tokenizer_config.json"
    if tokenizer_config.is_file():
        try:
            return bool(json.loads(tokenizer_config.read_text()).get("chat_template"))
        except (OSError, ValueError):
            return None
    if (folder / "adapter_config.json").is_file():
        return defines_chat_template(adapter_base(folder))
    return None


def gguf_has_template(path: Path) -> bool | None:
    """Whether a GGUF file's metadata holds ``tokenizer.chat_template`` (None when unreadable)."""
    if not path.is_file():
        return None
    try:
        from gguf import GGUFReader

        return "tokenizer.chat_template" in GGUFReader(str(path)).fields
    except Exception:  # an unreadable GGUF fails at load time with transformers' own message
        return None


def require_kind(
    prefix: str, target: str, checkpoint: Checkpoint | None, wanted: tuple[ModelKind, ...]
) -> ModelKind | None:
    """Refuse a checkpoint of an unsupported kind, or of a kind another prefix loads."""
    if checkpoint is None:
        return None
    if checkpoint.kind is None:
        raise ModelSpecError(f"{prefix}:{target} is a {checkpoint.description}; eifbench checks {SUPPORTED}.")
    if checkpoint.kind not in wanted:
        right = "hf-image" if checkpoint.kind == ModelKind.CLASSIFIER else "hf"
        raise ModelSpecError(f"{prefix}:{target} is a {checkpoint.description}; load it with {right}:{target}.")
    return checkpoint.kind
