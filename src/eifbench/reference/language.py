"""Reference language learners whose right verdicts are known by construction.

Each is a small ``nn.Module`` that the real engines fine-tune with SGD and read out as a
causal LM is read (the log-probability of a completion). A stimulus in context acts as
one training step of the same size would, for as long as it is in the prompt.

- ``LogicalLearner``: facts are parameters (one logit per proposition, one softmax per
  exclusive attribute) and read-outs deduce: "A wug is a kind of dog" makes "A wug is a
  kind of animal" true (world knowledge: dog < animal), a premise chain makes its
  conclusion true, a negation is ``log(1 - belief)``. It should pass everything.
- ``AssociativeLearner``: Hebbian word-pair associations. Training a statement links
  each word to every later word; a completion is as likely as its links to the words
  before it. It ignores "not", cannot chain and is symmetric, yet moves nothing that
  shares no word pair with the stimulus.
- ``SharedShiftLearner``: one logit for every statement, so training on anything moves
  every probe by the same amount. It must pass nothing.

Indices are handed out on first sight (``Vocabulary``) and every parameter starts at the
same value, so the order in which statements are first seen never changes a number.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from eifbench.bank.lexicon import HYPERNYMS, MONTHS, PLANETS, SIGNS, WEEKDAYS
from eifbench.errors import InputError
from eifbench.reference.parse import Proposition, parse, words

PRIOR = -8.0  # logit of a proposition nobody stated: p ~ 3e-4
PUSH = 10.0  # a fact in context moves its logit by what one lr-10 SGD step does
EDGE_DEPTH = 4  # longest chain of kind-of links followed
CLAMP = 1e-6
EXCLUSIVE_VALUES = {
    "month": tuple(v.lower() for v in MONTHS),
    "weekday": tuple(v.lower() for v in WEEKDAYS),
    "planet": tuple(v.lower() for v in PLANETS),
    "sign": tuple(v.lower() for v in SIGNS),
}
WORLD_ISA = dict(HYPERNYMS)  # hyponym -> hypernym: what the learner knows before training


class Vocabulary:
    """Keys -> consecutive indices below a fixed capacity."""

    def __init__(self, capacity: int, what: str) -> None:
        self.capacity = capacity
        self.what = what
        self.index: dict[object, int] = {}

    def __call__(self, key: object) -> int:
        """The key's index, handed out on first sight."""
        if key not in self.index:
            if len(self.index) >= self.capacity:
                raise InputError(f"the reference learner saw more than {self.capacity} {self.what}; load a new one.")
            self.index[key] = len(self.index)
        return self.index[key]


def statements(context: str | None) -> list[str]:
    """The statements of an in-context prefix (one per line or sentence)."""
    if not context:
        return []
    return [s for line in context.split("\n") for s in line.replace("!", ".").replace("?", ".").split(".") if s.strip()]


