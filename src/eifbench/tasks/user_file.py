"""The language-model tasks built from a user's facts (``--eif-stimuli``), same layouts as the bank's.

Each desideratum uses the rows that have the columns it needs (README schema); with fewer
than two such rows it is not applicable, and the record says which columns are missing.
"""

from __future__ import annotations

import numpy as np

from eifbench.bank.draws import Draws
from eifbench.bank.items import gibberish, nonce_prompts, world_probes
from eifbench.bank.language import noisy_text
from eifbench.stimuli import Chain, Example, Text
from eifbench.tasks import layouts
from eifbench.tasks.base import Run, Task, TaskNotApplicable, TaskSpec, as_stimulus, one_hot_mask, sensitivity_run
from eifbench.tasks.stimuli_file import file_digest, premises_of, read_stimuli_file, schema_of

Row = dict[str, str]


def _rows(spec: TaskSpec, desideratum: str, *columns: str) -> list[Row]:
    assert spec.stimuli_file is not None
    if schema_of(read_stimuli_file(spec.stimuli_file)) == "labelled":
        raise TaskNotApplicable(
            f"{spec.stimuli_file} holds labelled sentences (text, label) for a text classifier; a {spec.kind} "
            "needs facts (prompt, completion)"
        )
    rows = [r for r in read_stimuli_file(spec.stimuli_file) if all(r.get(c) for c in columns)][: spec.items]
    if len(rows) < 2:
        raise TaskNotApplicable(
            f"{desideratum} needs at least 2 rows of {spec.stimuli_file} with the column(s) {list(columns)}; "
            f"{len(rows)} have them"
        )
    return rows


def _fact(row: Row, prompt: str = "prompt", completion: str = "completion") -> Example:
    return Example(row[prompt], row[completion])


def _task(spec: TaskSpec, name: str, runs: dict[str, Run], layout: object, rows: list[Row]) -> Task:  # type: ignore[type-arg]
    assert spec.stimuli_file is not None
    labels = tuple(f"{r['prompt']}{r['completion']}" for r in rows)
    return Task(name, runs, layout, labels, bank=f"user:{file_digest(spec.stimuli_file)}")


def _unrelated(i: int, n: int) -> list[int]:
    """The (up to) two rows after row i: the unrelated prompts its completion is read after."""
    return [(i + k) % n for k in (1, 2) if (i + k) % n != i][: min(2, n - 1)]


def distance(spec: TaskSpec) -> Task[layouts.DistanceLayout]:
    """Per row, probes that all end in its completion: its paraphrase (1), its related prompt (2), other rows' (3)."""
    rows = _rows(spec, "distance", "paraphrase", "related_prompt")
    n = len(rows)
    probes: list[Example] = []
    levels_of: list[list[int]] = []
    for i, r in enumerate(rows):
        start = len(probes)
        far = [Example(rows[j]["prompt"], r["completion"]) for j in _unrelated(i, n)]
        probes += [_fact(r), _fact(r, "paraphrase"), _fact(r, "related_prompt"), *far]
        levels_of.append([start, layouts.NEAR, layouts.RELATED, *([layouts.FAR] * len(far))])
    levels = np.full((n, len(probes)), layouts.UNUSED, dtype=np.int64)
    for i, (start, *graded) in enumerate(levels_of):
        levels[i, start + 1 : start + 1 + len(graded)] = graded
    starts = np.array([start for start, *_ in levels_of])
    mask = levels >= 0
    mask[np.arange(n), starts] = True
    stimuli = tuple(as_stimulus(_fact(r), spec.stimulus_format) for r in rows)
    runs = {"main": Run(stimuli, tuple(probes), mask)}
    layout = layouts.DistanceLayout(starts, levels, np.zeros(0, dtype=np.int64), completion_matched=True)
    return _task(spec, "distance", runs, layout, rows)


