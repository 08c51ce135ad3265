"""One exception family, so callers can catch ``EifError`` and the CLI can print one line.

Every message says what went wrong *and* what to do about it.
"""

from __future__ import annotations


class EifError(Exception):
    """Base class of every error eifbench raises for a user's mistake or a missing asset."""


class ModelSpecError(EifError, ValueError):
    """A model spec names no known model, a path that is missing, or a model of the wrong kind."""


class AssetMissingError(EifError, FileNotFoundError):
    """A packaged asset (weights, dataset) that a built-in spec needs is not installed."""


class InputError(EifError, ValueError):
    """Stimuli or probes of the wrong shape, type, label range, or an empty list."""


class FineTuneDivergedError(EifError, FloatingPointError):
    """The fine-tuning loss became NaN or infinite; the weights were restored."""


class DeviceMemoryError(EifError, MemoryError):
    """The device ran out of memory; the message says what to reduce."""


class BaselineError(EifError, ValueError):
    """A baseline or report file is corrupt, of another schema version, or another recipe."""


class StimuliFileError(EifError, ValueError):
    """A user stimuli file (``--eif-stimuli``) is missing, unreadable or lacks columns."""


class RestoreError(EifError, RuntimeError):
    """``paranoid=True`` found weights that differ from theta_0 after a restore (a bug: report it)."""


class IncompleteReportError(BaselineError):
    """A report or baseline that does not hold every result its run selected (crashed or interrupted tests)."""
