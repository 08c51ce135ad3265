"""Reports and the CI gate end to end (pytester): files, baselines, regressions, xdist."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import TINY_MODELS, comparable_results, run_suite

pytest_plugins = ["pytester"]

# Each test judges a constructed distance measurement; EIF_SHIFT moves one of them.
PLANTED = """
import os
import numpy as np
import pytest
from eifbench.desiderata import DESIDERATA

BASE = {"a": [-0.9, -0.8, -0.85], "b": [-0.7, -0.75, -0.8], "c": [0.5, 0.6, 0.55]}

@pytest.mark.parametrize("name", ["a", "b", "c"])
def test_planted(eif, eif_case, name):
    distance = DESIDERATA["distance"]
    eif.skip_if_not_applicable(distance, eif_case)
    shift = float(os.environ.get("EIF_SHIFT_" + name.upper(), "0"))
    values = np.array(BASE[name]) + shift
    eif.judge(eif_case, distance.summarize(values, eif.thresholds), matrix=np.outer(values, values))

def test_interrupt(eif, eif_case):
    if os.environ.get("EIF_INTERRUPT") and eif_case.condition == "finetune":
        raise KeyboardInterrupt
"""


@pytest.fixture
def planted(pytester):
    pytester.makepyfile(test_planted=PLANTED)
    return pytester


def run(pytester, *args, subprocess=False, **env):
    for key, value in env.items():
        os.environ[key] = value
    try:
        runner = pytester.runpytest_subprocess if subprocess else pytester.runpytest
        return runner("--eif-model", "tiny-cnn", "-p", "no:randomly", "-rfx", *args)
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
    result.assert_outcomes(passed=4, failed=1, skipped=3)
    doc = json.loads(paths["json"].read_text())
    assert len(doc["results"]) == 6 and all(
        r["recipe"]["lr"] == 0.01 for r in doc["results"] if r["condition"] == "finetune"
    )
    markdown = paths["md"].read_text()
    assert "| desideratum" in markdown and "| distance" in markdown and "FAIL 0.55" in markdown
    page = paths["html"].read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") >= 3 and "FAIL 0.55" in page
    assert "src=" not in page and "href=" not in page and "@import" not in page  # self-contained
    xml = paths["xml"].read_text()
    assert 'name="eif_status" value="fail"' in xml and 'name="eif_status" value="pass"' in xml
    result.stdout.fnmatch_lines(["*eifbench: desiderata per model*", "*1 failed, 4 passed, 3 skipped*"])


def test_planted_regression_fails_exactly_that_test(planted, tmp_path):
    baseline = tmp_path / "base.json"
    run(planted, f"--eif-save-baseline={baseline}").assert_outcomes(passed=4, failed=1, skipped=3)
    # b moves from -0.75 to -0.45: still passing (< -0.3) but 0.3 worse than tolerance 0.1
    result = run(planted, f"--eif-compare={baseline}", EIF_SHIFT_B="0.3")
    result.assert_outcomes(passed=3, failed=1, xfailed=1, skipped=3)
    result.stdout.fnmatch_lines(
        [
            "*REGRESSION of tiny-cnn*moved 0.300 in the bad direction (tolerance 0.1)*",
            "*| status *| pass *| pass*",
            "*FAILED*test_planted*tiny-cnn-finetune-b*",
        ]
    )
    assert "test_planted[tiny-cnn-finetune-a]" not in "".join(line for line in result.stdout.lines if "FAILED" in line)
    result.stdout.fnmatch_lines(["*known violation*", "*1 failed, 3 passed*1 xfailed*"])
    assert result.ret == 1
    # the same run within tolerance passes the gate (the known violation stays an xfail)
    ok = run(planted, f"--eif-compare={baseline}", EIF_SHIFT_B="0.05")
    ok.assert_outcomes(passed=4, xfailed=1, skipped=3)
    assert ok.ret == 0


@pytest.mark.parametrize(
    "content,message",
    [
        ("{not json", "is not valid JSON"),
        ('{"schema_version": 99, "results": []}', "schema_version 99"),
        ('{"hello": 1}', "is not an eifbench report"),
        ('{"schema_version": 1, "results": [{"model": "x"}]}', "lacks model/desideratum"),
    ],
)
def test_bad_baseline_files_are_clear_errors(planted, tmp_path, content, message):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    result = run(planted, f"--eif-compare={bad}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])
    assert "Traceback" not in result.stderr.str()


def test_baseline_from_another_recipe_is_refused(planted, tmp_path):
    baseline = tmp_path / "base.json"
    run(planted, f"--eif-save-baseline={baseline}")
    result = run(planted, f"--eif-compare={baseline}", "--eif-lr=0.5")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*measured tiny-cnn (finetune) with*this run uses*lr*0.5*"])


def test_interrupted_run_writes_a_partial_report(planted, tmp_path):
    out = tmp_path / "partial.json"
    # a SIGINT arrives as KeyboardInterrupt in the running test; run it out of process
    result = run(planted, f"--eif-json={out}", subprocess=True, EIF_INTERRUPT="1")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    doc = json.loads(out.read_text())
    assert doc["complete"] is False and len(doc["results"]) >= 3


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
    assert missing.returncode == 2 and "No baseline file" in missing.stderr


@pytest.mark.slow
def test_serial_and_xdist_give_identical_results(tmp_path):
    serial, parallel = tmp_path / "serial.json", tmp_path / "parallel.json"
    for extra, out in (([], serial), (["-n", "2", "--dist", "loadgroup"], parallel)):
        proc = run_suite(*TINY_MODELS, "--eif-limit", "6", *extra, json_path=out)
        assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-2000:]
    assert comparable_results(serial) == comparable_results(parallel)


def test_progress_only_on_a_tty(tmp_path):
    import io

    from eifbench.progress import terminal_progress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert terminal_progress("x", stream=io.StringIO()) is None
    tty = Tty()
    progress = terminal_progress("smollm2 · distance", stream=tty, min_seconds=0.0)
    progress(1, 4)
    progress(4, 4)
    text = tty.getvalue()
    assert "[eifbench] smollm2 · distance: 1/4 stimuli" in text and "4/4" in text and text.endswith("\r\033[K")


def test_in_context_records_do_not_depend_on_the_recipe(planted, tmp_path):
    baseline = tmp_path / "base.json"
    run(planted, "--eif-model", "tiny-lm", f"--eif-save-baseline={baseline}")
    records = json.loads(baseline.read_text())["results"]
    assert {json.dumps(r["recipe"]) for r in records if r["condition"] == "in-context"} == {'{"engine": "in-context"}'}
    # another lr changes the finetune recipe: refused; the in-context records alone would not be
    refused = run(planted, "--eif-model", "tiny-lm", f"--eif-compare={baseline}", "--eif-lr=0.5")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines(["*measured tiny-* (finetune) with*"])
    assert "(in-context)" not in refused.stderr.str()