def sparseness(spec: TaskSpec) -> Task[layouts.SparsenessLayout]:
    """Per row: other rows' facts and the everyday facts are "other".

    The row's completion after two prompts of nonce words is its "completion" stratum, as
    in the bank (``tasks.lm``): they share no word with the row but its completion.
    """
    rows = _rows(spec, "sparseness")
    n = len(rows)
    nonce = _nonce_prompts(spec, rows, 2 * n)
    completion_probes = [Example(nonce[2 * i + k], r["completion"]) for i, r in enumerate(rows) for k in (0, 1)]
    probes = [_fact(r) for r in rows] + world_probes(spec.items) + completion_probes
    start = len(probes) - len(completion_probes)
    families = np.full((n, len(probes)), layouts.UNUSED, dtype=np.int64)
    families[:, :start] = layouts.OTHER
    families[np.arange(n), np.arange(n)] = layouts.UNUSED
    for i in range(n):
        families[i, start + 2 * i : start + 2 * i + 2] = layouts.COMPLETION
    sens = np.arange(n, start)
    stimuli = tuple(as_stimulus(_fact(r), spec.stimulus_format) for r in rows)
    mask = families != layouts.UNUSED
    mask[np.arange(n), np.arange(n)] = True
    runs = {
        "main": Run(stimuli, tuple(probes), mask),
        "sensitivity": sensitivity_run(probes, sens, spec.stimulus_format),
    }
    return _task(spec, "sparseness", runs, layouts.SparsenessLayout(np.arange(n), families, sens), rows)


def _nonce_prompts(spec: TaskSpec, rows: list[Row], count: int) -> list[str]:
    """Nonce-word prompts that share no word with any row of the file."""
    taken = {w.strip(".,!?").lower() for r in rows for v in r.values() if isinstance(v, str) for w in v.split()}
    return nonce_prompts(count, spec.seed, taken)


def noise(spec: TaskSpec) -> Task[layouts.NoiseLayout]:
    """Per row: a typo'd copy (or its paraphrase, every third row), its control, gibberish.

    Row i's control is a prompt of nonce words with row i's completion: it shares the one
    thing a learner that ignores the prompt could learn, as in the bank (``tasks.lm``).
    """
    rows = _rows(spec, "noise invariance")
    n = len(rows)
    draws = Draws("eifbench-user-file", file_digest(spec.stimuli_file or ""), spec.seed, "noise")

    def typo_of(prompt: str, completion: str, index: int) -> Example:
        protected = frozenset(completion.split())
        noisy = noisy_text(prompt, draws.child(index), protected) if len(prompt.split()) > 1 else prompt
        return Example(noisy, completion)

    noised: list[Text | Example] = []
    for i, r in enumerate(rows):
        if i % 3 == 2 and r.get("paraphrase"):
            noised.append(as_stimulus(_fact(r, "paraphrase"), spec.stimulus_format))
        else:
            noised.append(as_stimulus(typo_of(r["prompt"], r["completion"], i), spec.stimulus_format))
    nonce = _nonce_prompts(spec, rows, n)
    controls = [as_stimulus(Example(nonce[i], r["completion"]), spec.stimulus_format) for i, r in enumerate(rows)]
    pure = gibberish(max(2, n), spec.seed)  # as many as rows: see tasks.lm.noise
    world_facts = world_probes(spec.items)
    probes = [_fact(r) for r in rows] + world_facts + pure
    family = np.arange(n)[:, None]
    world = np.arange(n, n + len(world_facts))
    pure_columns = np.arange(n + len(world), len(probes))
    spill = np.concatenate([np.arange(n), world])
    mask = np.zeros((2 * n + len(pure), len(probes)), dtype=bool)
    for i in range(n):
        mask[i, i] = mask[n + i, i] = True
    for g, column in enumerate(pure_columns):
        mask[2 * n + g, [column, *spill]] = True
    layout = layouts.NoiseLayout(
        np.arange(n),
        family,
        np.arange(n),
        np.arange(n, 2 * n),
        np.arange(2 * n, 2 * n + len(pure)),
        pure_columns,
        spill,
        world,
    )
    stimuli = tuple(as_stimulus(_fact(r), spec.stimulus_format) for r in rows)
    pure_stimuli = tuple(as_stimulus(p, spec.stimulus_format) for p in pure)
    runs = {
        "main": Run(stimuli, tuple(probes), one_hot_mask(range(n), len(probes))),
        "noised": Run((*noised, *controls, *pure_stimuli), tuple(probes), mask),
        "sensitivity": sensitivity_run(probes, world, spec.stimulus_format),
    }
    return _task(spec, "noise invariance", runs, layout, rows)


