"""The result store as a session uses it (``--eif-cache``): opened on first use, each model digested once."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from eifbench.zoo.specs import ModelSpec

if TYPE_CHECKING:
    from eifbench.finetune import FineTune
    from eifbench.influence import InfluenceResult
    from eifbench.influence.result_store import ResultStore


class StoredResults:
    """Finished influence results on disk, keyed by the model's weights, engine, recipe and run.

    Args:
        mode: the ``--eif-cache`` mode (``off`` never opens the store).
        digest_model: a loaded model's fingerprint (None: weights with no data here, never stored).

    """

    def __init__(self, mode: str, digest_model: Callable[[ModelSpec], str | None]) -> None:
        self.mode = mode
        self.store: ResultStore | None = None
        self._digest_model = digest_model
        self._fingerprints: dict[ModelSpec, str | None] = {}

    def _open(self) -> ResultStore | None:
        if self.mode == "off":
            return None
        if self.store is None:
            from eifbench.influence.result_store import ResultStore
            from eifbench.zoo.cache import cache_root

            self.store = ResultStore(cache_root() / "results", self.mode)
        return self.store

    def key(self, spec: ModelSpec, engine: str, recipe: FineTune, digest: str) -> dict[str, Any] | None:
        """Where the store keeps this run's result; None when the store is off or the model has no fingerprint."""
        store = self._open()
        if store is None:
            return None
        if spec not in self._fingerprints:  # ≈0.4 s for SmolLM2-135M: once per model
            self._fingerprints[spec] = self._digest_model(spec)
        fingerprint = self._fingerprints[spec]
        return None if fingerprint is None else store.key(fingerprint, engine, recipe, digest)

    def load(self, key: dict[str, Any] | None) -> InfluenceResult | None:
        """The stored result, if there is one (and the mode reads)."""
        return None if self.store is None or key is None else self.store.load(key)

    def save(self, key: dict[str, Any] | None, result: InfluenceResult) -> None:
        """Count a computed result, and keep it where the store has a key for it."""
        if self.store is not None:
            self.store.computed += 1
            if key is not None:
                self.store.save(key, result)

    def line(self) -> str | None:
        """What the store did this session, as one line (None when it is off or unused)."""
        return None if self.store is None else self.store.summary()