class LogicalLearner(nn.Module):
    """Propositions as logits, read out by deduction."""

    def __init__(self, capacity: int = 1 << 16) -> None:
        super().__init__()
        self.beliefs = nn.Parameter(torch.full((capacity,), PRIOR))
        self.exclusive = nn.Parameter(torch.zeros(capacity // 16, 12))
        self.slots = nn.Parameter(torch.full((capacity,), PRIOR))
        self.props = Vocabulary(capacity, "propositions")
        self.holders = Vocabulary(capacity // 16, "holders of exclusive attributes")
        self.texts = Vocabulary(capacity, "unparsed statements")
        self.known: dict[int, tuple[str, str, str]] = {}  # proposition index -> (relation, subject, object)

    def _prop(self, relation: str, subject: str, obj: str) -> int:
        index = self.props((relation, subject, obj))
        self.known.setdefault(index, (relation, subject, obj))
        return index

    def read(self, texts: Sequence[str], context: str | None = None, prompt_words: Sequence[int] = ()) -> torch.Tensor:
        """Log p of each statement (prompt + completion) given optional context; shape (n,).

        The whole proposition is read, whatever the prompt/completion split (``prompt_words``).
        """
        context_props = [p for p in map(parse, statements(context)) if p is not None and not p.negated]
        push = {
            self._prop(p.relation, p.subject, p.obj): PUSH for p in context_props if p.relation not in EXCLUSIVE_VALUES
        }
        logits: torch.Tensor = self.beliefs
        if push:
            logits = logits + torch.zeros_like(logits).index_fill_(0, torch.tensor(list(push)), PUSH)
        links = {relation: self._stated(logits, relation, push) for relation in ("isa", "has")}
        return torch.stack([self._read_one(text, logits, links, context_props) for text in texts])

    def _stated(
        self, logits: torch.Tensor, relation: str, push: dict[int, float]
    ) -> dict[str, list[tuple[str, torch.Tensor]]]:
        """Links of a relation that were stated (trained away from the prior, or in context)."""
        index = [i for i, (r, _, _) in self.known.items() if r == relation]
        out: dict[str, list[tuple[str, torch.Tensor]]] = {}
        if not index:
            return out
        moved = (self.beliefs.detach()[index] != PRIOR).tolist()
        for i, was_moved in zip(index, moved):
            if was_moved or i in push:
                _, subject, obj = self.known[i]
                out.setdefault(subject, []).append((obj, torch.sigmoid(logits[i])))
        return out

    def _read_one(
        self,
        text: str,
        logits: torch.Tensor,
        links: dict[str, dict[str, list[tuple[str, torch.Tensor]]]],
        context: list[Proposition],
    ) -> torch.Tensor:
        prop = parse(text)
        if prop is None:
            return nn.functional.logsigmoid(self.slots[self.texts(" ".join(words(text)))])
        if prop.relation in EXCLUSIVE_VALUES:
            return self._exclusive(prop, context)
        if prop.relation == "isa":
            belief = self._isa(prop.subject, prop.obj, logits, links["isa"])
        elif prop.relation == "has":
            belief = self._has(prop.subject, prop.obj, logits, links)
        else:
            belief = torch.sigmoid(logits[self._prop(prop.relation, prop.subject, prop.obj)])
        belief = belief.clamp(CLAMP, 1 - CLAMP)
        return torch.log1p(-belief) if prop.negated else torch.log(belief)

    def _isa(
        self, x: str, z: str, logits: torch.Tensor, links: dict[str, list[tuple[str, torch.Tensor]]]
    ) -> torch.Tensor:
        """Noisy-or of the direct belief and every chain x -> ... -> z of stated or known links."""
        miss = 1 - torch.sigmoid(logits[self._prop("isa", x, z)])
        stack: list[tuple[str, torch.Tensor, int, frozenset[str]]] = [(x, torch.ones(()), 0, frozenset({x}))]
        while stack:
            node, belief, depth, seen = stack.pop()
            out = [(target, edge, False) for target, edge in links.get(node, [])]
            if node in WORLD_ISA:
                out.append((WORLD_ISA[node], torch.ones(()), True))
            for target, edge, world in out:
                if target in seen:
                    continue
                if target == z:
                    if depth > 0 or world:  # a one-link stated chain is the direct belief itself
                        miss = miss * (1 - belief * edge)
                elif depth + 1 < EDGE_DEPTH:
                    stack.append((target, belief * edge, depth + 1, seen | {target}))
        return 1 - miss

    def _has(
        self, x: str, p: str, logits: torch.Tensor, links: dict[str, dict[str, list[tuple[str, torch.Tensor]]]]
    ) -> torch.Tensor:
        """Noisy-or of the direct belief and "x is a kind of c" x "all c have p" for stated rules."""
        miss = 1 - torch.sigmoid(logits[self._prop("has", x, p)])
        for category, rules in links["has"].items():
            for prop, rule in rules:
                if prop == p and category != x:
                    miss = miss * (1 - self._isa(x, category, logits, links["isa"]) * rule)
        return 1 - miss

    def _exclusive(self, prop: Proposition, context: list[Proposition]) -> torch.Tensor:
        values = EXCLUSIVE_VALUES[prop.relation]
        if prop.obj not in values:
            raise InputError(f"{prop.obj!r} is not a value of the exclusive attribute {prop.relation!r}")
        logits = self.exclusive[self.holders((prop.relation, prop.subject))][: len(values)]
        for stated in context:
            if (stated.relation, stated.subject) == (prop.relation, prop.subject) and stated.obj in values:
                logits = logits + PUSH * nn.functional.one_hot(torch.tensor(values.index(stated.obj)), len(values))
        log_p = torch.log_softmax(logits, dim=0)[values.index(prop.obj)]
        return torch.log1p(-log_p.exp().clamp(max=1 - CLAMP)) if prop.negated else log_p


ASSOCIATION_BIAS = -3.0  # log-odds of a completion with no association: p ~ 0.05


class AssociativeLearner(nn.Module):
    """Hebbian word-pair links: p(word | words before) = sigmoid(bias + sum of links)."""

    def __init__(self, capacity: int = 1 << 18) -> None:
        super().__init__()
        self.links = nn.Parameter(torch.zeros(capacity))
        self.pairs = Vocabulary(capacity, "word pairs")
        self._plans: dict[tuple[str, int], tuple[torch.Tensor, torch.Tensor, int]] = {}

    def _plan(self, text: str, prompt_words: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        """For each read word, the link indices to the words before it, flattened with positions."""
        key = (text, prompt_words)
        if key not in self._plans:
            said = words(text)
            links, positions = [], []
            for j in range(max(1, prompt_words), len(said)):
                for w in said[:j]:
                    links.append(self.pairs((w, said[j])))
                    positions.append(j)
            first = max(1, prompt_words)
            self._plans[key] = (
                torch.tensor(links, dtype=torch.long),
                torch.tensor(positions, dtype=torch.long) - first,
                len(said) - first,
            )
        return self._plans[key]

    def read(self, texts: Sequence[str], context: str | None = None, prompt_words: Sequence[int] = ()) -> torch.Tensor:
        """Summed log p of each text's completion words given the words before them; shape (n,).

        ``prompt_words[i]`` is how many leading words of ``texts[i]`` are prompt (not read).
        Context words act as one training step on their own pairs, for as long as they are
        in the prompt.
        """
        weights: torch.Tensor = self.links
        pushed = self._context_pairs(context)
        if pushed:
            weights = weights + torch.zeros_like(weights).index_put_(
                (torch.tensor(list(pushed)),), torch.tensor(list(pushed.values()))
            )
        out = []
        for i, text in enumerate(texts):
            links, positions, count = self._plan(text, prompt_words[i] if prompt_words else 1)
            scores = torch.zeros(count).index_add_(0, positions, weights[links])
            out.append(nn.functional.logsigmoid(ASSOCIATION_BIAS + scores).sum())
        return torch.stack(out)

    def _context_pairs(self, context: str | None) -> dict[int, float]:
        pushed: dict[int, float] = {}
        for sentence in statements(context):
            said = words(sentence)
            for j in range(1, len(said)):
                for w in said[:j]:
                    index = self.pairs((w, said[j]))
                    pushed[index] = pushed.get(index, 0.0) + 1.0
        return pushed


class SharedShiftLearner(nn.Module):
    """One logit for every statement: whatever is trained, every probe moves alike."""

    def __init__(self) -> None:
        super().__init__()
        self.shift = nn.Parameter(torch.tensor(ASSOCIATION_BIAS))

    def read(self, texts: Sequence[str], context: str | None = None, prompt_words: Sequence[int] = ()) -> torch.Tensor:
        """The same log p for every text, whatever the context says; shape (n,)."""
        return nn.functional.logsigmoid(self.shift).expand(len(texts)).clone()
