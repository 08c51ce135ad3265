"""``eifbench.evaluate`` and ``EifCallback``: the desiderata on a live model, the suite's numbers."""

from __future__ import annotations

import json

import pytest
import torch

import eifbench
from eifbench.errors import InputError
from eifbench.evaluation import evaluate
from eifbench.influence.snapshot import checksum
from tests.conftest import run_suite

SAME = (
    "model",
    "kind",
    "desideratum",
    "condition",
    "status",
    "value",
    "ci",
    "n",
    "unmeasured",
    "stimuli",
    "bank",
    "recipe",
    "details",
    "examples",
)


def _same_fields(record: dict) -> dict:
    return {k: record[k] for k in SAME}


@pytest.mark.parametrize("spec", ["tiny-cnn", "ref-logical"])
def test_evaluate_gives_the_records_of_the_suite(tmp_path, spec):
    out = tmp_path / "suite.json"
    proc = run_suite("--eif-model", spec, "--eif-limit", "6", json_path=out)
    assert proc.returncode in (0, 1), proc.stdout[-2000:]
    suite = {(r["desideratum"], r["condition"]): _same_fields(r) for r in json.loads(out.read_text())["results"]}
    model = eifbench.load_model(spec, "device=cpu" if spec == "tiny-cnn" else None)
    lr = {"tiny-cnn": 0.01, "ref-logical": 10.0}[spec]
    result = evaluate(model, recipe=eifbench.FineTune(lr=lr), items=6, name=spec)
    mine = {(r.desideratum, r.condition): _same_fields(r.to_json()) for r in result.records}
    assert mine == suite
    assert result.metrics()  # flat scalars for a training log
    assert "distance" in result.table()


@pytest.mark.slow
def test_evaluate_on_an_in_memory_fashion_cnn_gives_the_suite_records(tmp_path):
    out = tmp_path / "suite.json"
    proc = run_suite("--eif-model", "fashion-cnn", json_path=out)
    assert proc.returncode in (0, 1), proc.stdout[-2000:]
    suite = {(r["desideratum"], r["condition"]): _same_fields(r) for r in json.loads(out.read_text())["results"]}
    module = eifbench.load_model("fashion-cnn", "device=cpu").module  # a plain nn.Module, as in a training loop
    result = evaluate(module, input_shape=(1, 28, 28), recipe=eifbench.FineTune(lr=0.01), name="fashion-cnn")
    assert {(r.desideratum, r.condition): _same_fields(r.to_json()) for r in result.records} == suite


def test_evaluate_leaves_a_training_model_exactly_as_it_was(tiny_lm):
    module, tokenizer = tiny_lm.module, tiny_lm.tokenizer
    module.train()
    for p in module.parameters():
        p.grad = torch.full_like(p, 0.25)
    before = checksum(module)
    rng = torch.random.get_rng_state()
    try:
        result = evaluate(
            module,
            tokenizer=tokenizer,
            desiderata=["distance", "asymmetry"],
            items=4,
            recipe=eifbench.FineTune(lr=0.05),
        )
        assert {r.desideratum for r in result.records} == {"distance", "asymmetry"}
        assert checksum(module) == before and module.training
        assert all(torch.equal(p.grad, torch.full_like(p, 0.25)) for p in module.parameters())
        assert torch.equal(torch.random.get_rng_state(), rng)
    finally:
        module.eval()
        module.zero_grad(set_to_none=True)


def test_evaluate_refuses_what_it_cannot_check():
    with pytest.raises(InputError, match="takes a ModelAdapter"):
        evaluate(object())
    with pytest.raises(InputError, match="Unknown desiderata"):
        evaluate(eifbench.load_model("tiny-cnn", "device=cpu"), desiderata=["vibes"])
    with pytest.raises(InputError, match="Unknown condition"):
        evaluate(eifbench.load_model("tiny-cnn", "device=cpu"), conditions=["zero-shot"])


def _trainer(tmp_path, tiny_lm, max_steps: int = 6):
    from transformers import DataCollatorForLanguageModeling, Trainer, TrainingArguments

    tokenizer = tiny_lm.tokenizer
    texts = [f"A wug number {i} is a kind of blicket." for i in range(16)]
    rows = [{"input_ids": tokenizer(t).input_ids} for t in texts]
    args = TrainingArguments(
        output_dir=str(tmp_path / "run"),
        max_steps=max_steps,
        per_device_train_batch_size=4,
        eval_strategy="steps",
        eval_steps=2,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        learning_rate=1e-3,
        disable_tqdm=True,
    )
    model = eifbench.load_model("tiny-lm", "device=cpu").module  # a fresh copy: training changes it
    return Trainer(
        model=model,
        args=args,
        train_dataset=rows,
        eval_dataset=rows[:4],
        data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False),
        processing_class=tokenizer,
    )


class StateWitness:
    """Records the model's checksum, grads, mode and RNG around the callbacks that follow it."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bool, bytes]] = []


def test_callback_logs_metrics_through_a_real_trainer_and_restores_everything(tmp_path, tiny_lm):
    from transformers import TrainerCallback

    from eifbench.integrations.transformers import EifCallback

    trainer = _trainer(tmp_path, tiny_lm)
    snapshots: list[tuple[str, bool, bytes]] = []

    class Witness(TrainerCallback):
        def on_evaluate(self, args, state, control, model=None, **kwargs):
            snapshots.append((checksum(model), model.training, torch.random.get_rng_state().numpy().tobytes()))

    trainer.add_callback(Witness())
    callback = EifCallback.attach(
        trainer, desiderata=["distance", "noise invariance"], conditions=["finetune"], items=4
    )
    trainer.add_callback(Witness())
    trainer.train()
    logged = [entry for entry in trainer.state.log_history if "eif/distance/finetune" in entry]
    assert len(logged) == 3 and all("eif/noise_invariance/finetune/pass" in e for e in logged)
    assert [h["step"] for h in callback.history] == [2, 4, 6]
    pairs = list(zip(snapshots[0::2], snapshots[1::2]))
    assert len(pairs) == 3 and all(before == after for before, after in pairs)  # bit-exact around the callback


def test_callback_stops_training_on_a_regression(tmp_path, tiny_lm):
    from eifbench.integrations.transformers import EifCallback
    from eifbench.report.records import document

    probe = evaluate(
        tiny_lm.module, tokenizer=tiny_lm.tokenizer, desiderata=["distance"], conditions=["finetune"], items=4
    )
    record = probe.records[0]
    baseline = tmp_path / "base.json"
    flattering = record.replace(
        value=-1.0, ci=(-1.0, -1.0), status=eifbench.desiderata.PASS
    )  # a baseline no run can match
    baseline.write_text(json.dumps(document([flattering], complete=True, folder=tmp_path)))
    trainer = _trainer(tmp_path, tiny_lm, max_steps=8)
    EifCallback.attach(
        trainer,
        desiderata=["distance"],
        conditions=["finetune"],
        items=4,
        baseline=str(baseline),
        stop_on_regression=True,
    )
    trainer.train()
    assert trainer.state.global_step == 2  # stopped at the first evaluation
    assert trainer.state.log_history[-2]["eif/regressions"] == 1.0
