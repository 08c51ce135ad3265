"""Finished influence results kept on disk, so a rerun, a resumed run or a second report reuses them.

An entry is one ``<EIFBENCH_CACHE>/results/<key>.safetensors`` file: the result's tensors,
bit for bit with their dtypes, and in the safetensors header a JSON of every other
``InfluenceResult`` field, the key's fields and a SHA-256 of the tensors. The key is a digest
of everything that decides the numbers:

- the model's fingerprint: a SHA-256 of every parameter and buffer (name, dtype, shape,
  bytes), the adapter's class and batching settings, its tokenizer and chat format, and the
  device type (a GPU's float differs from a CPU's);
- the engine, the ``FineTune`` recipe and the run digest (stimuli, probes, mask);
- eifbench's version *and a digest of its engine and adapter sources* (an editable
  install keeps its version while its engines change), torch's and transformers's versions.

Integrity rules are the model cache's (``zoo/cache.py``): writes go to a temporary file
renamed into place (a killed run never leaves half an entry), and an entry that cannot be
read, fails its checksum or belongs to another key is warned about, recomputed and
overwritten — never trusted.

Modes (``--eif-cache``): ``on`` reads and writes, ``refresh`` recomputes everything and
writes (``eifbench run --no-cache``), ``off`` neither reads nor writes nor digests weights.
Default: ``on`` for ``eifbench run`` — the user-facing, long run (26 minutes on 2 cores)
that CI cancels and users rerun for a second report, where lm-eval users expect a cache —
and ``off`` for a plain pytest run. A plain pytest run is also how this project's own tests
drive the suite, many times over, to test the engines; with the store on they would
silently read what an earlier test stored (a monkeypatched adapter or engine is not in
the key) and test the store instead. A pytest user opts in with ``--eif-cache=on`` or the
``eif_cache`` ini key.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import tempfile
import time
import warnings
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from eifbench.adapters.base import ModelAdapter
    from eifbench.finetune import FineTune
    from eifbench.influence import InfluenceResult

FORMAT = 1  # of an entry's layout; part of the key, so a new layout never reads an old file
_META = "eifbench"  # the safetensors header's metadata key holding the entry's JSON
_NUMERIC_MODULES = ("finetune.py", "stimuli.py", "stats.py")  # besides influence/ and adapters/
_SETTINGS = ("batch_tokens", "batch_size", "batch_stimuli", "max_length", "input_shape", "num_classes")


def weights_digest(module: torch.nn.Module) -> str | None:
    """SHA-256 of every parameter and buffer: names, dtypes, shapes and bytes.

    ≈0.4 s for SmolLM2-135M's 513 MiB of float32 on a 2-core CPU (SHA-256 runs on the CPU's
    SHA extensions, faster than BLAKE2 here). None when a tensor has no data to read (meta /
    offloaded weights): such a model is never cached.
    """
    hasher = hashlib.sha256()
    tensors = [*module.named_parameters(), *module.named_buffers()]
    for name, tensor in tensors:
        if tensor.device.type == "meta":
            return None
        data = tensor.detach().contiguous().cpu()
        hasher.update(f"{len(name)}:{name}:{data.dtype}:{tuple(data.shape)};".encode())
        hasher.update(data.reshape(-1).view(torch.uint8).numpy().data)
    return hasher.hexdigest()


def _tokenizer_digest(tokenizer: Any) -> str:
    """The tokenizer's full definition (vocabulary, merges, normalization, template, padding)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    body = backend.to_str() if backend is not None else json.dumps(sorted(tokenizer.get_vocab().items()))
    extras = [type(tokenizer).__name__, getattr(tokenizer, "chat_template", None)]
    extras += [getattr(tokenizer, name, None) for name in ("padding_side", "truncation_side", "pad_token")]
    return hashlib.sha256((body + json.dumps(extras, default=str)).encode("utf-8", "surrogatepass")).hexdigest()


def model_fingerprint(model: ModelAdapter) -> str | None:
    """What of a loaded adapter decides its influence numbers, as one digest (None: not cacheable)."""
    weights = weights_digest(model.module)
    if weights is None:
        return None
    parts: dict[str, Any] = {"adapter": f"{type(model).__module__}.{type(model).__qualname__}", "weights": weights}
    parts["device"] = str(getattr(model, "device", "cpu")).split(":")[0]
    parts.update({name: repr(getattr(model, name)) for name in _SETTINGS if hasattr(model, name)})
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is not None:
        parts["tokenizer"] = _tokenizer_digest(tokenizer)
    chat = getattr(model, "chat", None)
    if chat is not None:
        parts["chat"] = [getattr(chat, "system", None), getattr(chat, "request", None)]
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def replica_fingerprint(replica: Any) -> str | None:
    """``model_fingerprint`` of a Ray actor's model (run inside the actor by ``__ray_call__``)."""
    return model_fingerprint(replica.model)


