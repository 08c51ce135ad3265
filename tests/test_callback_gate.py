"""``EifCallback(baseline=...)`` gates a Trainer run against a baseline that ``eifbench run`` saved.

The baselines come from real ``eifbench run --save-baseline`` subprocesses on a tiny causal
LM saved to a folder (and on tiny-cnn, for a model of another kind); the callback runs in a
real transformers ``Trainer``.
"""

from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path

import pytest

import eifbench
from eifbench.errors import BaselineError
from tests.checkpoints import CHAT_TEMPLATE, save_tiny_lm
from tests.conftest import eifbench_cli, tiny_trainer

pytestmark = pytest.mark.lm

FINETUNE = "(distance or sparseness) and finetune"
RECIPE = eifbench.FineTune(lr=0.01)  # what `eifbench run --lr 0.01` measures with


def eifbench_run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``eifbench run ...`` in a fresh process."""
    return eifbench_cli("run", *args, cwd=cwd)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny LM folder, its baseline (distance and sparseness, fine-tuned, 3 items, lr 0.01), a tiny-cnn baseline."""
    folder = tmp_path_factory.mktemp("gate")
    lm = save_tiny_lm(folder / "lm")
    lm_run = eifbench_run(
        "--model", f"hf:{lm}", "--limit", "3", "--lr", "0.01", "--save-baseline", "lm.json", "--", "-k", FINETUNE,
        cwd=folder,
    )  # fmt: skip
    cnn_run = eifbench_run(
        "--model", "tiny-cnn", "--limit", "3", "--save-baseline", "cnn.json", "--", "-k", "distance and finetune",
        cwd=folder,
    )  # fmt: skip
    assert (folder / "lm.json").is_file(), lm_run.stdout[-3000:] + lm_run.stderr[-3000:]
    assert (folder / "cnn.json").is_file(), cnn_run.stdout[-3000:] + cnn_run.stderr[-3000:]
    cells = {(r["desideratum"], r["condition"]) for r in json.loads((folder / "lm.json").read_text())["results"]}
    assert cells == {("distance", "finetune"), ("sparseness", "finetune")}
    return {"folder": folder, "lm": lm, "baseline": folder / "lm.json", "cnn": folder / "cnn.json"}


def flattering(baseline: Path, out: Path) -> Path:
    """The baseline with a distance no run can match: value -1.0, PASS."""
    doc = json.loads(baseline.read_text())
    for record in doc["results"]:
        if record["desideratum"] == "distance":
            record.update(value=-1.0, ci=[-1.0, -1.0], status="pass")
    out.write_text(json.dumps(doc))
    return out


def trainer_for(folder: Path, out: Path, *, lr: float = 1e-3, max_steps: int = 6, chat: bool = False):  # noqa: ANN201
    """A real Trainer on the saved LM: ``max_steps`` steps, evaluating every 2."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    if chat:
        tokenizer.chat_template = CHAT_TEMPLATE
    return tiny_trainer(AutoModelForCausalLM.from_pretrained(folder), tokenizer, out, lr=lr, max_steps=max_steps)


def gate_on(trainer, baseline: Path):  # noqa: ANN201
    """The callback as the gate tests attach it: the baseline's cells, recipe and items, stopping on a regression."""
    from eifbench.integrations.transformers import EifCallback

    return EifCallback.attach(
        trainer,
        desiderata=["distance", "sparseness"],
        conditions=["finetune"],
        recipe=RECIPE,
        items=3,
        baseline=str(baseline),
        stop_on_regression=True,
    )


def test_a_regression_against_an_eifbench_run_baseline_stops_training(saved, tmp_path):

    baseline = flattering(saved["baseline"], tmp_path / "better.json")
    trainer = trainer_for(saved["lm"], tmp_path / "run")
    callback = gate_on(trainer, baseline)
    with pytest.warns(UserWarning, match="stopping training at step 2"):
        trainer.train()
    assert trainer.state.global_step == 2  # of 6: stopped at the first evaluation
    assert any(line.startswith("distance (finetune): ") for line in callback.regressions), callback.regressions
    logged = [entry for entry in trainer.state.log_history if "eif/regressions" in entry]
    assert len(logged) == 1 and logged[0]["eif/regressions"] == len(callback.regressions) >= 1


