"""The on-disk cache of built models: keyed by spec + version, written atomically."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def cache_root() -> Path:
    """``$EIFBENCH_CACHE``, else ``~/.cache/eifbench``."""
    return Path(os.environ.get("EIFBENCH_CACHE", Path.home() / ".cache" / "eifbench"))


def entry_path(key: str) -> Path:
    """The folder of one cache entry, e.g. ``fashion-cnn-v1``."""
    return cache_root() / key


@contextlib.contextmanager
def atomic_folder(final: Path) -> Iterator[Path]:
    """Yield a scratch folder; on success it replaces ``final`` in one rename.

    A crash midway leaves only a scratch folder, never a half-written entry.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        yield scratch
        if final.exists():
            shutil.rmtree(final)
        os.replace(scratch, final)
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)


def discard(entry: Path) -> None:
    """Remove a corrupt entry so it is rebuilt."""
    shutil.rmtree(entry, ignore_errors=True)


STALE_SCRATCH_SECONDS = 3600.0


def discard_scratch(final: Path) -> None:
    """Remove scratch folders of ``final`` left by a killed build (older than an hour)."""
    if not final.parent.is_dir():
        return
    now = time.time()
    for scratch in final.parent.glob(f".{final.name}.*"):
        if scratch.is_dir() and now - scratch.stat().st_mtime > STALE_SCRATCH_SECONDS:
            shutil.rmtree(scratch, ignore_errors=True)


def announce(line: str) -> None:
    """One line of first-use work (training, converting) on the real stderr: a minute of it is never silent."""
    stream = sys.__stderr__
    if stream is not None:
        stream.write(f"[eifbench] {line}\n")
        stream.flush()
