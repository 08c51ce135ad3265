"""A refactor changes no number: stimuli, measured cells and rendered reports are what they were.

The golden files in ``tests/golden/`` hold the stimulus digest of every default task, and
the terminal table, markdown and HTML rendered from the committed baseline. The CNN cells
of that baseline are measured again here and must match it value for value. The
reference learners' numbers are pinned in ``tests/test_reference.py`` on the same run
its verdicts come from. A change meant to move a number regenerates these files
(``python -m tests.numbers``) and says so.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import eifbench_cli, verdict_exit_code
from tests.numbers import (
    BASELINE,
    CNN_MODELS,
    GOLDEN,
    cell_numbers,
    differences,
    golden_name,
    golden_text,
    rendered_reports,
    stimulus_digests,
)


def test_every_default_task_draws_the_same_stimuli():
    want = json.loads((GOLDEN / "stimuli.json").read_text())
    assert differences(want, stimulus_digests()) == []


@pytest.mark.parametrize("name", ["default.txt", "default.md", "default.html"])
def test_the_committed_baseline_renders_as_before(name):
    got = golden_text(name, rendered_reports()[name])
    assert got == (GOLDEN / golden_name(name)).read_text(), f"{name} rendered differently from tests/golden"


@pytest.mark.slow
def test_the_cnn_cells_of_the_committed_baseline_measure_the_same(tmp_path):
    out = tmp_path / "cnn.json"
    models = [a for m in CNN_MODELS for a in ("--model", m)]
    proc = eifbench_cli("run", *models, "--json", str(out), cwd=tmp_path)
    assert proc.returncode == verdict_exit_code(out), proc.stdout[-3000:] + proc.stderr[-3000:]
    baseline = json.loads(BASELINE.read_text())["results"]
    got = cell_numbers(json.loads(out.read_text())["results"])
    assert differences(cell_numbers(baseline, CNN_MODELS), got) == []
