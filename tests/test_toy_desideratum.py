"""A seventh desideratum, written and registered in this module, runs like the six built-in ones.

Everything about it is here: its layout, its builder, its metric, its threshold, tolerance
and version. The library learns of it only through ``eifbench.desiderata.register``. The
tests run it through the suite (a test file that calls ``eif.check`` on it), the reports
(JSON, markdown, the terminal table), a saved baseline and a gated run, and the reference
learners, whose right answer is known: a kernel machine on pixels (``ref-local``) and a
class-bias model (``ref-global``) both raise an image's own label when trained on it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from eifbench.desiderata import Desideratum, Measurement, Thresholds
from eifbench.desiderata.base import Builder, builders_for
from eifbench.desiderata.normalize import diagonal, learned, noise_of
from eifbench.influence import InfluenceResult
from eifbench.kinds import ModelKind
from eifbench.tasks import images
from eifbench.tasks.base import Source, Task, TaskSpec
from tests.conftest import ROOT

NAME = "self influence"


@dataclass(frozen=True, eq=False)
class SelfLayout:
    """Where each stimulus's own probe is: ``self_column`` (n_s,) in the ``main`` run."""

    self_column: np.ndarray


def self_task(spec: TaskSpec) -> Task[SelfLayout]:
    """The bank's distance images, each read on itself (the ``main`` run of distance, reused)."""
    distance = images.distance(spec)
    return Task(NAME, {"main": distance.runs["main"]}, SelfLayout(distance.layout.self_column), distance.items, "1")


class SelfInfluence(Desideratum[SelfLayout]):
    """The share of stimuli whose training raises their own probe above float noise."""

    name: ClassVar[str] = NAME
    metric: ClassVar[str] = "share of stimuli raising their own probe"
    threshold_key: ClassVar[str] = "self_influence"
    default_threshold: ClassVar[float | None] = 0.5
    higher_is_better: ClassVar[bool] = True
    description: ClassVar[str] = "training on an example raises the model's belief in it"
    builders: ClassVar[Mapping[tuple[ModelKind, Source], Builder]] = builders_for([ModelKind.CLASSIFIER], self_task)
    value_range: ClassVar[tuple[float, float]] = (0.0, 1.0)
    default_tolerance: ClassVar[float] = 0.2

    def measure(
        self, task: Task[SelfLayout], results: Mapping[str, InfluenceResult], thresholds: Thresholds
    ) -> Measurement:
        """1 for a stimulus that raised its own probe above ``measurable`` times float noise, else 0."""
        main = results["main"]
        own = diagonal(main.matrix.numpy(), task.layout.self_column)
        noise = noise_of(main)[task.layout.self_column]  # (n_p,) per probe -> each stimulus's own
        return self.summarize(learned(own, noise, thresholds.measurable).astype(np.float64), thresholds)


# registered in a conftest: it loads before the run reads a baseline, which must know the toy's name
CONFTEST = """
from eifbench.desiderata import register
from tests.test_toy_desideratum import SelfInfluence

register(SelfInfluence())
"""
SUITE_FILE = """
import pytest

from eifbench.desiderata import DESIDERATA

TOY = DESIDERATA["self influence"]


@pytest.mark.desideratum("self influence")
def test_self_influence(eif, eif_case):
    eif.check(TOY, eif_case)
"""
EXPECTED = {"ref-local": "pass", "ref-global": "pass", "ref-logical": "n/a"}  # no image, no task: n/a


