"""The influence result store: bit-exact, integrity-checked, atomic, and the resume it gives ``eifbench run``."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import eifbench
from eifbench.cases import RunOptions
from eifbench.errors import InputError
from eifbench.influence.result_store import ResultStore, model_fingerprint, weights_digest
from eifbench.plugin.session import EifSession
from eifbench.tasks.base import Run
from eifbench.zoo.specs import parse_spec
from tests.conftest import FACTS, PROBES, ROOT, comparable_results, eifbench_cli


def bits(tensor: torch.Tensor | None) -> bytes | None:
    """A tensor's dtype, shape and bytes: equal only when bit-identical (NaN payloads included)."""
    if tensor is None:
        return None
    return f"{tensor.dtype}{tuple(tensor.shape)}".encode() + tensor.contiguous().view(torch.uint8).numpy().tobytes()


def assert_identical(a: eifbench.InfluenceResult, b: eifbench.InfluenceResult) -> None:
    for field in dataclasses.fields(a):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, torch.Tensor) or x is None:
            assert bits(x) == bits(y), field.name
        else:
            assert (type(x), x) == (type(y), y), field.name


def stored_results(tiny_lm, tiny_cnn, images) -> list[eifbench.InfluenceResult]:  # noqa: ANN001
    recipe = eifbench.FineTune(lr=0.05)
    mask = torch.rand(4, len(images), generator=torch.Generator().manual_seed(0)).numpy() > 0.5
    exact = eifbench.influence(tiny_lm, [*FACTS, eifbench.Chain(FACTS[:2])], PROBES, finetune=recipe)
    return [
        dataclasses.replace(exact, failures={1: "fine-tuning loss became NaN or inf; weights restored"}),
        eifbench.influence(tiny_lm, FACTS, PROBES, engine="in-context"),  # carries the reference matrix
        eifbench.influence(tiny_cnn, images[:4], images, finetune=recipe, mask=mask),  # NaN cells
        dataclasses.replace(exact, matrix=exact.matrix.double(), baseline=exact.baseline.double(), precision=2**-52),
    ]


def test_a_stored_result_reads_back_bit_for_bit(tmp_path, tiny_lm, tiny_cnn, images):
    store = ResultStore(tmp_path / "results")
    for i, result in enumerate(stored_results(tiny_lm, tiny_cnn, images)):
        key = store.key("model", result.engine, result.finetune, f"run{i}")
        assert store.load(key) is None
        store.save(key, result)
        assert_identical(result, ResultStore(tmp_path / "results").load(key))  # a new store: from disk
    assert not list((tmp_path / "results").glob(".*")), "a temporary file was left behind"


def damaged(path: Path, how: str, other: Path) -> None:
    data = bytearray(path.read_bytes())
    if how == "tensor byte":
        data[-3] ^= 0x01  # the last tensor's bytes: only the checksum can tell
    elif how == "header byte":  # still valid JSON, another number: only the checksum can tell
        at = re.search(rb'seconds\\": \d\.\d', bytes(data)).end() - 1
        data[at] = ord("7") if data[at] != ord("7") else ord("8")
    elif how == "truncated":
        data = data[: len(data) // 2]
    elif how == "empty":
        data = bytearray()
    elif how == "other key":
        data = bytearray(other.read_bytes())
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["tensor byte", "header byte", "truncated", "empty", "other key"])
def test_a_damaged_entry_is_warned_about_recomputed_and_rewritten(tmp_path, tiny_lm, how):
    store = ResultStore(tmp_path / "results")
    result = eifbench.influence(tiny_lm, FACTS, PROBES, finetune=eifbench.FineTune(lr=0.05))
    key, other = (store.key("model", "exact", result.finetune, run) for run in (run_digest_of(FACTS), "other"))
    store.save(key, result)
    store.save(other, dataclasses.replace(result, seconds=1.0))
    damaged(store.path(key), how, store.path(other))
    with pytest.warns(RuntimeWarning, match="damaged cached influence result"):
        assert store.load(key) is None
    assert store.reused == 0

    spec = parse_spec("tiny-lm,device=cpu")
    session = EifSession(RunOptions(models=(spec,), catalog_dir=ROOT / "models", cache="on"))
    session.stored.store = store
    session._models[spec] = tiny_lm
    session.stored._fingerprints[spec] = "model"
    case = next(c for c in session.cases if c.condition == "finetune")
    case = dataclasses.replace(case, recipe=result.finetune)
    with pytest.warns(RuntimeWarning, match="damaged"):
        recomputed = session.influence(case, Run(tuple(FACTS), tuple(PROBES)))
    assert bits(recomputed.matrix) == bits(result.matrix) and store.computed == 1
    assert_identical(recomputed, store.load(key))


