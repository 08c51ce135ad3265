"""Reference learners: small models whose right verdict on every desideratum is known.

They run through the real engines and the real suite (``--eif-model ref-logical`` etc.),
so a metric that gives any of them the wrong verdict is wrong. The verdict table they
must produce lives in ``EXPECTED`` and in the README; ``tests/test_reference.py``
asserts it.
"""

from __future__ import annotations

from eifbench.reference.adapter import ReferenceLMAdapter
from eifbench.reference.blind import ContextFreeLearner, PositionalBlindLearner
from eifbench.reference.images import BrightnessLearner, GlobalImageLearner, LocalImageLearner
from eifbench.reference.language import AssociativeLearner, LogicalLearner, SharedShiftLearner

__all__ = [
    "ReferenceLMAdapter",
    "LogicalLearner",
    "AssociativeLearner",
    "SharedShiftLearner",
    "ContextFreeLearner",
    "PositionalBlindLearner",
    "LocalImageLearner",
    "GlobalImageLearner",
    "BrightnessLearner",
]
