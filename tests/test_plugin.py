"""The pytest plugin end to end (pytester): inert unless asked, options, records, outcomes."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.conftest import TINY_MODELS, run_suite, save_tiny_vit, verdict_exit_code

pytest_plugins = ["pytester"]
RECORD_FIELDS = (
    "model", "kind", "desideratum", "condition", "status", "metric", "value", "ci", "threshold",
    "higher_is_better", "n", "unmeasured", "seconds", "recipe", "stimuli", "bank", "versions",
)  # fmt: skip

SYNTHETIC = """
import numpy as np
import pytest
from eifbench.desiderata import DESIDERATA

VALUES = {
    "pass": [-0.9, -0.8, -0.85, -0.88, -0.82, -0.86, -0.84, -0.85],
    "fail": [0.5, 0.6, 0.55, 0.52, 0.58, 0.56, 0.54, 0.55],
    "inconclusive": [-0.6, 0.1, -0.3, 0.0, -0.5, 0.05, -0.35, -0.1],
}

@pytest.mark.parametrize("wanted", ["pass", "fail", "inconclusive"])
def test_judged(eif, eif_case, wanted):
    distance = DESIDERATA["distance"]
    if eif_case.condition == "in-context":
        eif.check(distance, eif_case)  # n/a for a classifier: a skip with the reason
    eif.judge(eif_case, distance.summarize(np.array(VALUES[wanted]), eif.thresholds))

def test_not_applicable(eif, eif_case):
    eif.check(DESIDERATA["logical consistency"], eif_case)
"""

UNRELATED_PROJECT = {
    "models/bert.toml": 'name = "bert"\nlayers = 12\n',  # any TOML: not an eifbench catalogue
    "test_unrelated.py": (
        "import sys\n"
        "def test_nothing_heavy_was_imported():\n"
        "    assert 'torch' not in sys.modules and 'eifbench.plugin.session' not in sys.modules\n"
        "    assert 'eifbench.catalog' not in sys.modules\n"
    ),
}


def test_plugin_is_inert_in_an_unrelated_project(pytester):
    for name, content in UNRELATED_PROJECT.items():
        path = pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "eifbench:" not in result.stdout.str()  # no table, no report lines (the plugins line names it)


def test_help_lists_every_option_of_the_table(pytester):
    from eifbench.plugin.options import OPTIONS

    result = pytester.runpytest("--help")
    for option in OPTIONS:
        result.stdout.fnmatch_lines([f"*--eif-{option.name}*"])


def test_records_agree_with_outcomes(pytester):
    pytester.makepyfile(test_synthetic=SYNTHETIC)
    out = pytester.path / "run.json"
    result = pytester.runpytest("--eif-model", "tiny-cnn", f"--eif-json={out}")
    result.assert_outcomes(passed=1, failed=1, xfailed=1, skipped=5)
    doc = json.loads(out.read_text())
    assert doc["schema_version"] == 3 and doc["complete"] is True
    assert {"machine_info", "commit_info", "datetime", "eifbench_version", "versions"} <= set(doc)
    assert {"torch", "transformers", "hypothesis", "eifbench", "bank"} <= set(doc["versions"])
    outcomes = {"pass": "passed", "fail": "failed", "inconclusive": "xfailed", "n/a": "skipped"}
    assert len(doc["results"]) == 8
    for record in doc["results"]:
        assert record["outcome"] == outcomes[record["status"]], record
        assert set(RECORD_FIELDS) <= set(record)
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
        (["--eif-threshold", "distance=nan"], "finite number"),
        (["--eif-tolerance", "distance=inf"], "finite number"),
        (["--eif-lr", "fast"], "is not a valid float"),
        (["--eif-optimizer", "lion"], "choose one of sgd, adam"),
        (["--eif-tolerance", "speed=1"], "unknown desiderata"),
        (["--eif-catalog", "/nonexistent"], "no such folder"),
        (["--eif-stimulus-format", "words"], "choose one of statement, completion"),
        (["--eif-model", "tiny-cnn,device=cuda:7"], "CUDA device"),
        (["--eif-html", "."], "that is a folder"),
        (["--eif-json", "test_synthetic.py/run.json"], "is a file, not a folder"),
    ],
)
def test_bad_options_are_usage_errors(pytester, args, message):
    pytester.makepyfile(test_synthetic=SYNTHETIC)
    model = [] if "--eif-model" in args else ["--eif-model", "tiny-cnn"]  # never a real model if the option passes
    result = pytester.runpytest(*model, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()[-2000:]
    result.stderr.fnmatch_lines([f"*{message}*"])
    assert "Traceback" not in result.stderr.str()


def test_quick_suite_run_on_tiny_models(tmp_path):
    """The CI smoke run: both tiny models, every desideratum, both conditions."""
    out = tmp_path / "quick.json"
    proc = run_suite(*TINY_MODELS, "--eif-limit", "6", json_path=out)
    assert proc.returncode == verdict_exit_code(out), proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads(out.read_text())
    keys = {(r["model"], r["desideratum"], r["condition"]) for r in doc["results"]}
    assert len(keys) == len(doc["results"]) == 2 * 6 * 2
    for record in doc["results"]:
        expected = {"pass": "passed", "fail": "failed", "inconclusive": "xfailed", "n/a": "skipped"}[record["status"]]
        assert record["outcome"] == expected
        if record["value"] is not None:
            assert record["ci"][0] <= record["value"] <= record["ci"][1]
    na = {(r["model"], r["desideratum"], r["condition"]) for r in doc["results"] if r["status"] == "n/a"}
    assert ("tiny-cnn", "logical consistency", "finetune") in na and ("tiny-cnn", "distance", "in-context") in na
    assert not any(r["model"] == "tiny-lm" and r["status"] == "n/a" for r in doc["results"])
    assert "eifbench: desiderata per model" in proc.stdout


def test_falsification_mode_shrinks_to_a_minimal_chain():
    """--eif-falsify runs the @given tests; a violation is reported with hypothesis's example."""
    proc = run_suite(
        "--eif-model",
        "ref-associative",
        "--eif-falsify",
        "-k",
        "transitivity_falsify and finetune",
        "--hypothesis-profile",
        "ci",
    )
    assert "test_transitivity_falsify" in proc.stdout
    assert proc.returncode == 1, proc.stdout[-3000:]  # word associations do not chain
    # hypothesis names the shrunk input "Falsifying example" (< 6.160) or "Failing test case" (newer)
    assert ("Falsifying example" in proc.stdout or "Failing test case" in proc.stdout) and "ChainItem(" in proc.stdout
    assert "categories=('babak',)" in proc.stdout  # shrunk to a depth-2 chain of the simplest words
    assert "teach 'A " in proc.stdout  # our message names the premises and the conclusion