def run_digest_of(stimuli: list) -> str:
    from eifbench.influence.digest import run_digest

    return run_digest(Run(tuple(stimuli), tuple(PROBES)))


def test_a_failed_write_warns_once_and_the_run_goes_on(tmp_path, tiny_lm):
    (tmp_path / "results").write_text("a file where the folder should be")
    store = ResultStore(tmp_path / "results")
    result = eifbench.influence(tiny_lm, FACTS[:1], PROBES)
    with pytest.warns(RuntimeWarning, match="cannot store influence results") as caught:
        for run in ("a", "b"):
            store.save(store.key("model", "exact", result.finetune, run), result)
    assert len(caught) == 1


def test_stale_scratch_files_are_removed_fresh_ones_kept(tmp_path):
    root = tmp_path / "results"
    root.mkdir()
    stale, fresh = root / ".abc.1.tmp", root / ".abc.2.tmp"
    for path in (stale, fresh):
        path.write_bytes(b"half an entry")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    ResultStore(root)
    assert not stale.exists() and fresh.exists()


def test_the_key_tracks_weights_recipe_engine_and_run(tmp_path, tiny_lm):
    store = ResultStore(tmp_path)
    before = model_fingerprint(tiny_lm)
    parameter = next(tiny_lm.module.parameters())
    with torch.no_grad():
        saved = parameter.view(-1)[0].clone()
        parameter.view(-1)[0] = torch.nextafter(saved, saved + 1)  # one ulp of one weight
        changed = model_fingerprint(tiny_lm)
        parameter.view(-1)[0] = saved
    assert before != changed and model_fingerprint(tiny_lm) == before
    recipe = eifbench.FineTune()
    keys = [
        store.key(before, "exact", recipe, "run"),
        store.key(changed, "exact", recipe, "run"),
        store.key(before, "first-order", recipe, "run"),
        store.key(before, "exact", eifbench.FineTune(lr=0.02), "run"),
        store.key(before, "exact", eifbench.FineTune(optimizer="adam"), "run"),
        store.key(before, "exact", recipe, "another run"),
    ]
    assert len({store.path(key) for key in keys}) == len(keys)
    assert {"eifbench", "source", "torch", "transformers", "format"} <= set(keys[0])


def test_weights_digest_cost_on_smollm2_sized_tensors():
    """SmolLM2-135M's shapes (30 layers, hidden 576, a 49k x 576 embedding): 134.5M float32."""
    module = torch.nn.Module()
    module.embed = torch.nn.Parameter(torch.zeros(49152, 576))
    for i in range(30):
        for name, shape in (("qo", (2 * 576, 576)), ("kv", (2 * 192, 576)), ("mlp", (3 * 1536, 576))):
            module.register_parameter(f"l{i}_{name}", torch.nn.Parameter(torch.zeros(shape)))
    start = time.perf_counter()
    weights_digest(module)
    seconds = time.perf_counter() - start
    size = sum(p.numel() for p in module.parameters())
    print(f"weights digest of {size / 1e6:.1f}M float32 parameters: {seconds:.2f} s")
    assert seconds < 30  # ≈0.4 s measured; the bound only catches a pathological slowdown


def test_session_reuses_across_sessions_bit_for_bit_and_counts(tmp_path, monkeypatch, tiny_lm):
    monkeypatch.setenv("EIFBENCH_CACHE", str(tmp_path))
    spec = parse_spec("tiny-lm,device=cpu")
    run = Run(tuple(FACTS), tuple(PROBES))

    def session(cache: str) -> EifSession:
        made = EifSession(RunOptions(models=(spec,), catalog_dir=ROOT / "models", cache=cache))
        made._models[spec] = tiny_lm
        return made

    cases = session("off").cases
    computed, reused, uncached = session("on"), session("on"), session("off")
    first = [computed.influence(case, run) for case in cases]
    again = [reused.influence(case, run) for case in cases]
    fresh = [uncached.influence(case, run) for case in cases]
    for a, b, c in zip(first, again, fresh):
        assert_identical(a, b)
        assert bits(a.matrix) == bits(c.matrix) and bits(a.reference) == bits(c.reference)
    assert (computed.stored.store.reused, computed.stored.store.computed) == (0, len(cases))
    assert (reused.stored.store.reused, reused.stored.store.computed) == (len(cases), 0)
    assert uncached.stored.store is None and uncached.stored.line() is None
    assert reused.stored.line() == (
        f"eifbench: {len(cases)} influence results reused from the cache, 0 computed ({tmp_path / 'results'})"
    )
    refreshed = session("refresh")
    [refreshed.influence(case, run) for case in cases]
    assert (refreshed.stored.store.reused, refreshed.stored.store.computed) == (0, len(cases))


