"""What each pytest-xdist worker takes of the machine: its own GPU, and its share of the CPU cores."""

from __future__ import annotations

import os
from collections.abc import Mapping


def worker_device(worker: str | None, cuda_count: int | None = None) -> str | None:
    """``cuda:i`` for xdist worker ``gw<n>`` when more than one GPU is visible, else None."""
    if not worker or not worker.startswith("gw"):
        return None
    if cuda_count is None:
        import torch

        cuda_count = torch.cuda.device_count()
    if cuda_count < 2:
        return None
    return f"cuda:{int(worker[2:]) % cuda_count}"


def threads_per_worker(workers: int, cores: int) -> int:
    """Intra-op threads for each of ``workers`` processes sharing ``cores`` cores: their share, at least 1.

    Two torch processes that each take every core thrash rather than share: on 2 cores,
    ``-n 2`` with 2 threads each ran slower than one process, not faster.
    """
    return max(1, cores // max(1, workers))


def share_cores(environ: Mapping[str, str] = os.environ) -> int | None:
    """Under pytest-xdist, give torch this worker's share of the cores; returns the threads set.

    Nothing changes outside xdist, with one worker, or when ``OMP_NUM_THREADS`` says what the
    user wants (torch reads it itself).
    """
    workers = int(environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
    if workers < 2 or environ.get("OMP_NUM_THREADS"):
        return None
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = threads_per_worker(workers, cores)
    torch.set_num_threads(threads)
    return threads
