"""The verdict each reference learner must get, by construction (asserted in CI, shown in the README).

Why each row holds:

- ``ref-logical`` deduces exactly what a statement entails: its paraphrases and typos
  state the same proposition (distance, noise), nothing else moves (sparseness, spill),
  premise chains give their conclusion (transitivity), negations and exclusive
  alternatives fall (consistency), "a kind of dog" gives "a kind of animal" and not the
  reverse (asymmetry). The same in context: a stated fact acts as one training step.
- ``ref-associative`` links words that co-occur: a paraphrase or a typo shares most word
  pairs with its fact and nothing else does, so distance, sparseness and noise pass; but
  "not" is one more word (consistency fails), links do not chain (transitivity fails),
  and co-occurrence is symmetric (asymmetry fails).
- ``ref-shift`` moves every statement alike: nothing is specific, so every desideratum
  fails after fine-tuning; in context the neutral control moves the same, so no stimulus
  raises its own probe: "no in-context learning", a FAIL.
- ``ref-local`` (an RBF kernel machine on pixels) moves images near the trained one and
  nothing far: everything that applies to images passes.
- ``ref-global`` (class biases only) moves every image of a class alike: no within-class
  order (distance), other classes move too (sparseness), a noised copy teaches no more
  than any same-class image and noise images teach their class (noise), and chains carry
  nothing beyond class (transitivity).
- ``ref-context-free`` (one learned bias over words; no prompt, no context) raises the
  trained words after every prompt: the completion-matched probes move as much as the
  paraphrase (distance, contrast 0), every nonce-prompt completion probe moves
  (sparseness 0.5), a nonce statement with the same object teaches the fact as much as
  its noised copy (noise 0); it learns nothing from its context.
- ``ref-position`` (a word bias per absolute position) can tell where a word is, not what
  came before it: the same failures, and in context a neutral passage of the same token
  length moves it exactly as the stimulus does.
- ``ref-brightness`` (logits from mean brightness) ranks same-class images by how close
  their brightness is, so distance's rank correlation passes (-0.80), but every level
  moves nearly alike: the contrast (0.02) fails it; every image moves (sparseness), a
  noised copy teaches no more than another image of its class (noise).
"""

from __future__ import annotations

from eifbench.desiderata.base import Status
from eifbench.desiderata.registry import BUILT_IN

P, F, NA = Status.PASS, Status.FAIL, Status.NOT_APPLICABLE


def _row(*statuses: Status) -> dict[str, Status]:
    """One verdict per built-in desideratum, in the registry's order; a missing or extra one is an error."""
    return dict(zip(BUILT_IN, statuses, strict=True))


EXPECTED: dict[tuple[str, str], dict[str, Status]] = {
    ("ref-logical", "finetune"): _row(P, P, P, P, P, P),
    ("ref-logical", "in-context"): _row(P, P, P, P, P, P),
    ("ref-associative", "finetune"): _row(P, P, P, F, F, F),
    ("ref-associative", "in-context"): _row(P, P, P, F, F, F),
    ("ref-shift", "finetune"): _row(F, F, F, F, F, F),
    ("ref-shift", "in-context"): _row(F, F, F, F, F, F),
    ("ref-local", "finetune"): _row(P, P, P, P, NA, NA),
    ("ref-local", "in-context"): _row(NA, NA, NA, NA, NA, NA),
    ("ref-global", "finetune"): _row(F, F, F, F, NA, NA),
    ("ref-global", "in-context"): _row(NA, NA, NA, NA, NA, NA),
    ("ref-context-free", "finetune"): _row(F, F, F, F, F, F),
    ("ref-context-free", "in-context"): _row(F, F, F, F, F, F),
    ("ref-position", "finetune"): _row(F, F, F, F, F, F),
    ("ref-position", "in-context"): _row(F, F, F, F, F, F),
    ("ref-brightness", "finetune"): _row(F, F, F, F, NA, NA),
    ("ref-brightness", "in-context"): _row(NA, NA, NA, NA, NA, NA),
}
REFERENCE_MODELS = (
    "ref-logical",
    "ref-associative",
    "ref-shift",
    "ref-local",
    "ref-global",
    "ref-context-free",
    "ref-position",
    "ref-brightness",
)