def run_toy(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The six desiderata's suite and the toy's suite file, under pytest with the eifbench plugin."""
    (folder / "conftest.py").write_text(CONFTEST)
    (folder / "test_toy_suite.py").write_text(SUITE_FILE)
    models = [a for m in EXPECTED for a in ("--eif-model", m)]
    suites = [str(ROOT / "desiderata_tests"), str(folder)]
    argv = [sys.executable, "-m", "pytest", *suites, "-q", "-p", "no:cacheprovider", f"--rootdir={folder}"]
    argv.append(f"--eif-catalog={ROOT / 'models'}")  # the reference learners' recipes
    env = {"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [*argv, *models, *args], capture_output=True, text=True, timeout=600, cwd=folder, env={**os.environ, **env}
    )


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    folder = tmp_path_factory.mktemp("toy")
    proc = run_toy(
        folder,
        f"--eif-json={folder / 'run.json'}",
        f"--eif-markdown={folder / 'run.md'}",
        f"--eif-save-baseline={folder / 'baseline.json'}",
    )
    return folder, proc


def records(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    doc = json.loads(path.read_text())
    assert doc["complete"], doc["missing"]
    return {(r["model"], r["condition"]): r for r in doc["results"] if r["desideratum"] == NAME}


def test_the_toy_runs_through_the_suite_and_gets_its_known_verdicts(toy_run):
    folder, proc = toy_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]  # saving a baseline exits 0
    got = records(folder / "run.json")
    assert {m: got[(m, "finetune")]["status"] for m in EXPECTED} == EXPECTED
    assert {got[(m, "in-context")]["status"] for m in ("ref-local", "ref-global")} == {"n/a"}
    for model in ("ref-local", "ref-global"):  # every image raises its own label: the share is exactly 1
        record = got[(model, "finetune")]
        assert record["value"] == 1.0 and record["n"] == 36 and record["threshold"] == 0.5
    assert "self influence has no task for a causal-lm" in got[("ref-logical", "finetune")]["reason"]


def test_the_toy_is_in_every_report_after_the_six(toy_run):
    folder, proc = toy_run
    table = proc.stdout[proc.stdout.index("eifbench") :]
    assert table.index("asymmetry") < table.index(NAME)
    markdown = (folder / "run.md").read_text()
    assert markdown.index("asymmetry") < markdown.index(NAME)


def test_a_baseline_gates_the_toy_with_its_own_threshold_and_tolerance(toy_run):
    folder, _ = toy_run
    same = run_toy(folder, f"--eif-compare={folder / 'baseline.json'}", f"--eif-json={folder / 'same.json'}")
    assert same.returncode == 0, same.stdout[-3000:]  # ref-global's failures are known violations now
    assert records(folder / "same.json")[("ref-local", "finetune")]["gate"]["tolerance"] == 0.2
    # its own threshold, overridden on the command line like any other: 1 item short of all now fails
    strict = run_toy(
        folder,
        f"--eif-compare={folder / 'baseline.json'}",
        f"--eif-json={folder / 'strict.json'}",
        "--eif-threshold=self_influence=1.01",
    )
    assert strict.returncode == 1, strict.stdout[-3000:]
    record = records(folder / "strict.json")[("ref-local", "finetune")]
    assert record["status"] == "fail" and record["threshold"] == 1.01
    assert record["gate"]["kind"] == "regression"


def test_registering_twice_or_without_a_threshold_is_refused():
    from eifbench.desiderata import register, unregister
    from eifbench.errors import InputError

    toy = register(SelfInfluence())
    try:
        assert Thresholds().replace(self_influence=0.9).value("self_influence") == 0.9
        assert Thresholds().value("self_influence") == 0.5
        with pytest.raises(InputError, match="already registered"):
            register(SelfInfluence())
    finally:
        unregister(toy.name)
    with pytest.raises(InputError, match="Unknown threshold"):
        Thresholds().replace(self_influence=0.9)

    class NoDefault(SelfInfluence):
        name: ClassVar[str] = "no default"
        threshold_key: ClassVar[str] = "no_default"
        default_threshold: ClassVar[float | None] = None

    with pytest.raises(InputError, match="set default_threshold"):
        register(NoDefault())


def test_a_desideratum_without_a_task_from_a_stimuli_file_is_n_a_there(tmp_path):
    """A registered desideratum with a bank task only is n/a under ``--eif-stimuli``, not a usage error."""
    from eifbench.desiderata.base import NOT_APPLICABLE
    from eifbench.pipeline import measure

    class BankOnly(SelfInfluence):
        builders: ClassVar[Mapping[tuple[ModelKind, Source], Builder]] = builders_for([ModelKind.CAUSAL_LM], self_task)

    stimuli = tmp_path / "facts.csv"
    stimuli.write_text("prompt,completion\nA wug is a kind of,blicket\n")
    spec = TaskSpec(ModelKind.CAUSAL_LM, 4, stimuli_file=stimuli)

    def compute(run: Any) -> InfluenceResult:
        raise AssertionError("an n/a task computes nothing")

    thresholds = Thresholds(extra=(("self_influence", 0.5),))  # its own threshold, as registering it would give
    measurement, task, results = measure(BankOnly(), spec, compute, thresholds)
    assert measurement.status == NOT_APPLICABLE and task is None and results == {}
    assert "self influence has no task for a causal-lm from a" in measurement.reason
