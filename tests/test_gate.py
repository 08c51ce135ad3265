"""A gate that cannot pass silently: complete runs only, every baseline cell gated, one-line refusals.

Each test reproduces a way an earlier gate passed a checkpoint that was never measured
(a crashed run reported complete, a partial baseline, a cell lost between baseline and
run, a NaN value, an adapter-only probe against a full fine-tune), or a user's mistake
that surfaced as a test failure instead of one line and exit 4.
"""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from eifbench.desiderata.base import Status
from eifbench.errors import BaselineError, IncompleteReportError
from eifbench.report.results.baseline import Baseline, compare, same_recipe
from eifbench.report.results.loading import load_report
from eifbench.report.results.records import Record, machine_info
from tests.checkpoints import save_tiny_lm
from tests.conftest import eifbench_cli, verdict_exit_code

pytest_plugins = ["pytester"]

CRASHING = """
def test_crashes(eif, eif_case):
    raise RuntimeError("a bug in a user's test")
"""


def _eifbench(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return eifbench_cli(*args, cwd=cwd)


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> Path:
    """A real baseline of tiny-cnn (distance and sparseness under fine-tuning), saved by `eifbench run`."""
    folder = tmp_path_factory.mktemp("gate")
    proc = _eifbench(
        "run", "--model", "tiny-cnn", "--limit", "3", "--save-baseline", "base.json",
        "--", "-k", "(distance or sparseness) and finetune", "-p", "no:cacheprovider", cwd=folder,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return folder / "base.json"


def _rewrite(source: Path, target: Path, **changes) -> Path:
    doc = json.loads(source.read_text())
    doc.update(changes)
    target.write_text(json.dumps(doc))
    return target


def test_a_run_whose_tests_all_crashed_is_incomplete_and_no_gate_accepts_it(pytester, saved):
    pytester.makepyfile(test_crash=CRASHING)
    result = pytester.runpytest_subprocess("--eif-model", "tiny-cnn", "--eif-json", "crashed.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    doc = json.loads((pytester.path / "crashed.json").read_text())
    assert doc["complete"] is False and doc["results"] == []
    assert {m["test"].split("[")[1] for m in doc["missing"]} == {"tiny-cnn-finetune]", "tiny-cnn-in-context]"}
    assert all("raised before the test produced a result" in m["why"] for m in doc["missing"])
    result.stdout.fnmatch_lines(["*ERROR incomplete run: 2 test(s) produced no result*"])
    proc = _eifbench("compare", str(saved), "crashed.json", cwd=pytester.path)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "incomplete report" in proc.stderr and "Traceback" not in proc.stderr


def test_a_partial_or_empty_baseline_is_refused_by_run_and_compare(saved, tmp_path):
    partial = _rewrite(saved, tmp_path / "partial.json", complete=False)
    empty = _rewrite(saved, tmp_path / "empty.json", results=[])
    for baseline in (partial, empty):
        with pytest.raises(IncompleteReportError, match="incomplete baseline|holds no measured results"):
            Baseline.load(baseline)
        proc = _eifbench("compare", str(baseline), str(saved), cwd=tmp_path)
        assert proc.returncode == 3, proc.stdout + proc.stderr
        gated = _eifbench("run", "--model", "tiny-cnn", "--compare", str(baseline), cwd=tmp_path)
        assert gated.returncode == 4, gated.stdout[-2000:] + gated.stderr[-2000:]
        assert "cannot gate" in gated.stdout + gated.stderr or "incomplete baseline" in gated.stdout + gated.stderr


def test_a_cell_measured_in_the_baseline_and_missing_now_is_a_regression(saved, tmp_path):
    proc = _eifbench(
        "run", "--model", "tiny-cnn", "--limit", "3", "--compare", str(saved), "--json", "now.json",
        "--", "-k", "sparseness and finetune", "-p", "no:cacheprovider", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "REGRESSED tiny-cnn · distance · finetune: measured in the baseline" in proc.stdout
    doc = json.loads((tmp_path / "now.json").read_text())
    assert doc["complete"] is True  # the run itself finished; the gate is what failed
    assert [c["desideratum"] for c in doc["gate"]["not_measured"]] == ["distance"]
    assert doc["gate"]["regressions"] >= 1
    compared = _eifbench("compare", str(saved), "now.json", cwd=tmp_path)
    assert compared.returncode == 1 and "measured in the baseline, not in this run" in compared.stdout


def _record(value: float | None, status: Status = Status.INCONCLUSIVE, **changes) -> Record:
    fields = dict(
        model="m", column="m", kind="causal-lm", desideratum="distance", condition="finetune", status=status,
        metric="spearman", value=value, ci=None if value is None else (value - 0.1, value + 0.1), threshold=-0.3,
        higher_is_better=False, n=4, unmeasured=0, seconds=1.0, recipe={"engine": "exact"}, stimuli="s", bank="b",
    )  # fmt: skip
    return Record(**{**fields, **changes})


@pytest.mark.parametrize("now", [None, float("nan")])
def test_a_cell_that_was_measured_and_cannot_be_measured_now_regresses(now):
    before = _record(-0.744)
    after = _record(now, reason="no item could be measured")
    result = compare(before, after, {}, "b.json")
    assert result.kind == "regression" and result.why.startswith("no longer measurable")


def test_a_record_holds_none_never_nan_for_nothing_measured():
    import numpy as np

    from eifbench.cases import EifCase, RunOptions
    from eifbench.desiderata import DESIDERATA, Thresholds
    from eifbench.finetune import FineTune
    from eifbench.kinds import ModelKind
    from eifbench.pipeline import build_record
    from eifbench.zoo.specs import ModelSpec

    measurement = DESIDERATA["distance"].summarize(np.array([np.nan, np.nan]), Thresholds())
    case = EifCase(ModelSpec("tiny-lm"), ModelKind.CAUSAL_LM, "finetune", FineTune(), "exact", 2, None)
    record = build_record(case, RunOptions(), measurement, 0.1, None, None)
    assert record.value is None and record.ci is None


def test_an_adapter_only_probe_is_not_gated_against_a_full_fine_tune():
    full = {"engine": "exact", "lr": 1e-4, "dtype": "float32"}
    assert same_recipe(full, {**full, "trained": "all"})  # a plain model trains every weight
    assert not same_recipe(full, {**full, "trained": "adapter"})
    base = Baseline("b.json", (_record(-0.5, Status.PASS, recipe=full),))
    with pytest.raises(BaselineError, match="trainable=all"):
        base.prepare({"m": "causal-lm"}, {("m", "finetune"): {**full, "trained": "adapter"}}, None)
    with pytest.raises(BaselineError, match=r"dtype=float32") as refused:
        base.prepare({"m": "causal-lm"}, {("m", "finetune"): {**full, "dtype": "float64"}}, None)
    assert "--eif-lr" not in str(refused.value)


def test_the_spec_of_an_adapter_records_what_it_trains(tmp_path):
    from eifbench.zoo import spec_trained
    from tests.checkpoints import save_lora

    base = save_tiny_lm(tmp_path / "base")
    adapter = save_lora(base, tmp_path / "adapter")
    assert spec_trained(f"hf:{base}") == ""
    assert spec_trained(f"hf:{adapter}") == "adapter"
    assert spec_trained(f"hf:{adapter},trainable=all") == "all"
    assert spec_trained(f"hf:{base},peft={adapter}") == "adapter"


def test_a_model_that_cannot_load_is_one_line_and_exit_4(pytester, tmp_path):
    folder = save_tiny_lm(tmp_path / "plain")  # no chat template, asked to use one
    pytester.makepyfile(
        test_one="def test_d(eif, eif_case):\n    from eifbench.desiderata import DESIDERATA\n"
        "    eif.check(DESIDERATA['distance'], eif_case)\n"
    )
    result = pytester.runpytest_subprocess(
        "--eif-model", f"hf:{folder},chat_template=on", "--eif-limit", "2", "--eif-json", "r.json"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()[-3000:]
    out = result.stdout.str()
    assert out.count("eifbench: ERROR") >= 1 and "chat" in out and "Traceback" not in out
    assert json.loads((pytester.path / "r.json").read_text())["complete"] is False


def test_an_interrupt_that_pytest_fails_to_render_is_still_an_interrupt(monkeypatch):
    from eifbench.plugin.collector import Reporter

    reporter = Reporter.__new__(Reporter)
    reporter.interrupted = False
    reporter.pytest_keyboard_interrupt(excinfo=None)
    assert reporter.interrupted


def test_a_half_imported_torch_is_never_touched_by_the_report(monkeypatch):
    class Exploding(types.ModuleType):
        def __getattr__(self, name):
            raise AssertionError(f"touched torch.{name} while it was importing")

    half = Exploding("torch")
    half.__spec__ = types.SimpleNamespace(_initializing=True)
    monkeypatch.setitem(sys.modules, "torch", half)
    assert "cuda" not in machine_info()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["results"][0].update(value=123456.5), "1e999 overflows"),
        (lambda d: d["results"].append(dict(d["results"][0])), "a second record"),
        (lambda d: d["results"][0].update(desideratum="distanse"), "unknown desideratum 'distanse'"),
    ],
)
def test_a_baseline_with_an_impossible_number_or_cell_is_refused(saved, tmp_path, edit, message):
    doc = json.loads(saved.read_text())
    edit(doc)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(doc).replace("123456.5", "1e999"))  # json.dumps itself writes no 1e999
    with pytest.raises(BaselineError, match=message):
        load_report(path)


def test_a_baseline_saved_by_run_and_a_record_without_a_test_id_match(saved):
    baseline = Baseline.load(saved)
    before = next(r for r in baseline.records if r.desideratum == "distance" and r.condition == "finetune")
    assert before.test  # eifbench run fills it; evaluate() and the callback do not
    assert baseline.match("tiny-cnn", before.replace(test="")) == before


@pytest.mark.parametrize(("sigterm", "code"), [(False, 130), (True, 143)])
def test_an_interrupt_while_starting_writes_an_incomplete_report_over_a_stale_one(tmp_path, monkeypatch, sigterm, code):
    from eifbench.cli import build_parser, suite

    stale = tmp_path / "run.json"
    stale.write_text('{"complete": true}')  # an earlier run's report must not survive as if it were this one's

    def interrupted(argv, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pytest, "main", interrupted)
    monkeypatch.setattr(suite, "RECEIVED_SIGTERM", sigterm)
    args = build_parser().parse_args(["run", "--model", "tiny-cnn", "--json", str(stale)])
    assert suite.RunCommand().run(args) == code

    doc = json.loads(stale.read_text())
    assert doc["complete"] is False and doc["results"] == [] and "before any test ran" in doc["missing"][0]["why"]


def test_bidi_controls_in_a_model_name_are_shown_not_obeyed(tmp_path):
    from eifbench.report.rendering.writers import write_reports

    record = _record(-0.5, Status.PASS, model="ok\u202etxt.exe", column="ok\u202etxt.exe")
    paths = {"markdown": str(tmp_path / "r.md"), "html": str(tmp_path / "r.html")}
    written, errors = write_reports(paths, [record], complete=True, folder=tmp_path, seconds=1.0)
    assert not errors and len(written) == 2
    for path in paths.values():
        text = Path(path).read_text()
        assert "\u202e" not in text and "[U+202E]" in text


def test_a_stimuli_file_of_the_wrong_kind_is_refused_at_start_not_a_green_run_of_n_a(tmp_path):
    from tests.checkpoints import save_tiny_bert_classifier

    reviews = tmp_path / "reviews.jsonl"
    reviews.write_text("\n".join(json.dumps({"text": f"review {i}", "label": "POSITIVE"}) for i in range(4)))
    facts = tmp_path / "facts.jsonl"
    facts.write_text("\n".join(json.dumps({"prompt": f"Zork {i} lives in", "completion": " caves"}) for i in range(4)))
    unknown = tmp_path / "unknown.jsonl"
    unknown.write_text("\n".join(json.dumps({"text": f"review {i}", "label": "NEUTRAL"}) for i in range(4)))
    bert = save_tiny_bert_classifier(tmp_path / "bert")
    for model, path, message in (
        ("tiny-lm", reviews, "holds labelled sentences"),
        (f"hf:{bert}", facts, "use the columns text, label"),
        (f"hf:{bert}", unknown, "'NEUTRAL' is not one of the model's labels"),
    ):
        proc = _eifbench("run", "--model", model, "--stimuli", str(path), cwd=tmp_path)
        assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert message in proc.stdout + proc.stderr and "Traceback" not in proc.stdout + proc.stderr


def test_a_condition_is_selected_by_its_marker_not_by_a_name_that_contains_it(tmp_path):
    folder = tmp_path / "finetuned"  # "-k finetune" would also select this model's in-context cells
    save_tiny_lm(folder)
    proc = _eifbench(
        "run", "--model", f"hf:{folder}", "--limit", "2", "--json", "r.json",
        "--", "-m", "in_context", "-k", "distance", "-p", "no:cacheprovider", cwd=tmp_path,
    )  # fmt: skip
    doc = json.loads((tmp_path / "r.json").read_text())
    assert proc.returncode == verdict_exit_code(tmp_path / "r.json"), proc.stdout[-2000:]
    assert [(r["desideratum"], r["condition"]) for r in doc["results"]] == [("distance", "in-context")]


def test_a_cell_measured_before_and_not_applicable_now_regresses():
    before = _record(-0.744)
    now = _record(None, Status.NOT_APPLICABLE, stimuli="", reason="the stimuli file has no negation column")
    result = compare(before, now, {}, "b.json")
    assert result.kind == "regression" and result.why.startswith("n/a now (the stimuli file")
    assert compare(_record(None, Status.NOT_APPLICABLE), now, {}, "b.json").kind == "ok"


def _edited(source: Path, target: Path, edit) -> Path:
    doc = json.loads(source.read_text())
    edit(doc)
    target.write_text(json.dumps(doc))
    return target


def test_compare_refuses_what_would_let_an_unmeasured_cell_pass(saved, tmp_path):
    def to_na(doc):
        cell = next(r for r in doc["results"] if r["desideratum"] == "distance" and r["condition"] == "finetune")
        cell.update(status="n/a", value=None, ci=None, stimuli="", reason="not applicable")

    def other_model(doc):
        doc["results"] += [{**r, "column": "other", "model": "other"} for r in doc["results"]]

    na_now = _edited(saved, tmp_path / "na.json", to_na)
    assert _eifbench("compare", str(saved), str(na_now), cwd=tmp_path).returncode == 1
    flagged = _edited(saved, tmp_path / "flagged.json", lambda d: d.update(missing=[{"test": "t", "why": "crashed"}]))
    assert _eifbench("compare", str(saved), str(flagged), cwd=tmp_path).returncode == 3  # "complete" with missing tests
    only_na = _edited(saved, tmp_path / "only_na.json", lambda d: [r.update(status="n/a") for r in d["results"]])
    assert _eifbench("compare", str(only_na), str(saved), cwd=tmp_path).returncode == 3  # measured nothing
    two = _edited(saved, tmp_path / "two.json", other_model)
    proc = _eifbench("compare", str(two), str(saved), cwd=tmp_path)
    assert proc.returncode == 1 and "other" in proc.stdout  # OLD's model absent from NEW: its cells regress


def test_a_measuring_test_without_a_result_fails_the_run_and_a_second_verdict_is_refused(pytester):
    pytester.makepyfile(
        test_user="from eifbench.desiderata import DESIDERATA\n"
        "def test_noop(eif, eif_case):\n    return\n"
        "import numpy as np\n"
        "def test_twice(eif, eif_case):\n"  # a passing verdict returns, so the test could go on to judge again
        "    values = np.array([-0.9, -0.8, -0.85, -0.88, -0.82, -0.86, -0.84, -0.85])\n"
        "    passing = DESIDERATA['distance'].summarize(values, eif.thresholds)\n"
        "    eif.judge(eif_case, passing)\n    eif.judge(eif_case, passing)\n"
    )
    noop = pytester.runpytest_subprocess(
        "-k", "noop", "--eif-model", "tiny-cnn", "--eif-limit", "2", "--eif-save-baseline", "nb.json"
    )
    assert noop.ret == pytest.ExitCode.TESTS_FAILED  # never "baseline saved, exit 0" for a baseline gates refuse
    assert json.loads((pytester.path / "nb.json").read_text())["complete"] is False
    twice = pytester.runpytest_subprocess("-k", "twice and finetune", "--eif-model", "tiny-cnn", "--eif-limit", "2")
    assert twice.ret == pytest.ExitCode.USAGE_ERROR and "eif.check once per test" in twice.stdout.str()
