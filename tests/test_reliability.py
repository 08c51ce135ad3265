"""Faults, bad input, security, scale-out and soak: eifbench loses nothing and says what to do."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path

import psutil
import pytest
import torch

import eifbench
from eifbench.errors import DeviceMemoryError, RestoreError
from eifbench.influence.snapshot import checksum
from eifbench.zoo.specs import parse_spec
from tests.conftest import (
    FACTS,
    PROBES,
    TINY_MODELS,
    comparable_results,
    fail_readout_on_call,
    interrupted_run,
    run_suite,
    verdict_exit_code,
)

ROOT = Path(__file__).resolve().parents[1]


def test_out_of_memory_says_what_to_reduce_and_restores(tiny_lm, monkeypatch):
    before = checksum(tiny_lm.module)
    # the 2nd read-out comes after the first stimulus was fine-tuned
    oom = torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    fail_readout_on_call(monkeypatch, tiny_lm, 2, oom)
    with pytest.raises(DeviceMemoryError, match="pass fewer probes or a smaller probe batch"):
        eifbench.influence(tiny_lm, FACTS, PROBES, finetune=eifbench.FineTune(lr=0.5))
    monkeypatch.undo()
    assert checksum(tiny_lm.module) == before


def test_paranoid_mode_catches_a_broken_restore(tiny_cnn, images, monkeypatch):
    from eifbench.influence import snapshot

    monkeypatch.setattr(snapshot.Snapshot, "restore", lambda self: None)
    with pytest.raises(RestoreError, match="weights differ from theta_0 after stimulus 0"):
        eifbench.influence(tiny_cnn, images[:2], images[:3], finetune=eifbench.FineTune(lr=0.1), paranoid=True)
    monkeypatch.undo()
    tiny_cnn.module.load_state_dict(eifbench.load_model("tiny-cnn", "device=cpu").module.state_dict())


def test_sigint_mid_run_still_writes_the_partial_report(tmp_path):
    returncode, output, doc = interrupted_run(tmp_path, signal.SIGINT)
    assert returncode == 2, output
    assert doc["complete"] is False
    assert [r["status"] for r in doc["results"] if r["condition"] == "finetune"] == ["pass"]


def test_trust_remote_code_is_off_unless_asked(monkeypatch, tmp_path):
    from transformers import AutoModelForCausalLM

    seen = {}

    def capture(target, **kwargs):
        seen.update(kwargs)
        raise OSError("stop here")

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", capture)
    with pytest.raises(eifbench.ModelSpecError):
        eifbench.load_model(f"hf:{tmp_path}")
    assert seen["trust_remote_code"] is False
    with pytest.raises(eifbench.ModelSpecError):
        eifbench.load_model(f"hf:{tmp_path},trust_remote_code=true")
    assert seen["trust_remote_code"] is True


def test_no_unsafe_loading_anywhere_in_the_library():
    sources = list((ROOT / "src" / "eifbench").rglob("*.py"))
    text = "\n".join(p.read_text() for p in sources)
    loads = re.findall(r"torch\.load\((.*)\)", text)
    assert loads and all("weights_only=True" in call for call in loads)
    assert not re.search(r"\bpickle\.loads?\(|\bUnpickler\(|\bimport dill\b", text)  # catching UnpicklingError is fine


def test_device_map_auto_loads_and_runs(tmp_path, tiny_lm):
    tiny_lm.module.save_pretrained(tmp_path)
    tiny_lm.tokenizer.save_pretrained(tmp_path)
    model = eifbench.load_model(f"hf:{tmp_path}", "device_map=auto")
    result = eifbench.influence(model, FACTS, PROBES, finetune=eifbench.FineTune(lr=0.05))
    expected = eifbench.influence(tiny_lm, FACTS, PROBES, finetune=eifbench.FineTune(lr=0.05))
    torch.testing.assert_close(result.matrix, expected.matrix, atol=1e-5, rtol=1e-5)


def test_each_xdist_worker_gets_its_own_gpu():
    from eifbench.plugin.workers import worker_device

    assert worker_device("gw0", cuda_count=4) == "cuda:0"
    assert worker_device("gw5", cuda_count=4) == "cuda:1"
    assert worker_device("gw1", cuda_count=1) is None  # one GPU: leave the default
    assert worker_device(None, cuda_count=4) is None  # not under xdist


def test_corrupt_smollm2_cache_is_rebuilt(monkeypatch, tmp_path, tiny_lm):
    from eifbench.zoo import lm
    from eifbench.zoo.cache import atomic_folder

    monkeypatch.setenv("EIFBENCH_CACHE", str(tmp_path))
    built = []

    def fake_convert(gguf, entry):  # stands in for the 20 s GGUF conversion
        built.append(entry)
        with atomic_folder(entry) as scratch:
            tiny_lm.module.save_pretrained(scratch)
            tiny_lm.tokenizer.save_pretrained(scratch)

    monkeypatch.setattr(lm, "convert_gguf", fake_convert)
    entry = tmp_path / lm.SMOLLM2_VERSION
    entry.mkdir()
    (entry / "config.json").write_text("{ corrupt")
    (entry / "model.safetensors").write_bytes(b"\x00garbage")
    stale = tmp_path / f".{lm.SMOLLM2_VERSION}.killed"  # a conversion killed hours ago
    stale.mkdir()
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    model = eifbench.load_model("smollm2", "device=cpu")
    assert len(built) == 1 and model.kind == "causal-lm" and not stale.exists()
    eifbench.load_model("smollm2", "device=cpu")  # the rebuilt entry passes its integrity check
    assert len(built) == 1


@pytest.mark.parametrize("spec,args,message", [
    ("fashion-cnn", "device=cuda", "CUDA device"),
    ("smollm2", "device=meta", "eifbench runs on cpu, cuda or mps"),
    ("smollm2", "subfolder=nope", "takes no model arg subfolder"),
])  # fmt: skip
def test_argument_errors_never_touch_a_valid_cache(monkeypatch, tmp_path, spec, args, message):
    from eifbench.zoo import cnn, lm

    monkeypatch.setenv("EIFBENCH_CACHE", str(tmp_path))
    monkeypatch.setattr(cnn, "train_fashion", lambda **_: pytest.fail("retrained a valid cache entry"))
    monkeypatch.setattr(lm, "convert_gguf", lambda *_: pytest.fail("reconverted a valid cache entry"))
    for entry in (tmp_path / cnn.FASHION_VERSION, tmp_path / lm.SMOLLM2_VERSION):
        entry.mkdir()
        (entry / "marker").write_text("valid")
    with pytest.raises(eifbench.ModelSpecError, match=message):
        eifbench.load_model(spec, args)
    assert (tmp_path / cnn.FASHION_VERSION / "marker").exists() and (tmp_path / lm.SMOLLM2_VERSION / "marker").exists()


@pytest.mark.parametrize(
    "content,suffix,message",
    [
        ("{broken", ".json", "could not be read as json"),
        ('{"prompt": "a"}\n{"prompt": "b"}\n', ".jsonl", "lacks the required column"),
        ('{"prompt": "A wug is", "completion": " red"}\n', ".jsonl", "has 1 row(s)"),
        (
            '{"prompt": 3, "completion": " red"}\n{"prompt": 4, "completion": " blue"}\n',
            ".jsonl",
            "row 0 column 'prompt' is int",
        ),
        (
            '{"prompt": "A wug is", "completion": " red", "premises": "no bar here"}\n'
            '{"prompt": "A dax is", "completion": " blue"}\n',
            ".jsonl",
            "row 0 column 'premises': premise 'no bar here' is not 'prompt|completion'",
        ),
        ("x", ".txt", "use a .json, .jsonl, .csv or .parquet file"),
    ],
)
def test_bad_stimuli_files_are_usage_errors(tmp_path, content, suffix, message):
    bad = tmp_path / f"facts{suffix}"
    bad.write_text(content)
    proc = run_suite("--eif-model", "tiny-lm", f"--eif-stimuli={bad}")
    assert proc.returncode == 4 and message in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


def test_a_stimuli_file_that_is_not_utf8_says_so(tmp_path):
    bad = tmp_path / "facts.csv"
    bad.write_bytes("prompt,completion\nA caf\xe9 is,\x20red\n".encode("latin-1"))
    proc = run_suite("--eif-model", "tiny-lm", f"--eif-stimuli={bad}")
    assert proc.returncode == 4 and "is not UTF-8 text" in proc.stderr


USER_ROWS = [
    {
        "prompt": f"A {w} is a kind of",
        "completion": f" {c}",
        "paraphrase": f"Every {w} is a kind of",
        "related_prompt": f"A {w} likes to eat",
        "related_completion": " fish",
        "negation": f"A {w} is not a kind of",
        "alternative": " stone",
        "control_prompt": "A zorp is a kind of",
        "control_negation": "A zorp is not a kind of",
        "control_completion": " horn",
        "premises": f"A {w} is a kind of| {c};All {c}s have a| tail",
        "entailed_prompt": f"A {w} is a kind of",
        "entailed_completion": " animal",
        "control_entailed_prompt": "A zorp is a kind of",
    }
    for w, c in [("wug", "blicket"), ("dax", "fep"), ("toma", "gazzer"), ("pilk", "mosk")]
]


def test_user_stimuli_file_drives_the_suite(tmp_path):
    path = tmp_path / "facts.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in USER_ROWS))
    out = tmp_path / "user.json"
    proc = run_suite("--eif-model", "ref-logical", f"--eif-stimuli={path}", json_path=out)
    assert proc.returncode == verdict_exit_code(out), proc.stdout[-2000:]
    results = json.loads(out.read_text())["results"]
    assert len(results) == 12 and all(r["status"] != "n/a" and r["n"] + r["unmeasured"] >= 2 for r in results)
    assert all(r["bank"].startswith("user:") for r in results)


def test_a_stimuli_file_without_a_desideratums_columns_gives_na_with_the_reason(tmp_path):
    path = tmp_path / "facts.jsonl"
    path.write_text("\n".join(json.dumps({"prompt": r["prompt"], "completion": r["completion"]}) for r in USER_ROWS))
    out = tmp_path / "plain.json"
    proc = run_suite("--eif-model", "ref-logical", f"--eif-stimuli={path}", json_path=out)
    assert proc.returncode == verdict_exit_code(out) and "Traceback" not in proc.stdout
    records = {(r["desideratum"], r["condition"]): r for r in json.loads(out.read_text())["results"]}
    assert records[("sparseness", "finetune")]["status"] != "n/a"
    distance = records[("distance", "finetune")]
    assert distance["status"] == "n/a" and "['paraphrase', 'related_prompt']" in distance["reason"]
    assert "eifbench: desiderata per model" in proc.stdout and "StimuliFileError" not in proc.stdout


def test_soak_1000_stimuli_resident_memory_is_flat(tiny_lm):
    process = psutil.Process()
    recipe = eifbench.FineTune(lr=0.05)
    stimuli = [eifbench.Text(f"Fact number {i} is about a wug.") for i in range(100)]
    eifbench.influence(tiny_lm, stimuli, PROBES, finetune=recipe)  # warm-up
    warm = process.memory_info().rss
    for _ in range(9):
        eifbench.influence(tiny_lm, stimuli, PROBES, finetune=recipe)
    growth = (process.memory_info().rss - warm) / warm
    print(f"soak: 900 stimuli after warm-up, RSS {warm / 2**20:.0f} MiB -> growth {growth * 100:.2f}%")
    assert growth < 0.05


@pytest.mark.slow
def test_ray_pool_matches_the_local_engine_bit_for_bit(tiny_lm, images):
    pytest.importorskip("ray")
    import ray

    from eifbench.influence.ray_backend import RayPool

    try:
        recipe = eifbench.FineTune(lr=0.05)
        lm_pool = RayPool(parse_spec("tiny-lm,device=cpu"), address="local", actors=2, cpus_per_actor=0.5)
        cnn_pool = RayPool(parse_spec("tiny-cnn,device=cpu"), address="local", actors=2, cpus_per_actor=0.5)
        stimuli = FACTS * 2 + [eifbench.Chain(FACTS[:2])]
        distributed = lm_pool.influence(stimuli, PROBES, "exact", recipe, paranoid=True)
        local = eifbench.influence(tiny_lm, stimuli, PROBES, finetune=recipe)
        assert torch.equal(distributed.matrix, local.matrix) and torch.equal(distributed.baseline, local.baseline)
        mask = torch.rand(5, len(images), generator=torch.Generator().manual_seed(0)).numpy() > 0.5
        masked = cnn_pool.influence(images[:5], images, "exact", recipe, mask=mask)
        expected = eifbench.influence(
            eifbench.load_model("tiny-cnn", "device=cpu"), images[:5], images, finetune=recipe, mask=mask
        )
        assert torch.equal(masked.matrix.isnan(), expected.matrix.isnan())
        assert torch.equal(masked.matrix.nan_to_num(), expected.matrix.nan_to_num())
        in_context = lm_pool.influence(FACTS, PROBES, "in-context", recipe)
        assert torch.equal(in_context.matrix, eifbench.influence(tiny_lm, FACTS, PROBES, engine="in-context").matrix)
        # masked: the actors plan their neutral reads over the whole run, as the serial run does
        lm_mask = torch.rand(4, len(PROBES), generator=torch.Generator().manual_seed(1)).numpy() > 0.4
        split = lm_pool.influence(FACTS + FACTS[:1], PROBES, "in-context", recipe, mask=lm_mask)
        serial = eifbench.influence(tiny_lm, FACTS + FACTS[:1], PROBES, engine="in-context", mask=lm_mask)
        for part in ("matrix", "reference"):
            assert torch.equal(getattr(split, part).nan_to_num(), getattr(serial, part).nan_to_num())
            assert torch.equal(getattr(split, part).isnan(), getattr(serial, part).isnan())
        lm_pool.close()
        assert lm_pool.actors == []
    finally:
        ray.shutdown()


@pytest.mark.slow
def test_suite_under_ray_gives_the_serial_results(tmp_path):
    pytest.importorskip("ray")
    serial, distributed = tmp_path / "serial.json", tmp_path / "ray.json"
    for extra, out in (([], serial), (["--eif-ray", "local"], distributed)):
        proc = run_suite(*TINY_MODELS, "--eif-limit", "4", *extra, json_path=out, env={"RAY_AUTH_MODE": "disabled"})
        assert proc.returncode == verdict_exit_code(out), proc.stdout[-2000:] + proc.stderr[-2000:]
    assert comparable_results(serial) == comparable_results(distributed)


def test_each_xdist_worker_takes_its_share_of_the_cores():
    import torch

    from eifbench.plugin.workers import share_cores, threads_per_worker

    assert [threads_per_worker(w, 2) for w in (1, 2, 3)] == [2, 1, 1]
    assert threads_per_worker(4, 16) == 4 and threads_per_worker(0, 8) == 8
    before = torch.get_num_threads()
    try:
        cores = len(os.sched_getaffinity(0))
        assert share_cores({"PYTEST_XDIST_WORKER_COUNT": "2"}) == max(1, cores // 2)
        assert torch.get_num_threads() == max(1, cores // 2)
        torch.set_num_threads(before)
        assert share_cores({}) is None and share_cores({"PYTEST_XDIST_WORKER_COUNT": "1"}) is None
        assert share_cores({"PYTEST_XDIST_WORKER_COUNT": "2", "OMP_NUM_THREADS": "3"}) is None  # the user's say
        assert torch.get_num_threads() == before
    finally:
        torch.set_num_threads(before)