def test_cache_option_is_validated_and_off_for_plain_pytest():
    from eifbench.plugin.parse import parse_options

    assert parse_options(lambda name: None, ROOT).cache == "off"
    assert parse_options(lambda name: "refresh" if name == "cache" else None, ROOT).cache == "refresh"
    with pytest.raises(InputError, match="--eif-cache 'yes': choose one of on, off, refresh"):
        parse_options(lambda name: "yes" if name == "cache" else None, ROOT)


def test_eifbench_run_caches_by_default_and_no_cache_refreshes():
    from eifbench.cli import build_parser
    from eifbench.cli.suite import RunCommand

    def cache_args(*argv: str) -> list[str]:
        args = RunCommand().pytest_args(build_parser().parse_args(["run", *argv]), ROOT)
        return [a for a in args if a.startswith("--eif-cache")]

    assert cache_args() == ["--eif-cache=on"]
    assert cache_args("--no-cache") == ["--eif-cache=refresh"]
    assert cache_args("--cache", "off") == ["--eif-cache=off"]


def entries(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Each stored result: its mtime (rewritten or not) and bytes."""
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.glob("*.safetensors")}


@pytest.mark.slow
def test_eifbench_run_resumes_reuses_and_no_cache_recomputes(tmp_path, monkeypatch):
    monkeypatch.setenv("EIFBENCH_CACHE", str(tmp_path / "cache"))  # a fresh store (tiny-lm is built in code)
    store = tmp_path / "cache" / "results"
    argv = ["run", "--model", "tiny-lm", "--limit", "4", "--json"]
    child = subprocess.Popen(  # eifbench_cli's command, in the background: SIGTERM midway
        [sys.executable, "-m", "eifbench.cli", *argv, "partial.json"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"},
    )
    deadline = time.time() + 300
    while len(entries(store) if store.is_dir() else {}) < 2 and time.time() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGTERM)
    output, _ = child.communicate(timeout=300)
    assert child.returncode == 143, output[-2000:]
    assert json.loads((tmp_path / "partial.json").read_text())["complete"] is False
    finished = entries(store)
    assert len(finished) >= 2

    resumed = eifbench_cli(*argv, "resumed.json", cwd=tmp_path, cache=True)  # recomputes only what had not finished
    assert resumed.returncode in (0, 1) and json.loads((tmp_path / "resumed.json").read_text())["complete"]
    after = entries(store)
    assert {name: after[name] for name in finished} == finished, "a finished result was recomputed"
    assert len(after) > len(finished), "the interrupted run had not finished everything"

    again = eifbench_cli(*argv, "again.json", cwd=tmp_path, cache=True)  # everything finished: nothing computed
    assert again.returncode == resumed.returncode
    assert entries(store) == after
    assert comparable_results(tmp_path / "again.json") == comparable_results(tmp_path / "resumed.json")

    fresh = eifbench_cli(*argv, "fresh.json", "--no-cache", cwd=tmp_path)  # everything computed again
    assert fresh.returncode == resumed.returncode
    rewritten = entries(store)
    assert set(rewritten) == set(after)
    assert all(rewritten[name][0] != after[name][0] for name in after), "--no-cache reused a result"
    assert comparable_results(tmp_path / "fresh.json") == comparable_results(tmp_path / "resumed.json")


@pytest.mark.slow
def test_ray_results_share_the_store_with_serial_runs(tmp_path, monkeypatch, tiny_lm):
    pytest.importorskip("ray")
    import ray

    monkeypatch.setenv("EIFBENCH_CACHE", str(tmp_path))
    spec = parse_spec("tiny-lm,device=cpu")
    run = Run(tuple(FACTS), tuple(PROBES))
    distributed = EifSession(RunOptions(models=(spec,), catalog_dir=ROOT / "models", cache="on", ray="local"))
    try:
        case = next(c for c in distributed.cases if c.condition == "finetune")
        computed = distributed.influence(case, run)
        assert spec not in distributed._models, "the driver loaded the model to digest it"
    finally:
        distributed.close()
        ray.shutdown()
    serial = EifSession(RunOptions(models=(spec,), catalog_dir=ROOT / "models", cache="on"))
    serial._models[spec] = tiny_lm
    assert_identical(serial.influence(case, run), computed)
    assert (serial.stored.store.reused, serial.stored.store.computed) == (1, 0)
