"""`eifbench run` works from a built wheel, not only from a checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import verdict_exit_code

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_run_from_an_unpacked_wheel(tmp_path):
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("eifbench-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for expected in (
        "eifbench/_suite/conftest.py",
        "eifbench/_suite/desiderata_tests/test_transitivity.py",
        "eifbench/_suite/fixtures/plugin.py",
        "eifbench/report/results/schema.json",
        "eifbench/reference/expected.py",
        "eifbench/_suite/models/smollm2.toml",
    ):
        assert expected in names
    assert not any(n.startswith(("fixtures/", "models/", "desiderata_tests/")) for n in names)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    assert "eifbench.pytest_plugin" in (site / "eifbench-0.1.0.dist-info" / "entry_points.txt").read_text()
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    # PYTHONPATH comes before site-packages: `import eifbench` (and the pytest11 entry point,
    # which names the module) now resolve to the unpacked wheel, not to the checkout
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(site)}
    out = workdir / "run.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "eifbench.cli",
            "run",
            "--model",
            "tiny-cnn",
            "--limit",
            "4",
            f"--json={out}",
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert proc.returncode == verdict_exit_code(out), proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads(out.read_text())
    assert len(doc["results"]) == 12
    assert str(site / "eifbench" / "_suite") in proc.stdout  # pytest's rootdir line
    assert all(r["nodeid"].startswith("desiderata_tests/") for r in doc["results"])  # no site-packages path in ids
    for warning in ("PytestAssertRewriteWarning", "PytestUnknownMarkWarning"):
        assert warning not in proc.stdout + proc.stderr
