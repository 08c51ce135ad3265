"""Model kinds: what a model takes and reads out, which decides the tasks it can run."""

from __future__ import annotations

from enum import Enum


class ModelKind(str, Enum):
    """The kind of a model adapter (a ``str`` enum, so records and TOML stay plain strings).

    - ``classifier``: tensors in, class logits out (image classifiers of any input shape).
    - ``causal-lm``: text in, next-token log-probabilities out; reads completions.
    - ``seq2seq-lm``: an encoder-decoder LM; reads the completion as the decoder target.
    - ``text-classifier``: text in, class logits out.
    """

    CLASSIFIER = "classifier"
    CAUSAL_LM = "causal-lm"
    SEQ2SEQ_LM = "seq2seq-lm"
    TEXT_CLASSIFIER = "text-classifier"

    def __str__(self) -> str:
        return self.value

    @property
    def reads_completions(self) -> bool:
        """Language models: stimuli are statements, probes are prompt/completion pairs."""
        return self in LANGUAGE_KINDS

    @property
    def reads_stimuli_file(self) -> bool:
        """Language models read facts and text classifiers labelled sentences; images come from the package."""
        return self != ModelKind.CLASSIFIER

    @property
    def takes_context(self) -> bool:
        """Whether a stimulus can be put in the prompt instead of the weights (in-context)."""
        return self.reads_completions


# the kinds that read prompt/completion probes (their builders are the same functions)
LANGUAGE_KINDS = (ModelKind.CAUSAL_LM, ModelKind.SEQ2SEQ_LM)
