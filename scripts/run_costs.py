"""Where a model's time goes: every distinct influence run of its default tasks, timed once.

.venv/bin/python scripts/run_costs.py                               # smollm2, both conditions (~5 min, 2 cores)
.venv/bin/python scripts/run_costs.py --model fashion-cnn --engine exact
.venv/bin/python scripts/run_costs.py --items 8                      # a smoke run's runs

The suite computes each distinct run once per session and shares it between desiderata
(distance, sparseness and noise invariance read one ``main`` run); this script does the
same and prints one row per run with its stimuli, cells read and seconds, desiderata in the
registry's order (the suite's files run alphabetically, so it charges a shared run to
whichever cell comes first there), and the row of a run an earlier one computed says so.
Items and data set are the model's catalogue entry's (``models/<name>.toml``), as ``eifbench run``'s.
Run it with nothing else on the machine: a second job on 2 cores makes every figure meaningless.
"""

from __future__ import annotations

import argparse
import time

from tabulate import tabulate

from eifbench.catalog import entry_for, load_catalog
from eifbench.cli.commands import default_recipe
from eifbench.cli.suite import suite_root
from eifbench.desiderata import DESIDERATA
from eifbench.influence import influence
from eifbench.influence.digest import run_digest
from eifbench.kinds import ModelKind
from eifbench.tasks.base import TaskNotApplicable, TaskSpec
from eifbench.zoo import load_model, spec_kind
from eifbench.zoo.specs import parse_spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--engine", action="append", choices=["exact", "first-order", "in-context"])
    parser.add_argument("--items", type=int, help="items per desideratum (default: the catalogue entry's)")
    args = parser.parse_args()
    spec = parse_spec(args.model)
    kind = ModelKind(spec_kind(spec))
    adapter = load_model(spec)
    recipe, _ = default_recipe(spec, kind.value)
    entry = entry_for(spec, kind, load_catalog(suite_root() / "models"))
    engines = args.engine or (["exact", "in-context"] if kind.reads_completions else ["exact"])
    dataset = entry.dataset or ("fashion-mnist" if kind == ModelKind.CLASSIFIER else None)
    items = args.items or entry.items
    task_spec = TaskSpec(kind, items, 0, "statement", dataset, getattr(adapter, "input_shape", None))
    rows = []
    for engine in engines:
        seen: dict[str, str] = {}
        total = 0.0
        for name, desideratum in DESIDERATA.items():
            if desideratum.not_applicable(kind, "finetune" if engine != "in-context" else "in-context"):
                continue
            try:
                task = desideratum.build(task_spec)
            except TaskNotApplicable:
                continue
            for run_name, run in task.runs.items():
                digest = run_digest(run)
                cells = int(run.mask.sum()) if run.mask is not None else len(run.stimuli) * len(run.probes)
                if digest in seen:
                    rows.append((engine, name, run_name, len(run.stimuli), cells, f"shared with {seen[digest]}"))
                    continue
                seen[digest] = f"{name}/{run_name}"
                began = time.perf_counter()
                influence(adapter, run.stimuli, run.probes, engine=engine, finetune=recipe, mask=run.mask)
                seconds = time.perf_counter() - began
                total += seconds
                rows.append((engine, name, run_name, len(run.stimuli), cells, f"{seconds:.2f}"))
        rows.append((engine, "all", "", "", "", f"{total:.2f}"))
    print(f"{args.model} · {recipe.label()} · {items} items · {dataset or 'bank facts'}")
    print(tabulate(rows, headers=["engine", "desideratum", "run", "stimuli", "cells", "seconds"], tablefmt="github"))


if __name__ == "__main__":
    main()