def test_a_cell_the_baseline_measured_and_the_run_did_not_is_a_regression(saved, tmp_path):
    from eifbench.integrations.transformers import EifCallback

    trainer = trainer_for(saved["lm"], tmp_path / "run", lr=0.0)  # the model stays the baseline's
    callback = EifCallback.attach(
        trainer,
        desiderata=["distance"],  # the baseline also measured sparseness
        conditions=["finetune"],
        recipe=RECIPE,
        items=3,
        baseline=str(saved["baseline"]),
        stop_on_regression=True,
    )
    with pytest.warns(UserWarning, match="stopping training"):
        trainer.train()
    assert trainer.state.global_step == 2
    assert callback.regressions == ["sparseness (finetune): measured in the baseline, not in this run"]


def test_the_unchanged_model_passes_the_gate_and_trains_to_the_end(saved, tmp_path):

    trainer = trainer_for(saved["lm"], tmp_path / "run", lr=0.0, max_steps=4)
    callback = gate_on(trainer, saved["baseline"])
    trainer.train()
    assert trainer.state.global_step == 4 and callback.regressions == []
    assert [h["eif/regressions"] for h in callback.history] == [0.0, 0.0]


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("kind", r"measured 'tiny-cnn' as a classifier, but '.*lm' is a causal-lm"),
        ("recipe", r"lr.*recipe=eifbench.FineTune"),
        ("dtype", r"dtype"),
        ("chat template", r"chat_template"),
    ],
)
def test_a_baseline_that_cannot_gate_the_model_is_refused_before_training(saved, tmp_path, case, match):
    from eifbench.integrations.transformers import EifCallback

    trainer = trainer_for(saved["lm"], tmp_path / "run", chat=case == "chat template")
    if case == "dtype":
        trainer.model.double()
    EifCallback.attach(
        trainer,
        desiderata=["distance"],
        conditions=["finetune"],
        recipe=None if case == "recipe" else RECIPE,  # the default recipe is lr 1e-4; the baseline used 0.01
        items=3,
        baseline=str(saved["cnn" if case == "kind" else "baseline"]),
        stop_on_regression=True,
    )
    with pytest.raises(BaselineError, match=match):
        trainer.train()
    assert trainer.state.global_step == 0


def test_a_baseline_on_other_stimuli_is_refused_at_the_first_evaluation(saved, tmp_path):
    from eifbench.integrations.transformers import EifCallback

    trainer = trainer_for(saved["lm"], tmp_path / "run")
    EifCallback.attach(
        trainer,
        desiderata=["distance", "sparseness"],
        conditions=["finetune"],
        recipe=RECIPE,
        items=4,  # the baseline was saved with --limit 3
        baseline=str(saved["baseline"]),
        stop_on_regression=True,
    )
    with pytest.raises(BaselineError, match="on stimuli"):
        trainer.train()
    assert trainer.state.global_step == 2


def test_a_baseline_of_several_models_needs_compare_as(saved, tmp_path):
    from eifbench.integrations.transformers import EifCallback

    doc = json.loads(saved["baseline"].read_text())
    other = [{**r, "model": "hf:other", "column": "hf:other"} for r in doc["results"]]
    both = tmp_path / "both.json"
    both.write_text(json.dumps({**doc, "results": doc["results"] + other}))
    options = {"desiderata": ["distance"], "conditions": ["finetune"], "recipe": RECIPE, "items": 3}
    trainer = trainer_for(saved["lm"], tmp_path / "run", max_steps=2)
    EifCallback.attach(trainer, baseline=str(both), **options)
    with pytest.raises(BaselineError, match=r"several models .*compare_as="):
        trainer.train()
    trainer = trainer_for(saved["lm"], tmp_path / "run2", max_steps=2)
    callback = EifCallback.attach(trainer, baseline=str(both), compare_as=f"hf:{saved['lm']}", **options)
    trainer.train()
    assert callback.history[-1]["eif/regressions"] >= 1  # sparseness: measured in the baseline, not here


def test_unmeasured_cells_are_left_out_of_the_log_and_reported_once(saved, tmp_path):
    from eifbench.integrations.transformers import EifCallback

    trainer = trainer_for(saved["lm"], tmp_path / "run")
    callback = EifCallback.attach(
        trainer,
        desiderata=["distance", "sparseness"],
        conditions=["finetune"],
        recipe=eifbench.FineTune(lr=1e-9),  # nothing is learned: no item can be measured
        items=3,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.train()
    notes = [str(w.message) for w in caught if "not measured" in str(w.message)]
    assert len(callback.history) == 3 and len(notes) == 1  # three evaluations, one note
    assert "eif/distance/finetune (no item could be measured" in notes[0] and "eif/sparseness/finetune" in notes[0]
    logged = [entry for entry in trainer.state.log_history if any(k.startswith("eif/") for k in entry)]
    assert not any(k.startswith("eif/") for h in callback.history for k in h)
    assert logged == []  # nothing measured, nothing logged: no bare NaN
