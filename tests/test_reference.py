"""The reference learners through the real engines and the real suite get exactly their expected verdicts.

A metric change that flips any of these fails here: the learners' right answers are
known by construction (``eifbench.reference.expected``).
"""

from __future__ import annotations

import json
import os

import pytest

from eifbench.desiderata import DESIDERATA
from eifbench.reference.expected import EXPECTED, REFERENCE_MODELS
from tests.conftest import run_suite, verdict_exit_code
from tests.numbers import GOLDEN, cell_numbers, differences


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


def _margin(ci, threshold):
    return min(abs(ci[0] - threshold), abs(ci[1] - threshold))


def test_every_measured_reference_verdict_has_room_to_spare(verdicts):
    """A verdict that only just holds would flip on a harmless change: keep a margin.

    A second criterion (distance's contrast, noise invariance's spill) needs its value half
    its threshold (at most 0.1) away from it: its interval can be wide only where every item
    is equal (``range_interval``), which is no sign of a verdict that only just holds.
    """
    for (model, condition, desideratum), r in verdicts.items():
        if r["status"] not in ("pass", "fail") or r["ci"] is None:
            continue
        main_agrees = (r["status"] == "pass") == (
            r["ci"][0] >= r["threshold"] if r["higher_is_better"] else r["ci"][1] <= r["threshold"]
        )
        if main_agrees:
            assert _margin(r["ci"], r["threshold"]) >= 0.1, (model, condition, desideratum, r["value"], r["ci"])
        for criterion in DESIDERATA[desideratum].second_criteria:
            second = r["details"].get(criterion.key)
            if isinstance(second, dict) and second["status"] in ("pass", "fail"):
                room = min(0.1, abs(second["threshold"]) / 2)
                assert abs(second["value"] - second["threshold"]) >= room, (model, condition, desideratum, second)


def test_a_learner_that_cannot_read_its_input_passes_no_distance_sparseness_or_noise(verdicts):
    """The controls of Desiderata v3, each ruling out one way to pass without reading the input."""
    for model in ("ref-context-free", "ref-position", "ref-brightness"):
        for desideratum in ("distance", "sparseness", "noise invariance"):
            assert verdicts[(model, "finetune", desideratum)]["status"] == "fail", (model, desideratum)
    # the brightness learner ranks its images (rho passes) but moves every level alike: the contrast decides
    brightness = verdicts[("ref-brightness", "finetune", "distance")]
    assert brightness["ci"][1] <= brightness["threshold"] and brightness["details"]["contrast"]["status"] == "fail"
    # the context-free learner moves every nonce-prompt completion probe, and nothing else
    shares = verdicts[("ref-context-free", "finetune", "sparseness")]["details"]["share_by_family"]
    assert shares["completion"] == 1.0 and shares["other"] < 0.01
    for model in ("ref-context-free", "ref-position"):
        record = verdicts[(model, "in-context", "distance")]
        assert record["reason"].startswith("no in-context learning"), record["reason"]


def test_the_reference_numbers_are_pinned(verdicts):
    """Every value, interval and item of every reference cell is what ``tests/golden/reference.json`` holds.

    The verdicts above would survive a change that moves a number within its margin; a
    refactor must not move it at all. A change meant to move one regenerates the file
    (``EIFBENCH_REGENERATE_GOLDEN=1``) and says why.
    """
    golden = GOLDEN / "reference.json"
    got = cell_numbers(verdicts.values())
    if os.environ.get("EIFBENCH_REGENERATE_GOLDEN") == "1":
        golden.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    assert differences(json.loads(golden.read_text()), got) == []
