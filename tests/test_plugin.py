"""The pytest plugin end to end (pytester): options, records, outcomes, the quick suite run."""

from __future__ import annotations

import json

import pytest

from tests.conftest import TINY_MODELS, run_suite, save_tiny_vit

pytest_plugins = ["pytester"]

SYNTHETIC = """
import numpy as np
import pytest
from eifbench.desiderata import DESIDERATA

VALUES = {"pass": [-0.9, -0.8, -0.85], "fail": [0.5, 0.6, 0.55], "inconclusive": [-0.6, 0.1, -0.3, 0.0]}

@pytest.mark.parametrize("wanted", ["pass", "fail", "inconclusive"])
def test_judged(eif, eif_case, wanted):
    distance = DESIDERATA["distance"]
    eif.skip_if_not_applicable(distance, eif_case)
    eif.judge(eif_case, distance.summarize(np.array(VALUES[wanted]), eif.thresholds))

def test_not_applicable(eif, eif_case):
    eif.skip_if_not_applicable(DESIDERATA["logical consistency"], eif_case)
"""


def test_help_lists_the_options(pytester):
    result = pytester.runpytest("--help")
    for option in (
        "--eif-model",
        "--eif-lr",
        "--eif-limit",
        "--eif-threshold",
        "--eif-json",
        "--eif-compare",
        "--eif-save-baseline",
        "--eif-markdown",
        "--eif-html",
        "--eif-stimuli",
        "--eif-paranoid",
    ):
        result.stdout.fnmatch_lines([f"*{option}*"])


def test_records_agree_with_outcomes(pytester):
    pytester.makepyfile(test_synthetic=SYNTHETIC)
    out = pytester.path / "run.json"
    result = pytester.runpytest("--eif-model", "tiny-cnn", f"--eif-json={out}", "-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1, xfailed=1, skipped=5)
    doc = json.loads(out.read_text())
    assert doc["schema_version"] == 1 and doc["complete"] is True
    assert {"machine_info", "commit_info", "datetime", "eifbench_version"} <= set(doc)
    outcomes = {"pass": "passed", "fail": "failed", "inconclusive": "xfailed", "n/a": "skipped"}
    assert len(doc["results"]) == 8  # one per test, n/a included
    for record in doc["results"]:
        assert record["outcome"] == outcomes[record["status"]], record
        for key in (
            "model",
            "desideratum",
            "condition",
            "status",
            "metric",
            "value",
            "ci",
            "threshold",
            "higher_is_better",
            "n",
            "seconds",
            "recipe",
        ):
            assert key in record
        assert record["model"] == "tiny-cnn"
    result.stdout.fnmatch_lines(["*eifbench: desiderata per model*", "*distance*finetune*PASS*"])


def test_lr_sweep_parametrizes_ids(pytester):
    pytester.makepyfile(test_synthetic=SYNTHETIC)
    result = pytester.runpytest("--eif-model", "tiny-lm", "--eif-lr", "1e-4,1e-3", "--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "*test_judged*tiny-lm-finetune-lr0.0001-pass*",
            "*test_judged*tiny-lm-finetune-lr0.001-pass*",
            "*test_judged*tiny-lm-in-context-pass*",
        ]
    )


@pytest.mark.parametrize(
    "args,message",
    [
        (["--eif-model", "no-such-model"], "Unknown model spec 'no-such-model'"),
        (["--eif-threshold", "distance"], "must be NAME=VALUE"),
        (["--eif-threshold", "bogus=1"], "Unknown threshold"),
        (["--eif-lr", "fast"], "is not a valid float"),
        (["--eif-optimizer", "lion"], "choose one of sgd, adam"),
        (["--eif-tolerance", "speed=1"], "unknown desiderata"),
    ],
)
def test_bad_options_are_usage_errors(pytester, args, message):
    pytester.makepyfile(test_synthetic=SYNTHETIC)
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])
    assert "Traceback" not in result.stderr.str()


def test_quick_suite_run_on_tiny_models(tmp_path):
    """The CI smoke run: both tiny models, every desideratum, both conditions."""
    out = tmp_path / "quick.json"
    proc = run_suite(*TINY_MODELS, "--eif-limit", "8", json_path=out)
    assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads(out.read_text())
    keys = {(r["model"], r["desideratum"], r["condition"]) for r in doc["results"]}
    assert len(keys) == len(doc["results"]) == 2 * 6 * 2
    for record in doc["results"]:
        expected = {"pass": "passed", "fail": "failed", "inconclusive": "xfailed", "n/a": "skipped"}[record["status"]]
        assert record["outcome"] == expected
        if record["status"] != "n/a":
            assert record["n"] >= 2 and record["ci"][0] <= record["value"] <= record["ci"][1]
    na = {(r["model"], r["desideratum"], r["condition"]) for r in doc["results"] if r["status"] == "n/a"}
    assert ("tiny-cnn", "logical consistency", "finetune") in na and ("tiny-cnn", "distance", "in-context") in na
    assert not any(r["model"] == "tiny-lm" and r["status"] == "n/a" for r in doc["results"])
    assert "eifbench: desiderata per model" in proc.stdout


def test_falsification_mode_shrinks_to_a_minimal_chain():
    """--eif-falsify runs the @given tests; a violation is reported with hypothesis's example."""
    proc = run_suite(
        "--eif-model",
        "tiny-lm",
        "--eif-falsify",
        "-k",
        "transitivity_falsify and finetune",
        "--hypothesis-profile",
        "ci",
    )
    assert "test_transitivity_falsify" in proc.stdout
    assert proc.returncode == 1, proc.stdout[-3000:]  # random tiny-lm does not learn conclusions
    assert "Falsifying example" in proc.stdout and "FactChain(" in proc.stdout
    assert "teach 'A " in proc.stdout  # our message names the premises and the conclusion


def test_falsification_tests_are_deselected_by_default(pytester):
    pytester.makepyfile(
        test_f="import pytest\n@pytest.mark.falsify\ndef test_x(eif_case):\n    pass\ndef test_y(eif_case):\n    pass\n"
    )
    result = pytester.runpytest("--eif-model", "tiny-cnn", "-q")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*2 deselected*"])


def test_image_model_of_another_input_shape_is_not_applicable(tmp_path):
    save_tiny_vit(tmp_path / "vit", image_size=32, channels=3, patch=8)
    out = tmp_path / "vit.json"
    proc = run_suite("--eif-model", f"hf-image:{tmp_path / 'vit'}", "-k", "distance or sparseness", json_path=out)
    assert proc.returncode == 0, proc.stdout[-2000:]
    records = json.loads(out.read_text())["results"]
    finetune = [r for r in records if r["condition"] == "finetune"]
    assert finetune and all(r["status"] == "n/a" and "(3, 32, 32)" in r["reason"] for r in finetune)