def _source_digest() -> str:
    """A digest of the code that turns weights and stimuli into numbers (≈10 ms).

    The engines, the adapters and the recipe and stimulus types: an edit there invalidates
    every entry, while one to the reports, the CLI or the metrics (which read results, never
    make them) keeps the store. What a loader builds is in the model's fingerprint instead.
    """
    package = Path(__file__).resolve().parents[1]
    files = [*package.glob("influence/*.py"), *package.glob("adapters/*.py")]
    files += [package / name for name in _NUMERIC_MODULES]
    hasher = hashlib.sha256()
    for path in sorted(files):
        hasher.update(f"{path.relative_to(package).as_posix()}\0".encode())
        hasher.update(path.read_bytes())
    return hasher.hexdigest()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def _checksum(tensors: dict[str, torch.Tensor], described: dict[str, Any]) -> str:
    """SHA-256 of the tensors (names, dtypes, shapes, bytes) and of the entry's JSON fields."""
    hasher = hashlib.sha256(json.dumps(described, sort_keys=True).encode())
    for name in sorted(tensors):
        data = tensors[name].contiguous()
        hasher.update(f"{name}:{data.dtype}:{tuple(data.shape)};".encode())
        hasher.update(data.reshape(-1).view(torch.uint8).numpy().data)
    return hasher.hexdigest()


class ResultStore:
    """Influence results on disk under ``root``, with counts of what was reused and computed.

    Args:
        root: the folder of entries (``<EIFBENCH_CACHE>/results``).
        mode: ``"on"`` (read and write) or ``"refresh"`` (write only).

    """

    def __init__(self, root: Path, mode: str = "on") -> None:
        import eifbench

        self.root = root
        self.mode = mode
        self.reused = 0
        self.computed = 0
        self._warned_write = False
        self._context = {
            "format": FORMAT,
            "eifbench": eifbench.__version__,
            "source": _source_digest(),
            "torch": torch.__version__,
            "transformers": _version("transformers"),
        }
        self._discard_scratch()

    def key(self, fingerprint: str, engine: str, recipe: FineTune, run_digest: str) -> dict[str, Any]:
        """The fields an entry is keyed by (its file name is their digest)."""
        fields = {"model": fingerprint, "engine": engine, "recipe": recipe.as_record(), "run": run_digest}
        return {**self._context, **fields}

    def path(self, key: dict[str, Any]) -> Path:
        """The file of the entry with these key fields."""
        name = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:40]
        return self.root / f"{name}.safetensors"

    def load(self, key: dict[str, Any]) -> InfluenceResult | None:
        """The stored result, or None (missing, refreshing, or bad: warned about, then recomputed)."""
        path = self.path(key)
        if self.mode == "refresh" or not path.is_file():
            return None
        try:
            result = _decode(path.read_bytes(), key)
        except Exception as error:  # any damage at all: never trust the entry
            warnings.warn(
                f"eifbench: ignoring the damaged cached influence result {path} ({error}); recomputing it.",
                RuntimeWarning,
                stacklevel=2,
            )
            return None
        self.reused += 1
        return result

    def save(self, key: dict[str, Any], result: InfluenceResult) -> None:
        """Write the entry atomically; a failed write (read-only or full disk) only warns, once."""
        path = self.path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            data = _encode(result, key)
            handle, scratch = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(scratch, path)  # atomic: a reader sees the old entry or the new, never half
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(scratch)
        except OSError as error:
            if not self._warned_write:
                self._warned_write = True
                warnings.warn(
                    f"eifbench: cannot store influence results in {self.root} ({error}); the run goes on uncached.",
                    RuntimeWarning,
                    stacklevel=2,
                )

    def summary(self) -> str | None:
        """One line for the terminal summary; None when nothing was looked up."""
        if not self.reused and not self.computed:
            return None
        if self.mode == "refresh":
            return f"eifbench: {self.computed} influence results recomputed (--no-cache) and stored in {self.root}"
        return (
            f"eifbench: {self.reused} influence results reused from the cache, {self.computed} computed ({self.root})"
        )

    def _discard_scratch(self) -> None:
        """Temporary files of killed writes, older than an hour (a live writer's are seconds old)."""
        if not self.root.is_dir():
            return
        now = time.time()
        for scratch in self.root.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                if now - scratch.stat().st_mtime > 3600:
                    scratch.unlink()


def _encode(result: InfluenceResult, key: dict[str, Any]) -> bytes:
    from safetensors.torch import save

    tensors: dict[str, torch.Tensor] = {}
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(result):
        value = getattr(result, field.name)
        if isinstance(value, torch.Tensor):
            tensors[field.name] = value.detach().cpu().contiguous()
        elif field.name == "finetune":
            fields[field.name] = value.as_record()
        elif field.name == "failures":
            fields[field.name] = sorted([int(i), str(why)] for i, why in value.items())
        elif value is None or isinstance(value, (bool, int, float, str)):
            fields[field.name] = value
        else:  # a field added to InfluenceResult that this layout does not know: refuse, never half-store
            raise OSError(f"InfluenceResult.{field.name} ({type(value).__name__}) has no stored form")
    described = {"key": key, "fields": fields}
    entry = {**described, "checksum": _checksum(tensors, described)}
    return bytes(save(tensors, metadata={_META: json.dumps(entry, sort_keys=True, allow_nan=False)}))


def _decode(data: bytes, key: dict[str, Any]) -> InfluenceResult:
    from safetensors.torch import load

    from eifbench.finetune import FineTune
    from eifbench.influence import InfluenceResult

    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    entry = json.loads(header["__metadata__"][_META])
    if entry["key"] != key:
        raise ValueError("it was stored under other key fields")
    tensors = load(data)
    if _checksum(tensors, {"key": entry["key"], "fields": entry["fields"]}) != entry["checksum"]:
        raise ValueError("it fails its checksum")
    fields: dict[str, Any] = {**entry["fields"], **tensors}
    fields["finetune"] = FineTune(**fields["finetune"])
    fields["failures"] = {int(i): str(why) for i, why in fields["failures"]}
    return InfluenceResult(**fields)
