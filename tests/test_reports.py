"""Reports and the CI gate end to end (pytester): files, baselines, regressions, refusals, interruptions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from tests.conftest import TINY_MODELS, comparable_results, interrupted_run, run_suite, verdict_exit_code
from tests.numbers import differences

pytest_plugins = ["pytester"]

# Each test judges a constructed distance measurement; EIF_SHIFT_<NAME> moves one of them.
PLANTED = """
import os
import numpy as np
import pytest
from eifbench.desiderata import DESIDERATA

BASE = {
    "a": [-0.9, -0.8, -0.85, -0.88, -0.82, -0.86, -0.84, -0.85],
    "b": [-0.7, -0.75, -0.8, -0.72, -0.78, -0.74, -0.76, -0.75],
    "c": [0.5, 0.6, 0.55, 0.52, 0.58, 0.56, 0.54, 0.55],
}

@pytest.mark.parametrize("name", ["a", "b", "c"])
def test_planted(eif, eif_case, name):
    distance = DESIDERATA["distance"]
    if eif_case.condition == "in-context" and eif_case.kind.value == "classifier":
        eif.check(distance, eif_case)
    shift = float(os.environ.get("EIF_SHIFT_" + name.upper(), "0"))
    eif.judge(eif_case, distance.summarize(np.array(BASE[name]) + shift, eif.thresholds))

def test_interrupt(eif, eif_case):
    if os.environ.get("EIF_INTERRUPT") and eif_case.condition == "finetune":
        raise KeyboardInterrupt
    pytest.skip("interrupts only when asked")  # a measuring test that passed without a record is a missing result
