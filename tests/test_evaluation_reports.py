"""``Evaluation``'s reports and gate: the suite's renderers, a baseline the CLI accepts, compare like the callback."""

from __future__ import annotations

import json

import pytest

import eifbench
from eifbench.evaluation import Evaluation
from eifbench.report.results.loading import load_report
from tests.conftest import ROOT, eifbench_cli

ARGS = dict(desiderata=["distance", "noise invariance"], conditions=["in-context"], items=36)


@pytest.fixture(scope="module")
def logical() -> Evaluation:
    return eifbench.evaluate(eifbench.load_model("ref-logical"), **ARGS)


@pytest.fixture(scope="module")
def shift() -> Evaluation:  # one logit for every statement: what the logical learner passes, it does not
    return eifbench.evaluate(eifbench.load_model("ref-shift"), **ARGS)


def test_evaluation_renders_with_the_suites_renderers(logical):
    line = "2 pass → ok (exit 0)"
    explained = logical.explain()
    assert explained.splitlines()[0] == line and "model: distance (in-context): asks that" in explained
    markdown = logical.to_markdown()
    assert markdown.startswith("## eifbench") and f"**{line}**" in markdown and "<details>" in markdown
    page = logical.to_html()
    assert page.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in page and line in page
    assert "src=" not in page.replace('src="data:', "")  # loads nothing
    fragment = logical._repr_html_()
    assert "<html" not in fragment and "<style" not in fragment and line in fragment and "<table>" in fragment


def test_a_saved_baseline_is_complete_and_gates_evaluate_and_the_cli(logical, shift, tmp_path):
    base = logical.save_baseline(tmp_path / "base.json")
    doc, records = load_report(base)  # what --eif-compare and `eifbench compare` read: it refuses a partial file
    assert doc["complete"] is True and len(records) == 2
    assert [c.kind for c in logical.compare(base)] == ["ok", "ok"]
    regressed = shift.compare(base)
    assert len(regressed) == 2 and {c.kind for c in regressed} == {"regression"}
    assert all(c.baseline_status == "pass" and c.baseline_file == str(base) for c in regressed)
    worse = shift.save_baseline(tmp_path / "worse.json")
    md, page = tmp_path / "cmp.md", tmp_path / "cmp.html"
    proc = eifbench_cli("compare", str(base), str(worse), "--markdown", str(md), "--html", str(page), cwd=ROOT)
    assert proc.returncode == 1, proc.stderr
    line = "2 regressions, 0 improvements, 0 known violations → gate FAILED (exit 1)"
    assert proc.stdout.splitlines()[0] == line
    summary = md.read_text()
    assert f"**{line}**" in summary and "| model" in summary and "REGRESSION" in summary
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and line in html and "<tr class='regressed'>" in html
    ok = eifbench_cli("compare", str(base), str(base), "--markdown", str(md), cwd=ROOT)
    assert ok.returncode == 0 and "→ gate ok (exit 0)" in md.read_text()
    assert json.loads(base.read_text())["results"][0]["model"] == "model"
