"""`eifbench run` in a user's project: it leaves only the reports asked for, prints suite-relative
test ids, and records the user's commit (not eifbench's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

RUN = ("run", "--model", "tiny-cnn", "--limit", "2", "--json", "r.json", "--", "-k", "distance", "-v", "-rA")


def _eifbench(*args: str, cwd: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
        "EIFBENCH_CACHE": str(cache),
        "GIT_CEILING_DIRECTORIES": str(cwd.parent),  # git must not find a checkout above the project
    }
    env.pop("HYPOTHESIS_STORAGE_DIRECTORY", None)
    return subprocess.run(
        [sys.executable, "-m", "eifbench.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def _git(project: Path, *args: str) -> str:
    identity = ("-c", "user.name=ci", "-c", "user.email=ci@example.com", "-c", "commit.gpgsign=false")
    done = subprocess.run(["git", *identity, *args], cwd=project, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture(scope="module")
def plain_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    base = tmp_path_factory.mktemp("plain")
    project = base / "project"
    project.mkdir()
    return project, _eifbench(*RUN, cwd=project, cache=base / "cache")


def _check_run(project: Path, proc: subprocess.CompletedProcess[str], before: tuple[str, ...] = ()) -> dict:
    assert proc.returncode in (0, 1) and (project / "r.json").is_file(), proc.stdout[-3000:] + proc.stderr[-3000:]
    # no .hypothesis/, .benchmarks/, .pytest_cache/: only the report asked for is new
    assert sorted(p.name for p in project.iterdir()) == sorted([*before, "r.json"])
    assert "desiderata_tests/test_distance.py::test_distance[tiny-cnn-finetune]" in proc.stdout, proc.stdout
    assert "../" not in proc.stdout and "_suite" not in proc.stdout.split("rootdir:")[-1].split("\n", 1)[-1]
    assert "benchmark:" not in proc.stdout  # pytest-benchmark is off in suite runs
    return json.loads((project / "r.json").read_text())


def test_a_run_outside_a_checkout_leaves_only_its_report_and_records_no_commit(plain_project):
    project, proc = plain_project
    doc = _check_run(project, proc)
    assert doc["commit_info"] == {}  # not eifbench's own checkout
    assert {r["nodeid"].split("::")[0] for r in doc["results"]} == {"desiderata_tests/test_distance.py"}


def test_a_run_in_a_git_project_records_that_projects_commit(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    _git(project, "init", "-q", ".")
    (project / "train.py").write_text("print('fine-tune')\n")
    _git(project, "add", "train.py")
    _git(project, "commit", "-q", "-m", "one")
    proc = _eifbench(*RUN, cwd=project, cache=tmp_path / "cache")
    doc = _check_run(project, proc, before=(".git", "train.py"))
    assert doc["commit_info"]["id"] == _git(project, "rev-parse", "HEAD")
    assert doc["commit_info"]["branch"] == _git(project, "rev-parse", "--abbrev-ref", "HEAD")


def test_compare_takes_a_tolerance_spelled_as_in_metric_keys(plain_project, tmp_path):
    project, _ = plain_project
    report = str(project / "r.json")
    cache = tmp_path / "cache"
    for spelling in ("noise_invariance=0.2", "Logical_Consistency=0.2", "noise invariance=0.2"):
        proc = _eifbench("compare", report, report, "--tolerance", spelling, cwd=tmp_path, cache=cache)
        assert proc.returncode == 0, spelling + proc.stdout[-2000:] + proc.stderr[-2000:]
        assert "noise_invariance" not in proc.stdout  # reports keep the canonical spelling
    bad = _eifbench("compare", report, report, "--tolerance", "speed=1", cwd=tmp_path, cache=cache)
    assert bad.returncode == 2 and "unknown desiderata" in bad.stderr and "noise invariance" in bad.stderr
