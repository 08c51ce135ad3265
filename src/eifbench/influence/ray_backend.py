"""Spread stimuli over a pool of Ray actors, each holding one replica of the model.

Each actor loads the model from its spec (so nothing big crosses the wire), runs the
ordinary local engine on its share of the stimuli, and returns an ``InfluenceResult``;
the pool stitches the rows back in order. Actors use the driver's torch thread count, so
CPU results are bit-identical to a local run.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from eifbench.errors import EifError
from eifbench.finetune import FineTune
from eifbench.influence import InfluenceResult
from eifbench.progress import Progress
from eifbench.zoo.specs import ModelSpec


class _Replica:
    """One model replica (the body of a Ray actor)."""

    def __init__(self, spec: ModelSpec, threads: int) -> None:
        torch.set_num_threads(threads)
        from eifbench.zoo import load_model

        self.model = load_model(spec)

    def rows(
        self,
        stimuli: list[Any],
        probes: list[Any],
        engine: str,
        recipe: FineTune,
        mask: Any,
        paranoid: bool,
        rows: list[int] | None = None,
    ) -> InfluenceResult:
        from eifbench.influence import influence

        return influence(
            self.model, stimuli, probes, engine=engine, finetune=recipe, mask=mask, paranoid=paranoid, rows=rows
        )


class RayPool:
    """A pool of Ray actors for one model spec.

    Args:
        spec: the model spec each actor loads.
        address: ``"local"`` starts a Ray instance in this process; anything else is passed
            to ``ray.init(address=...)`` (e.g. ``"auto"`` or ``"ray://head:10001"``).
        actors: replicas to start (default: one per CPU of the cluster, at most 8).
        cpus_per_actor: CPUs each actor reserves; a fraction lets pools of several models
            share a cluster without waiting on each other.
        gpus_per_actor: GPUs each actor reserves (0 on CPU clusters).

    """

    def __init__(
        self,
        spec: ModelSpec,
        *,
        address: str = "local",
        actors: int | None = None,
        cpus_per_actor: float = 1.0,
        gpus_per_actor: float = 0.0,
    ) -> None:
        try:
            import ray
        except ImportError as error:
            raise EifError("The Ray backend needs ray: pip install 'eifbench[ray]'.") from error
        if not ray.is_initialized():
            if address == "local":
                ray.init(include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=address, log_to_driver=False)
        count = actors or max(1, min(8, int(ray.cluster_resources().get("CPU", 1))))
        remote = ray.remote(num_cpus=cpus_per_actor, num_gpus=gpus_per_actor)(_Replica)
        self._ray = ray
        # Any: ray types an actor handle's methods as plain methods, without their `.remote`
        self.actors: list[Any] = [remote.remote(spec, torch.get_num_threads()) for _ in range(count)]

    def influence(
        self,
        stimuli: Sequence[Any],
        probes: Sequence[Any],
        engine: str,
        recipe: FineTune,
        *,
        mask: np.ndarray | None = None,
        paranoid: bool = False,
        progress: Progress | None = None,
    ) -> InfluenceResult:
        """Every stimulus's row, in order, as one InfluenceResult; progress as each actor's share ends."""
        start = time.perf_counter()
        items = list(stimuli)
        k = len(self.actors)
        # in context, every actor gets the whole run and computes its rows: the neutral read-outs
        # stimuli share are planned over the whole run, as a serial run plans them
        whole = engine == "in-context"
        futures = [
            actor.rows.remote(items, list(probes), engine, recipe, mask, paranoid, list(range(len(items)))[i::k])
            if whole
            else actor.rows.remote(
                items[i::k], list(probes), engine, recipe, None if mask is None else mask[i::k], paranoid
            )
            for i, actor in enumerate(self.actors)
            if items[i::k]
        ]
        pending, done = list(futures), 0
        while pending:
            finished, pending = self._ray.wait(pending, num_returns=1)
            done += sum(len(items[futures.index(f) :: k]) for f in finished)
            if progress is not None:
                progress(done, len(items))
        results: list[InfluenceResult] = self._ray.get(futures)
        dtype = results[0].matrix.dtype
        matrix = torch.empty(len(items), len(probes), dtype=dtype)
        reference = None if results[0].reference is None else torch.empty(len(items), len(probes), dtype=dtype)
        failures: dict[int, str] = {}
        for offset, part in enumerate(results):
            own = slice(offset, None, k) if whole else slice(None)
            matrix[offset::k] = part.matrix[own]
            if reference is not None and part.reference is not None:
                reference[offset::k] = part.reference[own]
            failures.update({(i if whole else offset + i * k): reason for i, reason in part.failures.items()})
        return InfluenceResult(
            matrix,
            results[0].baseline,
            time.perf_counter() - start,
            engine,
            recipe,
            failures,
            reference,
            batched=max(part.batched for part in results),
            precision=results[0].precision,
        )

    def close(self) -> None:
        """Stop the actors."""
        for actor in self.actors:
            self._ray.kill(actor)
        self.actors = []
