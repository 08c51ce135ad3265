"""The one-line verdict every report opens with, the HTML's order, recipe lines, and the CLI's outputs."""

from __future__ import annotations

import re

import pytest

from eifbench.desiderata.base import FAIL, INCONCLUSIVE, NOT_APPLICABLE, PASS, Status
from eifbench.report.rendering.charts import summary_svg, value_ranges
from eifbench.report.rendering.html import html_report
from eifbench.report.rendering.markdown import markdown_report
from eifbench.report.rendering.tables import recipe_lines
from eifbench.report.rendering.verdict_line import exit_code_of, verdict_line
from eifbench.report.results.records import Comparison, Record
from tests.conftest import ROOT, eifbench_cli


def record(status: Status, desideratum: str = "distance", condition: str = "finetune", gate=None, **changes) -> Record:
    fields = dict(
        model="m",
        column="m",
        kind="causal-lm",
        desideratum=desideratum,
        condition=condition,
        status=status,
        metric="rho",
        value=None if status == NOT_APPLICABLE else (0.1 if status == FAIL else -0.6),
        ci=None if status == NOT_APPLICABLE else (0.0, 0.2),
        threshold=-0.3,
        higher_is_better=False,
        n=4,
        unmeasured=0,
        seconds=1.0,
        recipe={"engine": "in-context", "dtype": "float32", "chat_template": "on"},
        stimuli="s",
        bank="b",
        reason="does not apply" if status == NOT_APPLICABLE else "",
        gate=gate,
    )
    return Record(**{**fields, **changes})


def gate(kind: str) -> Comparison:
    return Comparison(kind, 0.3, -0.7, (-0.8, -0.6), "pass", "base.json", 0.1, "newly fails")


UNGATED = [record(PASS), record(PASS), record(PASS), record(FAIL), record(FAIL), record(INCONCLUSIVE)]


def test_an_ungated_run_counts_verdicts_and_states_its_exit_code():
    assert verdict_line({"complete": True}, UNGATED) == "3 pass, 2 fail, 1 inconclusive → FAILED (exit 1)"
    assert verdict_line({"complete": True}, UNGATED[:3]) == "3 pass → ok (exit 0)"
    # a run that saved a baseline exits 0 whatever its verdicts
    assert exit_code_of({"complete": True, "saves_baseline": True}, UNGATED) == 0


def test_a_gated_run_counts_regressions_improvements_and_known_violations():
    records = [
        record(FAIL, gate=gate("regression")),
        record(PASS, gate=gate("regression")),
        record(PASS, gate=gate("improvement")),
        record(FAIL, gate=gate("known-violation")),
    ]
    doc = {"complete": True, "gate": {"baseline": "b", "regressions": 2, "known_violations": 1, "improvements": 1}}
    assert verdict_line(doc, records) == "2 regressions, 1 improvement, 1 known violation → gate FAILED (exit 1)"
    calm = {"complete": True, "gate": {"baseline": "b", "regressions": 0, "known_violations": 1, "improvements": 0}}
    assert verdict_line(calm, records[3:]).endswith("→ gate ok (exit 0)")  # a known violation is an xfail


def test_an_incomplete_run_says_so_first_and_never_guesses_its_exit_code():
    crashed = {"complete": False, "missing": [{"test": "t", "why": "call raised before the test produced a result"}]}
    line = verdict_line(crashed, UNGATED[:3])
    assert line.startswith("INCOMPLETE (1 test without a result)") and line.endswith("FAILED (exit 1)")
    refused = {"complete": False, "missing": [{"test": "t", "why": "cannot load hf:./nope: no config.json"}]}
    assert exit_code_of(refused, []) == 4
    stopped = {"complete": False, "missing": [{"test": "t", "why": "never ran"}]}
    assert exit_code_of(stopped, UNGATED) is None and "INCOMPLETE" in verdict_line(stopped, UNGATED)
    # the writer's own exit code, when it knows it, wins
    assert verdict_line({**stopped, "exit_code": 143}, UNGATED).endswith("TERMINATED (exit 143)")


def test_markdown_and_html_open_with_the_verdict_line():
    doc = {"complete": True}
    markdown = markdown_report(doc, UNGATED)
    assert markdown.splitlines()[2] == "**3 pass, 2 fail, 1 inconclusive → FAILED (exit 1)**"
    page = html_report(doc, UNGATED)
    assert page.index("3 pass, 2 fail, 1 inconclusive → FAILED (exit 1)") < page.index("<table>")


def test_html_puts_failing_verdicts_first_collapses_passing_and_lists_na_once():
    records = [
        record(PASS, "distance"),
        record(INCONCLUSIVE, "sparseness"),
        record(FAIL, "transitivity"),
        record(FAIL, "asymmetry", gate=gate("regression")),
        record(NOT_APPLICABLE, "logical consistency"),
    ]
    page = html_report({"complete": True}, records)
    section = page[page.index("<section>") :]
    summaries = re.findall(r"<details class='record[^']*'( open)?><summary>([^<]*)</summary>", section)
    assert [s for _, s in summaries] == [
        "asymmetry · finetune: REGRESSED",
        "transitivity · finetune: FAIL",
        "sparseness · finetune: INCONCL",
        "distance · finetune: PASS",
        "n/a: 1 not applicable to this model",
    ]
    assert [bool(opened) for opened, _ in summaries] == [True, True, True, False, False]
    assert section.count("does not apply") == 1


def test_the_noise_chart_shows_the_spill_beside_the_transfer():
    spill = {"value": 0.73, "ci": [0.6, 0.8], "threshold": 0.1, "status": "fail", "n": 8}
    noise = record(
        FAIL,
        "noise invariance",
        value=0.9,
        ci=(0.8, 1.0),
        threshold=0.5,
        higher_is_better=True,
        details={"spill": spill},
    )
    svg = summary_svg([noise], value_ranges())
    assert "noise invariance · finetune" in svg and "its spill (finetune)" in svg
    assert "FAIL 0.73 [0.60, 0.80] (pass &lt;= 0.1)" in svg and "(pass &gt;= 0.5)" in svg


def test_an_in_context_only_run_prints_its_recipe_line():
    lines = recipe_lines([record(PASS, condition="in-context")])
    assert lines == ["m (in-context): engine=in-context dtype=float32 chat_template=on"]


@pytest.mark.parametrize("lr", [None, "0.5"])
def test_influence_uses_the_model_recipe_says_the_chat_template_and_prints_probes_in_full(tmp_path, lr):
    args = ["influence", "--model", "tiny-lm", "--stimulus", "Rukzesh was born in the month of April."]
    args += ["--probe", "Rukzesh was born in the month of| April"]
    args += ["--probe", "Rukzesh was born in the month of| not in the month of April, whatever the records say"]
    proc = eifbench_cli(*args, *(["--lr", lr] if lr else []), cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "P1 prompt 'Rukzesh was born in the month of' -> completion ' April'" in out
    assert "completion ' not in the month of April, whatever the records say'" in " ".join(out.split())
    assert "chat template: off (raw text)" in out
    expected = (
        "sgd lr=0.5 k=1 (the tiny-lm catalogue recipe, with --lr)"
        if lr
        else "sgd lr=0.01 k=1 (the tiny-lm catalogue recipe)"
    )  # models/tiny-lm.toml
    assert expected in out
