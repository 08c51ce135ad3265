"""Spread stimuli over a pool of Ray actors, each holding one replica of the model.

Each actor loads the model from its spec (so nothing big crosses the wire), runs the
ordinary local engine on its share of the stimuli, and returns influence rows; the pool
stitches them back in order. The baseline read-out comes from the first actor. Actors use
the driver's torch thread count, so CPU results are bit-identical to a local run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from eifbench.errors import EifError
from eifbench.finetune import FineTune


class _Replica:
    """One model replica (the body of a Ray actor)."""

    def __init__(self, spec: str, model_args: Any, threads: int) -> None:
        torch.set_num_threads(threads)
        from eifbench.zoo import load_model

        self.model = load_model(spec, model_args)

    def rows(self, stimuli: list[Any], probes: list[Any], engine: str, recipe: FineTune) -> tuple[Any, Any, dict]:
        from eifbench.influence import influence

        result = influence(self.model, stimuli, probes, engine=engine, finetune=recipe)
        return result.matrix, result.baseline, result.failures


class RayPool:
    """A pool of Ray actors for one model spec.

    Args:
        spec: the model spec each actor loads (``load_model(spec, model_args)``).
        model_args: model args, as for ``load_model``.
        address: ``"local"`` starts a Ray instance in this process; anything else is passed
            to ``ray.init(address=...)`` (e.g. ``"auto"`` or ``"ray://head:10001"``).
        actors: replicas to start (default: one per CPU of the cluster, at most 8).
        cpus_per_actor: CPUs each actor reserves; a fraction lets pools of several models
            share a cluster without waiting on each other.
        gpus_per_actor: GPUs each actor reserves (0 on CPU clusters).

    """

    def __init__(
        self,
        spec: str,
        model_args: Any = None,
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
        threads = torch.get_num_threads()
        self._ray = ray
        self.actors = [remote.remote(spec, model_args, threads) for _ in range(count)]

    def influence(
        self, stimuli: Sequence[Any], probes: Sequence[Any], engine: str, recipe: FineTune
    ) -> tuple[torch.Tensor, torch.Tensor, dict[int, str]]:
        """Rows for every stimulus, in order: ``(matrix (n_s, n_p), baseline (n_p,), failures)``."""
        items = list(stimuli)
        shares = [items[i :: len(self.actors)] for i in range(len(self.actors))]
        futures = [a.rows.remote(share, list(probes), engine, recipe) for a, share in zip(self.actors, shares) if share]
        results = self._ray.get(futures)
        matrix = torch.empty(len(items), len(probes))
        failures: dict[int, str] = {}
        for offset, (rows, _, failed) in enumerate(results):
            matrix[offset :: len(self.actors)] = rows
            failures.update({offset + i * len(self.actors): reason for i, reason in failed.items()})
        return matrix, results[0][1], failures

    def close(self) -> None:
        """Stop the actors."""
        for actor in self.actors:
            self._ray.kill(actor)