def transitivity(spec: TaskSpec) -> Task[layouts.ChainLayout]:
    """Premises -> the row's fact, against the control subject, control property and both."""
    rows = _rows(spec, "transitivity", "premises", "control_prompt", "control_completion")
    probes: list[Example] = []
    for r in rows:
        probes += [
            _fact(r),
            _fact(r, "control_prompt"),
            _fact(r, "prompt", "control_completion"),
            _fact(r, "control_prompt", "control_completion"),
        ]
    n = len(rows)
    base = np.arange(n) * 4
    chains = tuple(
        Chain([as_stimulus(Example(p, c), spec.stimulus_format) for p, c in premises_of(r["premises"])]) for r in rows
    )
    depths = [len(premises_of(r["premises"])) for r in rows]
    references = tuple(Chain([as_stimulus(_fact(r), spec.stimulus_format)] * d) for r, d in zip(rows, depths))
    own = np.zeros((n, len(probes)), dtype=bool)
    for i in range(n):
        own[i, 4 * i : 4 * i + 4] = True
    runs = {
        "main": Run(chains, tuple(probes), own),
        "reference": Run(references, tuple(probes), one_hot_mask(base, len(probes))),
    }
    return _task(
        spec, "transitivity", runs, layouts.ChainLayout(base, base + 1, base + 2, base + 3, np.array(depths)), rows
    )


def consistency(spec: TaskSpec) -> Task[layouts.ConsistencyLayout]:
    """The fact, its negation and an exclusive alternative, each against the control subject."""
    rows = _rows(spec, "logical consistency", "negation", "alternative", "control_prompt", "control_negation")
    probes: list[Example] = []
    for r in rows:
        probes += [_fact(r), _fact(r, "negation"), _fact(r, "prompt", "alternative")]
        probes += [_fact(r, "control_prompt"), _fact(r, "control_negation"), _fact(r, "control_prompt", "alternative")]
    n = len(rows)
    base = np.arange(n) * 6
    layout = layouts.ConsistencyLayout(base, base + 1, (base + 2)[:, None], base + 3, base + 4, (base + 5)[:, None])
    mask = np.zeros((n, len(probes)), dtype=bool)
    for i in range(n):
        mask[i, 6 * i : 6 * i + 6] = True
    stimuli = tuple(as_stimulus(_fact(r), spec.stimulus_format) for r in rows)
    return _task(spec, "logical consistency", {"main": Run(stimuli, tuple(probes), mask)}, layout, rows)


def asymmetry(spec: TaskSpec) -> Task[layouts.AsymmetryLayout]:
    """The fact A and what it entails B, trained and read both ways, against the control subject."""
    rows = _rows(
        spec, "asymmetry", "entailed_prompt", "entailed_completion", "control_prompt", "control_entailed_prompt"
    )
    probes: list[Example] = []
    stimuli: list[Text | Example] = []
    for r in rows:
        b = Example(r["entailed_prompt"], r["entailed_completion"])
        probes += [
            _fact(r),
            b,
            _fact(r, "control_prompt"),
            Example(r["control_entailed_prompt"], r["entailed_completion"]),
        ]
        stimuli += [as_stimulus(_fact(r), spec.stimulus_format), as_stimulus(b, spec.stimulus_format)]
    n = len(rows)
    base = np.arange(n) * 4
    mask = np.zeros((2 * n, len(probes)), dtype=bool)
    for i in range(n):
        mask[2 * i, [4 * i, 4 * i + 1, 4 * i + 3]] = True
        mask[2 * i + 1, [4 * i + 1, 4 * i, 4 * i + 2]] = True
    layout = layouts.AsymmetryLayout(np.arange(n) * 2, np.arange(n) * 2 + 1, base, base + 1, base + 2, base + 3)
    return _task(spec, "asymmetry", {"main": Run(tuple(stimuli), tuple(probes), mask)}, layout, rows)
