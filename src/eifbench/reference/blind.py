"""Reference language learners that cannot read their input: controls every metric must fail.

A causal LM reads a completion given the words before it. These two learners do not: what
they predict for a word never depends on which words came before, so nothing a stimulus
says can reach a probe through its meaning. Fine-tuning still moves them (one step raises
the trained words wherever they appear), so their influence matrices are not zero, only
blind.

- ``ContextFreeLearner``: a 0-layer LM, one learned bias over the word vocabulary. A
  completion's read-out is the same under every prompt and every context. One step on a
  statement raises its words and lowers every other word, under every prompt alike: a
  probe moves by what its completion words are, never by what its prompt asks. So a
  probe that merely ends in a trained word (an unrelated fact with the same object, a
  negation, the reverse of an entailment) moves exactly as the fact's own probe does,
  and in context nothing moves at all. What it can do is exactly what a metric could
  mistake for reading: move the trained completion word.
- ``PositionalBlindLearner``: context-blind but position-aware. The word at absolute
  position t is predicted by ``bias + position_bias[t]``; a context's words count first,
  so putting any text of the same word count in front of a probe gives the very same
  read-out, and a different word count a different one. It checks that the in-context
  control (a neutral passage of the stimulus's length) cancels what length alone does:
  a metric that credits this learner with anything in context is measuring length.

They are controls: each must pass none of distance, sparseness, noise invariance,
transitivity, logical consistency or asymmetry, after fine-tuning or in context. A PASS
for either means a metric rewards something other than reading (shared completion words,
length). Like the other reference learners, indices are handed out on first sight
(``Vocabulary``) and every word's parameters start at the same value, so the order in
which words are first seen never changes a number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from eifbench.reference.language import Vocabulary
from eifbench.reference.parse import words

WORD_CAPACITY = 1 << 13  # distinct words one learner can see (a full suite run at one seed sees ~820)
MAX_POSITIONS = 48  # positions with their own logits (the suite reaches 24); later ones share the last
END = 0  # the positional learner's reserved end-of-text entry (never a word)
END_MIDPOINT = 16.0  # position where the text is as likely to end as to go on, before training
END_SCALE = 4.0  # positions per unit of end-of-text log-odds


def completion(text: str, prompt_words: int) -> tuple[str, ...]:
    """The words of ``text`` after its first ``prompt_words`` words (those a read-out scores)."""
    return words(text)[prompt_words:]


def _prompt(prompt_words: Sequence[int], i: int) -> int:
    """How many leading words of text ``i`` are prompt (1 when not given, as for a statement)."""
    return prompt_words[i] if prompt_words else 1


class ContextFreeLearner(nn.Module):
    """``p(word | anything) = softmax(bias)[word]``: one learned bias, no input at all."""

    def __init__(self, capacity: int = WORD_CAPACITY) -> None:
        """Build an untrained learner: every word of the vocabulary equally likely.

        Args:
            capacity: the vocabulary size; the softmax always runs over all of it.

        """
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(capacity))
        self.vocabulary = Vocabulary(capacity, "words")
        self._plans: dict[tuple[str, int], torch.Tensor] = {}

    def _plan(self, text: str, prompt_words: int) -> torch.Tensor:
        """The vocabulary indices of a text's completion words (cached)."""
        key = (text, prompt_words)
        if key not in self._plans:
            said = completion(text, prompt_words)
            self._plans[key] = torch.tensor([self.vocabulary(w) for w in said], dtype=torch.long)
        return self._plans[key]

    def read(self, texts: Sequence[str], context: str | None = None, prompt_words: Sequence[int] = ()) -> torch.Tensor:
        """Summed log p of each text's completion words; shape (n,).

        Args:
            texts: prompt + completion, one string each.
            context: ignored: this learner cannot see it.
            prompt_words: ``prompt_words[i]`` leading words of ``texts[i]`` are prompt (not read).

        Returns:
            The sum over completion words of ``log_softmax(bias)[word]``, whatever the
            prompt or context.

        """
        log_p = torch.log_softmax(self.bias, dim=0)
        return torch.stack([log_p[self._plan(text, _prompt(prompt_words, i))].sum() for i, text in enumerate(texts)])


def end_prior(max_positions: int, capacity: int) -> torch.Tensor:
    """Initial ``position_bias``: zero for every word, a rising end-of-text logit in column ``END``.

    Every word entry starts at zero, so the order of first sight changes nothing; the only
    thing that varies with position is how likely the text is to end there (the longer it
    is, the likelier), which is what makes a word's read-out depend on its position before
    any training: at position t a word has log p ``log(1 - sigmoid((t - 16) / 4)) - log(capacity - 1)``.
    """
    prior = torch.zeros(max_positions, capacity)
    t = torch.arange(max_positions, dtype=torch.float32)
    prior[:, END] = math.log(capacity - 1) + (t - END_MIDPOINT) / END_SCALE
    return prior


class PositionalBlindLearner(nn.Module):
    """``p(word at position t | anything) = softmax(bias + position_bias[t])[word]``.

    ``position_bias`` is a full (positions, vocabulary) table: 48 x 8192 = 393k floats. A
    low-rank factorisation would be cheaper, but a product of two tables that start
    word-symmetric has no gradient that singles out a word, so one step could not teach
    "this word at this position"; the full table can, and stays well under a megabyte
    and a half.
    """

    def __init__(self, capacity: int = WORD_CAPACITY, max_positions: int = MAX_POSITIONS) -> None:
        """Build an untrained learner.

        Args:
            capacity: the vocabulary size, the reserved end-of-text entry included.
            max_positions: positions with their own logits; later ones clamp to the last.

        """
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(capacity))
        self.position_bias = nn.Parameter(end_prior(max_positions, capacity))
        self.vocabulary = Vocabulary(capacity - 1, "words")  # entry END is not a word
        self._plans: dict[tuple[str, int, int], tuple[torch.Tensor, torch.Tensor]] = {}

    def _plan(self, text: str, prompt_words: int, offset: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Clamped absolute positions and vocabulary indices of a text's completion words."""
        key = (text, prompt_words, offset)
        if key not in self._plans:
            said = completion(text, prompt_words)
            last = self.position_bias.shape[0] - 1
            start = offset + len(words(text)) - len(said)
            positions = [min(start + j, last) for j in range(len(said))]
            index = [1 + self.vocabulary(w) for w in said]
            self._plans[key] = (torch.tensor(positions, dtype=torch.long), torch.tensor(index, dtype=torch.long))
        return self._plans[key]

    def read(self, texts: Sequence[str], context: str | None = None, prompt_words: Sequence[int] = ()) -> torch.Tensor:
        """Summed log p of each text's completion words at their absolute positions; shape (n,).

        Args:
            texts: prompt + completion, one string each.
            context: only its word count is used: the text's words come after it.
            prompt_words: ``prompt_words[i]`` leading words of ``texts[i]`` are prompt (not read).

        Returns:
            The sum over completion words of ``log_softmax(bias + position_bias[t])[word]``,
            t counting the context's words first.

        """
        offset = len(words(context)) if context else 0
        log_p = torch.log_softmax(self.bias + self.position_bias, dim=1)  # (positions, capacity)
        out = []
        for i, text in enumerate(texts):
            positions, index = self._plan(text, _prompt(prompt_words, i), offset)
            out.append(log_p[positions, index].sum())
        return torch.stack(out)
