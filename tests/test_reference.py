"""The reference learners through the real engines and the real suite get exactly their expected verdicts.

A metric change that flips any of these fails here: the learners' right answers are
known by construction (``eifbench.reference.expected``).
"""

from __future__ import annotations

import json

import pytest

from eifbench.reference.expected import EXPECTED, REFERENCE_MODELS
from tests.conftest import run_suite, verdict_exit_code


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference") / "reference.json"
    args = [a for m in REFERENCE_MODELS for a in ("--eif-model", m)]
    proc = run_suite(*args, json_path=out)
    assert proc.returncode == verdict_exit_code(out), proc.stdout[-3000:] + proc.stderr[-3000:]
    records = json.loads(out.read_text())["results"]
    return {(r["model"], r["condition"], r["desideratum"]): r for r in records}


@pytest.mark.parametrize("model,condition", list(EXPECTED), ids=[f"{m}-{c}" for m, c in EXPECTED])
def test_reference_learner_gets_its_expected_verdicts(verdicts, model, condition):
    got = {d: verdicts[(model, condition, d)]["status"] for d in EXPECTED[(model, condition)]}
    want = {d: s.value for d, s in EXPECTED[(model, condition)].items()}
    assert got == want


def test_every_measured_reference_verdict_has_room_to_spare(verdicts):
    """A verdict that only just holds would flip on a harmless change: keep a margin."""
    for (model, condition, desideratum), r in verdicts.items():
        if r["status"] in ("pass", "fail") and r["ci"] is not None:
            low, high = r["ci"]
            distance = min(abs(low - r["threshold"]), abs(high - r["threshold"]))
            assert distance >= 0.1, (model, condition, desideratum, r["value"], r["ci"], r["threshold"])