def test_falsification_tests_are_deselected_by_default(pytester):
    pytester.makepyfile(
        test_f="import pytest\n@pytest.mark.falsify\ndef test_x(eif_case):\n    pass\ndef test_y(eif_case):\n    pass\n"
    )
    result = pytester.runpytest("--eif-model", "tiny-cnn", "-q")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*2 deselected*"])


def test_image_model_of_another_input_shape_gets_real_verdicts(tmp_path):
    save_tiny_vit(tmp_path / "vit", image_size=32, channels=3, patch=8)
    out = tmp_path / "vit.json"
    proc = run_suite(
        "--eif-model", f"hf-image:{tmp_path / 'vit'}", "--eif-limit", "4", "-k", "distance or sparseness", json_path=out
    )
    assert proc.returncode == verdict_exit_code(out), proc.stdout[-2000:]
    finetune = [r for r in json.loads(out.read_text())["results"] if r["condition"] == "finetune"]
    assert finetune and all(r["status"] != "n/a" and r["n"] + r["unmeasured"] == 4 for r in finetune)


def test_no_unknown_mark_warning_without_xdist(pytester):
    pytester.makepyfile(test_synthetic=SYNTHETIC)
    result = pytester.runpytest(
        "--eif-model", "tiny-cnn", "-p", "no:xdist", "-W", "error::pytest.PytestUnknownMarkWarning"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # the planted "fail" verdict, and nothing else
    result.assert_outcomes(passed=1, failed=1, xfailed=1, skipped=5)
    assert "PytestUnknownMarkWarning" not in result.stdout.str()


def test_ci_log_gets_one_line_per_test_and_heartbeats():
    import io

    from eifbench.progress import heartbeat_progress, terminal_progress

    assert terminal_progress("x", stream=io.StringIO()) is None
    log = io.StringIO()
    beat = heartbeat_progress("smollm2 · distance", stream=log, every=0.0)
    beat(3, 10)
    beat(10, 10)  # the end is reported by the test's own line, not the heartbeat
    assert re.fullmatch(r"\[eifbench\] smollm2 · distance: 3/10 stimuli, [\d.]+/s, ETA \d+s \(0s\)\n", log.getvalue())


def test_progress_reaches_a_ci_log_while_pytest_captures_the_test(tmp_path):
    """A long cell is never silent in a log: heartbeats pass pytest's output capture (default -s off)."""
    proc = run_suite(
        "--eif-model", "tiny-lm", "--eif-limit", "3", "-k", "distance and finetune",
        json_path=tmp_path / "r.json", env={"EIFBENCH_HEARTBEAT_SECONDS": "0"},
    )  # fmt: skip
    assert proc.returncode == verdict_exit_code(tmp_path / "r.json"), proc.stdout[-2000:] + proc.stderr[-2000:]
    beats = [line for line in proc.stderr.splitlines() if "tiny-lm-finetune · test_distance:" in line]
    assert beats and all(re.search(r"\d+/\d+ stimuli, [\d.]+/s, ETA \d+s", line) for line in beats), proc.stderr


def test_plugin_collection_overhead_is_small(tmp_path):
    """Not a timing goal (that lives in benchmarks/): the plugin imports nothing heavy to collect."""
    (tmp_path / "test_one.py").write_text("def test_one():\n    pass\n")
    code = (
        "import sys, pytest\n"
        "pytest.main(['-q', '--collect-only', '-p', 'no:cacheprovider', sys.argv[1]])\n"
        "heavy = ('torch', 'numpy', 'transformers', 'eifbench.plugin.session')\n"
        "print('HEAVY', sorted(m for m in heavy if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert "HEAVY []" in proc.stdout, proc.stdout


def _options(**given: object):
    from pathlib import Path

    from eifbench.plugin.parse import parse_options

    return parse_options(lambda name: given.get(name.replace("-", "_")), Path("."))


@pytest.mark.parametrize("spelling", ["noise invariance", "noise_invariance", "Noise_Invariance", "NOISE-INVARIANCE"])
def test_a_desideratum_option_takes_either_spelling_and_keeps_the_canonical_one(spelling):
    from eifbench.desiderata import DESIDERATA, canonical_name, desideratum_named

    assert canonical_name(spelling) == "noise invariance"
    assert desideratum_named(spelling) is DESIDERATA["noise invariance"]
    options = _options(threshold=[f"{spelling}=0.4"], tolerance=[f"{spelling}=0.2", "logical_consistency=0.3"])
    assert options.thresholds.noise_transfer == 0.4  # the threshold its verdict is judged against
    assert options.tolerances == {"noise invariance": 0.2, "logical consistency": 0.3}


def test_threshold_fields_keep_their_names_in_any_spelling():
    options = _options(threshold=["noise-spill=0.2", "Floor_Fraction=0.1", "logical consistency=0.7", "distance=-0.4"])
    thresholds = options.thresholds
    assert (thresholds.noise_spill, thresholds.floor_fraction, thresholds.consistency) == (0.2, 0.1, 0.7)
    assert thresholds.distance == -0.4


def test_an_unknown_desideratum_is_refused_with_the_known_names():
    from eifbench.desiderata import canonical_name, canonical_names
    from eifbench.errors import EifError, InputError

    with pytest.raises(InputError, match=r"Unknown desiderata \['speed'\]; known: distance, sparseness, noise inv"):
        canonical_name("speed")
    with pytest.raises(InputError, match=r"\['speed', 'noise'\]"):
        canonical_names(["distance", "speed", "noise"])
    with pytest.raises(EifError, match="unknown desiderata"):
        _options(tolerance=["speed=1"])


def test_a_models_first_load_runs_past_the_capture_and_is_not_charged_to_the_cell(monkeypatch):
    import contextlib
    import time

    import eifbench.zoo
    from eifbench.cases import RunOptions
    from eifbench.plugin.session import EifSession
    from eifbench.zoo.specs import parse_spec

    entered = []

    @contextlib.contextmanager
    def uncaptured():
        entered.append(True)
        yield

    def slow_load(spec):
        time.sleep(0.2)  # first-use work: training, converting a checkpoint
        return object()

    monkeypatch.setattr(eifbench.zoo, "load_model", slow_load)
    spec = parse_spec("tiny-cnn")
    session = EifSession(RunOptions(models=(spec,)))
    session.uncaptured = uncaptured
    session.current_start = started = time.perf_counter()
    session.model(spec)
    session.model(spec)  # loaded once
    assert entered == [True]
    assert session.current_start - started >= 0.2  # the cell's clock skips the load
