"""Progress of long influence runs: a one-line counter on a TTY, a heartbeat line in CI logs."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import TextIO

Progress = Callable[[int, int], None]
HEARTBEAT_SECONDS = 30.0


def terminal_progress(label: str, stream: TextIO | None = None, min_seconds: float = 1.0) -> Progress | None:
    """A ``progress(done, total)`` callback that rewrites one line, or None when not a TTY.

    Args:
        label: what is running, e.g. ``smollm2 · distance``.
        stream: where to write; the real stderr by default (pytest captures sys.stderr).
        min_seconds: stay quiet for runs shorter than this.

    """
    out = stream if stream is not None else sys.__stderr__
    if out is None or not out.isatty():
        return None
    start = time.perf_counter()

    def progress(done: int, total: int) -> None:
        elapsed = time.perf_counter() - start
        if elapsed < min_seconds and done < total:
            return
        rate = done / elapsed if elapsed > 0 else 0.0
        end = "\r\033[K" if done == total else ""
        out.write(f"\r\033[K[eifbench] {label}: {done}/{total} stimuli ({rate:.1f}/s){end}")
        out.flush()

    return progress


def heartbeat_seconds() -> float:
    """Seconds between heartbeat lines: ``$EIFBENCH_HEARTBEAT_SECONDS``, else 30."""
    raw = os.environ.get("EIFBENCH_HEARTBEAT_SECONDS", "")
    try:
        return max(0.0, float(raw)) if raw else HEARTBEAT_SECONDS
    except ValueError:
        return HEARTBEAT_SECONDS


def heartbeat_progress(label: str, stream: TextIO | None = None, every: float | None = None) -> Progress:
    """A callback for logs (no TTY): at most one line every ``every`` seconds of a long run.

    Each line has the stimuli done, the rate and the time left at that rate, e.g.
    ``[eifbench] smollm2-finetune · test_distance: 12/36 stimuli, 0.41/s, ETA 59s (29s)``.
    """
    out = stream if stream is not None else sys.__stderr__
    interval = heartbeat_seconds() if every is None else every
    start = last = time.perf_counter()

    def progress(done: int, total: int) -> None:
        nonlocal last
        now = time.perf_counter()
        if now - last >= interval and done < total and out is not None:
            elapsed = now - start
            rate = done / elapsed if elapsed > 0 else 0.0
            eta = f"ETA {(total - done) / rate:.0f}s" if rate > 0 else "ETA unknown"
            out.write(f"[eifbench] {label}: {done}/{total} stimuli, {rate:.2f}/s, {eta} ({elapsed:.0f}s)\n")
            out.flush()
            last = now

    return progress


def progress_for(label: str, stream: TextIO | None = None) -> Progress | None:
    """The counter on a TTY, else the heartbeat."""
    return terminal_progress(label, stream) or heartbeat_progress(label, stream)
