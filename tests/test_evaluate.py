"""``eifbench.evaluate`` and ``EifCallback``: the desiderata on a live model, the suite's numbers."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

import eifbench
from eifbench.desiderata.base import FAIL, INCONCLUSIVE, NOT_APPLICABLE, PASS
from eifbench.errors import InputError
from eifbench.evaluation import Evaluation, evaluate
from eifbench.influence.snapshot import checksum
from tests.checkpoints import CHAT_TEMPLATE, save_tiny_lm
from tests.conftest import run_suite, tiny_trainer, verdict_exit_code

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
    assert proc.returncode == verdict_exit_code(out), proc.stdout[-2000:]
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
    assert proc.returncode == verdict_exit_code(out), proc.stdout[-2000:]
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
    model = eifbench.load_model("tiny-lm", "device=cpu").module  # a fresh copy: training changes it
    return tiny_trainer(model, tiny_lm.tokenizer, tmp_path / "run", max_steps=max_steps)


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


def test_the_python_api_is_exported_without_importing_torch_or_transformers():
    from eifbench.integrations.transformers import EifCallback

    assert eifbench.evaluate is evaluate and eifbench.Evaluation is Evaluation and eifbench.EifCallback is EifCallback
    code = (
        "import sys, eifbench\n"
        "eifbench.evaluate, eifbench.Evaluation\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'import eifbench is not lazy'"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.lm
def test_evaluate_reads_a_chat_templated_lm_as_the_suite_does(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = save_tiny_lm(tmp_path / "chat-lm", chat_template=CHAT_TEMPLATE)
    out = tmp_path / "suite.json"
    proc = run_suite(
        "--eif-model", f"hf:{folder}", "--eif-limit", "3", "--eif-lr", "0.01", "-k", "distance", json_path=out
    )  # fmt: skip
    assert proc.returncode == verdict_exit_code(out), proc.stdout[-2000:]
    suite = {(r["desideratum"], r["condition"]): _same_fields(r) for r in json.loads(out.read_text())["results"]}
    assert {r["recipe"]["chat_template"] for r in suite.values()} == {"on"}
    model, tokenizer = AutoModelForCausalLM.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)
    options = {"tokenizer": tokenizer, "desiderata": ["distance"], "items": 3, "recipe": eifbench.FineTune(lr=0.01)}
    result = evaluate(model, name=f"hf:{folder}", **options)  # chat_template="auto", as the loader
    assert {(r.desideratum, r.condition): _same_fields(r.to_json()) for r in result.records} == suite
    raw = evaluate(model, name=f"hf:{folder}", chat_template="off", conditions=["finetune"], **options)
    assert raw.records[0].recipe["chat_template"] == "off"
    with pytest.raises(InputError, match="defines no chat template"):
        evaluate(model, tokenizer=eifbench.load_model("tiny-lm", "device=cpu").tokenizer, chat_template="on")
    with pytest.raises(InputError, match="chat_template="):
        evaluate(model, tokenizer=tokenizer, chat_template="yes")


def test_metrics_encode_the_verdict_and_leave_out_what_was_not_measured(tiny_cnn):
    from eifbench.integrations.transformers import EifCallback

    [r] = evaluate(tiny_cnn, desiderata=["distance"], conditions=["finetune"], items=3).records
    records = (
        r.replace(status=PASS, value=-0.5),
        r.replace(desideratum="sparseness", status=FAIL, value=0.9),
        r.replace(desideratum="transitivity", status=INCONCLUSIVE, value=0.1),
        r.replace(desideratum="asymmetry", status=INCONCLUSIVE, value=None, reason="no item could be measured"),
        r.replace(desideratum="noise invariance", status=INCONCLUSIVE, value=float("nan"), reason="too few items"),
        r.replace(condition="in-context", status=NOT_APPLICABLE, value=None, reason="no context for images"),
    )
    result = Evaluation(records)
    assert result.metrics() == {
        "eif/distance/finetune": -0.5,
        "eif/distance/finetune/pass": 1.0,
        "eif/sparseness/finetune": 0.9,
        "eif/sparseness/finetune/pass": 0.0,
        "eif/transitivity/finetune": 0.1,
        "eif/transitivity/finetune/pass": 0.5,
    }
    assert result.unmeasured() == {
        "eif/asymmetry/finetune": "no item could be measured",
        "eif/noise_invariance/finetune": "too few items",
        "eif/distance/in-context": "n/a: no context for images",
    }
    for doc in (Evaluation.metrics.__doc__, EifCallback.__doc__):
        assert "1.0 pass, 0.0 fail, 0.5 inconclusive" in " ".join((doc or "").split())


@pytest.mark.lm
def test_evaluate_records_what_a_peft_model_trains(tiny_lm):
    import copy

    from peft import LoraConfig, get_peft_model

    def trained(model: torch.nn.Module) -> str | None:
        options = {"desiderata": ["distance"], "conditions": ["finetune"], "items": 3}
        [record] = evaluate(model, tokenizer=tiny_lm.tokenizer, recipe=eifbench.FineTune(lr=0.01), **options).records
        return record.recipe.get("trained")

    config = LoraConfig(r=2, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    peft = get_peft_model(copy.deepcopy(tiny_lm.module), config)  # the base frozen, the adapter trainable
    assert trained(peft) == "adapter"
    for parameter in peft.parameters():
        parameter.requires_grad_(True)
    assert trained(peft) == "all"
    assert trained(tiny_lm.module) is None  # a plain model trains all its weights; the record leaves it out
