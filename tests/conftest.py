"""Shared fixtures of the library's own tests. Nothing here reaches a model hub."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

import eifbench  # noqa: E402


@pytest.fixture(scope="session")
def tiny_lm() -> eifbench.CausalLMAdapter:
    return eifbench.load_model("tiny-lm", "device=cpu")


@pytest.fixture(scope="session")
def tiny_cnn() -> eifbench.ClassifierAdapter:
    return eifbench.load_model("tiny-cnn", "device=cpu")


@pytest.fixture(scope="session")
def images() -> list[eifbench.Example]:
    generator = torch.Generator().manual_seed(1)
    x = torch.rand(12, 1, 28, 28, generator=generator)
    y = torch.randint(0, 10, (12,), generator=generator)
    return [eifbench.Example(x[i], int(y[i])) for i in range(12)]


FACTS = [
    eifbench.Text("A wug is a kind of blicket."),
    eifbench.Example("Zorbs live in", " deep caves."),
    eifbench.Text("All blickets have a tail."),
]
PROBES = [
    eifbench.Example("A wug is a kind of", " blicket."),
    eifbench.Example("Zorbs live in", " deep caves."),
    eifbench.Example("A wug has a", " tail."),
    eifbench.Example("The sky is", " blue."),
    eifbench.Example("Q", "uick brown fox jumps over the lazy dog."),
]


ROOT = Path(__file__).resolve().parents[1]
TINY_MODELS = ("--eif-model", "tiny-cnn", "--eif-model", "tiny-lm")


def run_suite(*args: str, json_path: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the desiderata suite in a fresh process from the repository root."""
    argv = [sys.executable, "-m", "pytest", "desiderata_tests", "-q", "-p", "no:cacheprovider", *args]
    if json_path is not None:
        argv.append(f"--eif-json={json_path}")
    return subprocess.run(
        argv,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
    )


def interrupted_run(tmp_path: Path, signum: int) -> tuple[int, str, dict]:
    """Run a two-test suite on tiny-cnn, send ``signum`` once the second test is running.

    The first test records a PASS; the second sleeps. Returns the exit code, the output and
    the JSON report the interrupted run wrote.
    """
    started = tmp_path / "started"
    (tmp_path / "test_slow.py").write_text(
        "import pathlib, time\nimport numpy as np\nfrom eifbench.desiderata import DESIDERATA\n"
        "def test_a(eif, eif_case):\n"
        "    d = DESIDERATA['distance']\n    eif.check(d, eif_case) if eif_case.condition == 'in-context' else None\n"
        "    values = np.array([-0.9, -0.8, -0.85, -0.88, -0.82, -0.86, -0.84, -0.85])\n"
        "    eif.judge(eif_case, d.summarize(values, eif.thresholds))\n"
        "def test_b(eif, eif_case):\n"
        f"    pathlib.Path({str(started)!r}).touch()\n    time.sleep(60)\n"
    )
    out = tmp_path / "partial.json"
    argv = [sys.executable, "-m", "pytest", str(tmp_path / "test_slow.py"), "--eif-model", "tiny-cnn"]
    proc = subprocess.Popen(
        [*argv, f"--eif-json={out}", "-p", "no:cacheprovider", "-q"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.time() + 300  # a loaded 2-core machine can take a minute to start pytest and torch
    while not started.exists() and time.time() < deadline:
        time.sleep(0.1)
    assert started.exists(), "the child run never reached its second test"
    proc.send_signal(signum)
    output, _ = proc.communicate(timeout=300)
    return proc.returncode, output, json.loads(out.read_text())


def comparable_results(path: Path) -> list[dict]:
    """A report's records without what legitimately differs between runs (timing, pytest outcome)."""
    records = json.loads(path.read_text())["results"]
    return sorted(
        ({k: v for k, v in r.items() if k not in ("seconds", "outcome")} for r in records), key=lambda r: r["nodeid"]
    )


def save_tiny_vit(
    folder: Path,
    *,
    image_size: int = 28,
    channels: int = 1,
    patch: int = 7,
    normalize: tuple[list[float], list[float]] | None = None,
    labels: int = 10,
) -> Path:
    """Save a seeded one-layer ViT image classifier (and, given ``normalize=(mean, std)``, its
    image processor) with save_pretrained; returns the folder."""
    from transformers import ViTConfig, ViTForImageClassification

    if normalize is not None:  # what ViTImageProcessor.save_pretrained writes (it needs PIL to be built)
        folder.mkdir(parents=True, exist_ok=True)
        processor = {
            "image_processor_type": "ViTImageProcessor",
            "do_resize": True,
            "size": {"height": image_size, "width": image_size},
            "do_rescale": True,
            "rescale_factor": 1 / 255,
            "do_normalize": True,
            "image_mean": normalize[0],
            "image_std": normalize[1],
        }
        (folder / "preprocessor_config.json").write_text(json.dumps(processor))

    torch.manual_seed(0)
    config = ViTConfig(
        image_size=image_size,
        patch_size=patch,
        num_channels=channels,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=labels,
    )
    ViTForImageClassification(config).save_pretrained(folder)
    return folder


def fail_readout_on_call(monkeypatch, adapter, call: int, error: BaseException) -> None:
    """Make the adapter's ``call``-th read-out raise ``error`` (1 = the baseline read-out)."""
    real, calls = adapter.readout, {"n": 0}

    def readout(prepared):
        calls["n"] += 1
        if calls["n"] == call:
            raise error
        return real(prepared)

    monkeypatch.setattr(adapter, "readout", readout)


def verdict_exit_code(path: Path) -> int:
    """The exit code a complete, ungated run must give for its report: 1 when a verdict fails, else 0.

    Asserting this exact code (never ``in (0, 1)``) is what tells a failing verdict from a
    crashed test, which also exits 1 but leaves the report incomplete.
    """
    doc = json.loads(Path(path).read_text())
    assert doc["complete"], doc.get("missing")
    return 1 if any(r["status"] == "fail" for r in doc["results"]) else 0


def eifbench_cli(*args: str, cwd: Path, timeout: int = 600, cache: bool = False) -> subprocess.CompletedProcess[str]:
    """``eifbench <args>`` in a fresh process (offline, this checkout's sources first).

    ``eifbench run`` reuses stored influence results by default; a test runs it with the
    result cache off (unless ``cache=True`` or it passes a cache option itself), so what it
    checks was computed by the engines in this run, not read back from an earlier one.
    """
    if args[:1] == ("run",) and not cache and not any(a.startswith(("--cache", "--no-cache")) for a in args):
        args = ("run", "--cache=off", *args[1:])
    return subprocess.run(
        [sys.executable, "-m", "eifbench.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"},
    )


def tiny_trainer(model, tokenizer, out: Path, *, lr: float = 1e-3, max_steps: int = 6):  # noqa: ANN001, ANN201
    """A real transformers Trainer on 16 short statements: ``max_steps`` steps, evaluating every 2."""
    from transformers import DataCollatorForLanguageModeling, Trainer, TrainingArguments

    rows = [{"input_ids": tokenizer(f"A wug number {i} is a kind of blicket.").input_ids} for i in range(16)]
    args = TrainingArguments(
        output_dir=str(out),
        max_steps=max_steps,
        per_device_train_batch_size=4,
        eval_strategy="steps",
        eval_steps=2,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        learning_rate=lr,
        disable_tqdm=True,
    )
    return Trainer(
        model=model,
        args=args,
        train_dataset=rows,
        eval_dataset=rows[:4],
        data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False),
        processing_class=tokenizer,
    )
