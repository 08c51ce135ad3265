"""Loaders of the reference learners (``ref-logical`` etc.): see ``eifbench.reference``."""

from __future__ import annotations

from eifbench.adapters.classifier import ClassifierAdapter
from eifbench.reference import (
    AssociativeLearner,
    BrightnessLearner,
    ContextFreeLearner,
    GlobalImageLearner,
    LocalImageLearner,
    LogicalLearner,
    PositionalBlindLearner,
    ReferenceLMAdapter,
    SharedShiftLearner,
)
from eifbench.zoo.specs import ModelSpec

IMAGE_SHAPE = (1, 28, 28)


def load_logical(spec: ModelSpec) -> ReferenceLMAdapter:
    """The deductive reference learner."""
    return ReferenceLMAdapter(LogicalLearner(), name=spec.text)


def load_associative(spec: ModelSpec) -> ReferenceLMAdapter:
    """The word-pair (Hebbian) reference learner."""
    return ReferenceLMAdapter(AssociativeLearner(), name=spec.text)


def load_shift(spec: ModelSpec) -> ReferenceLMAdapter:
    """The shared-shift reference learner."""
    return ReferenceLMAdapter(SharedShiftLearner(), name=spec.text)


def load_context_free(spec: ModelSpec) -> ReferenceLMAdapter:
    """The context-free (bias-only, 0-layer) reference learner: a control that reads nothing."""
    return ReferenceLMAdapter(ContextFreeLearner(), name=spec.text)


def load_position(spec: ModelSpec) -> ReferenceLMAdapter:
    """The context-blind, position-aware reference learner: a control that reads only word counts."""
    return ReferenceLMAdapter(PositionalBlindLearner(), name=spec.text)


def load_local(spec: ModelSpec) -> ClassifierAdapter:
    """The local (RBF) image reference learner."""
    return ClassifierAdapter(LocalImageLearner(IMAGE_SHAPE), input_shape=IMAGE_SHAPE, num_classes=10, name=spec.text)


def load_global(spec: ModelSpec) -> ClassifierAdapter:
    """The global (class-bias) image reference learner."""
    return ClassifierAdapter(GlobalImageLearner(), input_shape=IMAGE_SHAPE, num_classes=10, name=spec.text)


def load_brightness(spec: ModelSpec) -> ClassifierAdapter:
    """The mean-brightness image reference learner: a control that sees one global scalar."""
    return ClassifierAdapter(BrightnessLearner(), input_shape=IMAGE_SHAPE, num_classes=10, name=spec.text)