"""


@pytest.fixture
def planted(pytester):
    pytester.makepyfile(test_planted=PLANTED)
    return pytester


def run(pytester, *args, subprocess=False, model="tiny-cnn", **env):
    for key, value in env.items():
        os.environ[key] = value
    try:
        runner = pytester.runpytest_subprocess if subprocess else pytester.runpytest
        return runner("--eif-model", model, "-rfx", *args)
    finally:
        for key in env:
            os.environ.pop(key, None)


def test_json_markdown_html_and_junit(planted, tmp_path):
    paths = {k: tmp_path / f"r.{k}" for k in ("json", "md", "html", "xml")}
    result = run(
        planted,
        f"--eif-json={paths['json']}",
        f"--eif-markdown={paths['md']}",
        f"--eif-html={paths['html']}",
        f"--junitxml={paths['xml']}",
    )
    result.assert_outcomes(passed=2, failed=1, skipped=5, xfailed=0)
    doc = json.loads(paths["json"].read_text())
    assert len(doc["results"]) == 6 and all(
        r["recipe"]["lr"] == 0.01 for r in doc["results"] if r["condition"] == "finetune"
    )
    markdown = paths["md"].read_text()
    assert "| distance" in markdown and "FAIL 0.55" in markdown and "<details>" in markdown
    page = paths["html"].read_text()
    assert page.startswith("<!DOCTYPE html>") and "FAIL 0.55" in page
    assert "src=" not in page and "href=" not in page and "@import" not in page  # self-contained
    xml = paths["xml"].read_text()
    assert 'name="eif_status" value="fail"' in xml and 'name="eif_status" value="pass"' in xml
    result.stdout.fnmatch_lines(["*eifbench: desiderata per model*", f"*eifbench: wrote {paths['json']}*"])
    # one verdict line, the same in every report, stating the exit code the run returns
    line = "2 pass, 1 fail, 3 n/a → FAILED (exit 1)"
    assert result.ret == 1 and f"eifbench: {line}" in result.stdout.str()
    assert f"**{line}**" in markdown and line in page


def test_planted_regression_fails_exactly_that_test(planted, tmp_path):
    baseline = tmp_path / "base.json"
    saved = run(planted, f"--eif-save-baseline={baseline}")
    assert saved.ret == 0  # saving a baseline succeeds whatever the verdicts
    saved.stdout.fnmatch_lines(["*baseline saved to*1 failing*exit 0*"])
    assert "eifbench: 2 pass, 1 fail, 3 n/a → baseline saved (exit 0)" in saved.stdout.str()
    # b moves from -0.75 to -0.45: still passing (< -0.3) but 0.3 worse than tolerance 0.1
    md = tmp_path / "gate.md"
    result = run(planted, f"--eif-compare={baseline}", f"--eif-markdown={md}", EIF_SHIFT_B="0.3")
    result.assert_outcomes(passed=1, failed=1, xfailed=1, skipped=5)
    result.stdout.fnmatch_lines(["*REGRESSION of tiny-cnn*moved 0.300 in the bad direction (tolerance 0.1)*"])
    assert result.ret == 1
    summary = md.read_text()
    assert "distance · finetune: REGRESSED" in summary and "was PASS -0.750, now PASS -0.450" in summary
    assert "distance · finetune: FAIL (known)" in summary
    assert "REGRESSED = worse than the baseline" in summary and str(baseline) in summary
    gated = "1 regression, 0 improvements, 1 known violation → gate FAILED (exit 1)"
    assert f"**{gated}**" in summary and f"eifbench: {gated}" in result.stdout.str()
    # within tolerance: the gate passes (the known violation stays an xfail)
    ok = run(planted, f"--eif-compare={baseline}", EIF_SHIFT_B="0.05")
    ok.assert_outcomes(passed=2, xfailed=1, skipped=5)
    assert ok.ret == 0 and "→ gate ok (exit 0)" in ok.stdout.str()
    # c improves from FAIL to PASS: flagged as an improvement, not silently a pass
    better = tmp_path / "better.md"
    improved = run(planted, f"--eif-compare={baseline}", f"--eif-markdown={better}", EIF_SHIFT_C="-1.4")
    assert improved.ret == 0 and "IMPROVED" in better.read_text()


def _edit(path, **changes):
    doc = json.loads(path.read_text())
    for key, value in changes.items():
        index, field = key.split("__")
        doc["results"][int(index)][field] = value
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    "edit,message",
    [
        ({"0__value": "high"}, "results/0/value: 'high' is not of type 'number', 'null'"),
        ({"1__ci": [0.1]}, "results/1/ci"),
        ({"0__ci": "wide"}, "results/0/ci"),
        ({"2__higher_is_better": None}, "results/2/higher_is_better"),
        ({"0__desideratum": ["distance"]}, "results/0/desideratum"),
        ({"0__status": "great"}, "results/0/status"),
    ],
)
def test_baseline_fields_are_validated_against_the_schema(planted, tmp_path, edit, message):
    baseline = tmp_path / "base.json"
    run(planted, f"--eif-save-baseline={baseline}")
    _edit(baseline, **edit)
    result = run(planted, f"--eif-compare={baseline}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])
    assert "Traceback" not in result.stderr.str()
    cli = _cli("compare", str(baseline), str(baseline))
    assert cli.returncode == 2 and message in cli.stderr and "Traceback" not in cli.stderr


@pytest.mark.parametrize(
    "content,message",
    [
        ("{not json", "is not valid JSON"),
        ('{"schema_version": 99, "results": []}', "schema_version 99"),
        ('{"schema_version": "2", "results": []}', "schema_version '2', this eifbench reads 3"),
        ('{"schema_version": 2, "results": []}', "reads 3 (Desiderata v2: it scored items the model never learned"),
        ('{"hello": 1}', "is not an eifbench report"),
        (
            '{"schema_version": 3, "eifbench_version": "x", "complete": true, "versions": {}, '
            '"results": [{"value": NaN}]}',
            "not a number JSON allows",
        ),
    ],
)
def test_bad_baseline_files_are_clear_errors(planted, tmp_path, content, message):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    result = run(planted, f"--eif-compare={bad}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])
    assert "Traceback" not in result.stderr.str()


def test_baseline_from_another_recipe_is_refused_whichever_record_differs(planted, tmp_path):
    baseline = tmp_path / "base.json"
    run(planted, f"--eif-save-baseline={baseline}")
    _edit(baseline, **{"2__recipe": {"engine": "exact", "steps": 1, "lr": 0.1, "optimizer": "sgd", "trainable": None}})
    result = run(planted, f"--eif-compare={baseline}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*measured tiny-cnn (finetune, distance) with*lr*0.1*this run of tiny-cnn uses*"])
    report = tmp_path / "run.json"
    run(planted, f"--eif-json={report}")
    cli = _cli("compare", str(baseline), str(report))
    assert cli.returncode == 2 and "'lr': 0.1" in cli.stderr


def test_a_baseline_of_another_model_needs_compare_as_and_the_same_kind(planted, tmp_path):
    baseline = tmp_path / "base.json"
    run(planted, f"--eif-save-baseline={baseline}")
    other = run(planted, f"--eif-compare={baseline}", model="ref-local")
    assert other.ret == pytest.ExitCode.USAGE_ERROR
    assert "measured ['tiny-cnn'], not 'ref-local'" in other.stderr.str()
    assert "pass --eif-compare-as 'tiny-cnn'" in other.stderr.str()
    named = run(planted, f"--eif-compare={baseline}", "--eif-compare-as=tiny-cnn", "--eif-lr=0.01", model="ref-local")
    assert named.ret == pytest.ExitCode.OK and "REGRESSION" not in named.stdout.str()  # c fails in both: known
    lm = run(planted, f"--eif-compare={baseline}", "--eif-compare-as=tiny-cnn", model="tiny-lm")
    assert lm.ret == pytest.ExitCode.USAGE_ERROR
    lm.stderr.fnmatch_lines(["*measured 'tiny-cnn' as a classifier, but 'tiny-lm' is a causal-lm*"])


def test_a_baseline_on_other_stimuli_is_a_usage_error(tmp_path):
    baseline, out = tmp_path / "base.json", tmp_path / "seed1.json"
    args = ("--eif-model", "ref-logical", "--eif-limit", "4", "-k", "distance")
    assert run_suite(*args, f"--eif-save-baseline={baseline}").returncode == 0
    proc = run_suite(*args, f"--eif-compare={baseline}", "--eif-seed=1")
    assert proc.returncode == 4, proc.stdout[-2000:]
    assert (
        "measured distance (finetune) on stimuli" in proc.stdout + proc.stderr
        and "meaningless" in proc.stdout + proc.stderr
    )
    assert run_suite(*args, "--eif-seed=1", json_path=out).returncode == 0
    cli = _cli("compare", str(baseline), str(out))
    assert cli.returncode == 2 and "on stimuli" in cli.stderr and "Traceback" not in cli.stderr


def test_interrupted_run_writes_a_partial_report(planted, tmp_path):
    out = tmp_path / "partial.json"
    result = run(planted, f"--eif-json={out}", subprocess=True, EIF_INTERRUPT="1")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    doc = json.loads(out.read_text())
    assert doc["complete"] is False and len(doc["results"]) >= 3


def test_sigterm_writes_the_same_partial_report_and_exits_143(tmp_path):
    returncode, output, doc = interrupted_run(tmp_path, signal.SIGTERM)
    assert returncode == 143, output
    assert doc["complete"] is False and [r["status"] for r in doc["results"] if r["condition"] == "finetune"] == [
        "pass"
    ]
    assert "eifbench: desiderata per model" in output


def test_a_report_that_cannot_be_written_at_the_end_still_prints_the_table(planted, tmp_path):
    planted.makeconftest(  # patched for this in-process run only: unconfigure puts the writer back
        "import eifbench.report.rendering.writers as w\n"
        "saved = w.write_json\n"
        "def fail(*a, **k):\n    raise OSError(28, 'No space left on device')\n"
        "def pytest_configure(config):\n    w.write_json = fail\n"
        "def pytest_unconfigure(config):\n    w.write_json = saved\n"
    )
    result = run(planted, f"--eif-json={tmp_path / 'r.json'}")
    result.stdout.fnmatch_lines(
        ["*eifbench: desiderata per model*", "*ERROR could not write --eif-json*No space left on device*"]
    )
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR and "Traceback" not in result.stdout.str()


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "eifbench.cli", *args], capture_output=True, text=True, timeout=120)


def test_compare_cli_exit_codes(planted, tmp_path):
    old, same, worse = tmp_path / "old.json", tmp_path / "same.json", tmp_path / "worse.json"
    run(planted, f"--eif-json={old}")
    run(planted, f"--eif-json={same}", EIF_SHIFT_A="0.02")
    run(planted, f"--eif-json={worse}", EIF_SHIFT_A="1.0")
    ok = _cli("compare", str(old), str(same))
    assert ok.returncode == 0 and "no regression" in ok.stdout
    bad = _cli("compare", str(old), str(worse))
    assert bad.returncode == 1 and "REGRESSION" in bad.stdout and "1 regression(s)" in bad.stdout
    (tmp_path / "broken.json").write_text("[1, 2")
    broken = _cli("compare", str(old), str(tmp_path / "broken.json"))
    assert broken.returncode == 2 and "not valid JSON" in broken.stderr and "Traceback" not in broken.stderr
    missing = _cli("compare", str(old), str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "No report file" in missing.stderr
    other = tmp_path / "other.json"
    run(planted, f"--eif-json={other}", model="ref-local")
    unmatched = _cli("compare", str(old), str(other))
    assert unmatched.returncode == 2 and "nothing to gate against" in unmatched.stderr
    assert _cli("compare", str(old), str(other), "--compare-as", "tiny-cnn").returncode == 0  # the same planted values


@pytest.mark.slow
def test_serial_and_xdist_give_the_same_results(tmp_path):
    """The same verdicts, and values equal to float rounding.

    Each xdist worker takes its share of the cores (one torch thread each on 2 cores), and a
    reduction split over fewer threads rounds differently: values move by about 1e-8 (a float32
    model), an interval bound by up to about 1e-6 (a resampled quantile), never
    a verdict. The rendered explanations quote those values, so they are left out.
    """
    serial, parallel = tmp_path / "serial.json", tmp_path / "parallel.json"
    for extra, out in (([], serial), (["-n", "2", "--dist", "loadgroup"], parallel)):
        proc = run_suite(*TINY_MODELS, "--eif-limit", "6", *extra, json_path=out)
        assert proc.returncode == verdict_exit_code(out), proc.stdout[-2000:] + proc.stderr[-2000:]

    def numbers(path):
        return [
            {k: v for k, v in r.items() if k not in ("examples", "figure", "reason")} for r in comparable_results(path)
        ]

    assert [r["status"] for r in comparable_results(serial)] == [r["status"] for r in comparable_results(parallel)]
    assert differences(numbers(serial), numbers(parallel), rel=1e-5, absolute=1e-5) == []


def test_log_samples_holds_every_computed_cell(tmp_path):
    from eifbench.desiderata import DESIDERATA
    from eifbench.tasks.base import TaskSpec

    samples = tmp_path / "samples.jsonl"
    proc = run_suite(
        "--eif-model", "ref-logical", "--eif-limit", "4", "-k", "consistency", f"--eif-log-samples={samples}"
    )
    assert proc.returncode == 0, proc.stdout[-2000:]
    lines = [json.loads(line) for line in samples.read_text().splitlines()]
    task = DESIDERATA["logical consistency"].build(TaskSpec("causal-lm", 4))
    cells = int(task.runs["main"].mask.sum())
    assert len(lines) == 2 * cells  # finetune and in-context
    first = lines[0]
    assert {"model", "condition", "desideratum", "stimuli", "run", "stimulus", "probe", "eif", "before"} <= set(first)
    assert first["probe"]["prompt"] and isinstance(first["eif"], float)
