"""The CI gate: the composite action (action.yml) and the example workflow (examples/github-actions.yml).

The structural tests pin what broke the first example in a model repository (pip caching
without a requirements file, an unpinned release, a cache lost when the gate fails). The
run tests execute the action's own ``run:`` scripts with bash, in order, in a folder that
holds only a checkpoint and a baseline, the way a runner would: inputs and step outputs
are substituted, ``$GITHUB_OUTPUT`` / ``$GITHUB_ENV`` / ``$GITHUB_STEP_SUMMARY`` are real
files, and ``uses:`` steps (setup-python, cache, upload) are checked, not run. The
install step is skipped: this venv's ``eifbench`` is first on PATH instead.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

import eifbench
from eifbench.cli import build_parser
from eifbench.cli.suite import INTERRUPTED
from eifbench.plugin.collector import TERMINATED
from eifbench.plugin.options import OPTIONS

from .checkpoints import save_tiny_lm
from .conftest import ROOT, eifbench_cli

ACTION = ROOT / "action.yml"
WORKFLOW = ROOT / "examples" / "github-actions.yml"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
# What the run tests measure: one cell, three items, a recipe where tiny-lm's distance
# passes. Not `-k "distance and finetune"`: -k also matches the model in the test id, and
# the checkpoint here is `hf:./finetuned`, so its in-context cell would run too.
LIMIT, SELECT, LR = "3", "distance and not in-context", "0.01"


@pytest.fixture(scope="module")
def action() -> dict:
    return yaml.safe_load(ACTION.read_text())


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def action_steps(action: dict) -> list[dict]:
    return action["runs"]["steps"]


def uses(steps: list[dict], prefix: str) -> list[dict]:
    return [step for step in steps if step.get("uses", "").startswith(prefix)]


def triggers(workflow: dict) -> dict:
    return workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True


# --- structure -------------------------------------------------------------------------


def test_the_action_is_composite_with_the_documented_inputs_and_outputs(action):
    assert action["runs"]["using"] == "composite"
    inputs = action["inputs"]
    assert {"model", "baseline", "compare-as", "limit", "select", "eifbench-version", "python-version"} <= set(inputs)
    assert inputs["model"]["required"] and inputs["baseline"]["required"]
    assert inputs["eifbench-version"]["default"] == ""  # empty = the baseline's own version
    assert int(inputs["limit"]["default"]) > 0
    assert set(action["outputs"]) == {"exit-code", "report"}
    ids = {step.get("id") for step in action_steps(action)}
    for output in action["outputs"].values():  # each output names a step that exists
        (step_id,) = re.findall(r"steps\.([\w-]+)\.outputs", output["value"])
        assert step_id in ids
    # every run step says its shell (a composite action refuses one that does not)
    assert all(step.get("shell") == "bash" for step in action_steps(action) if "run" in step)


@pytest.mark.parametrize("source", ["action", "workflow"])
def test_setup_python_caches_no_pip(source, action, workflow):
    """`cache: pip` errors in a repository without requirements.txt / pyproject.toml."""
    steps = action_steps(action) if source == "action" else [s for j in workflow["jobs"].values() for s in j["steps"]]
    setups = uses(steps, "actions/setup-python")
    assert setups
    assert all("cache" not in (step.get("with") or {}) for step in setups)


def test_the_action_installs_cpu_torch_first_then_the_baselines_eifbench(action):
    (install,) = [step for step in action_steps(action) if step.get("id") == "install"]
    lines = [line for line in install["run"].splitlines() if "pip install" in line]
    assert "torch" in lines[0] and "download.pytorch.org/whl/cpu" in lines[0]
    assert '"eifbench==$EIF_VERSION"' in lines[1]
    assert install["env"]["EIF_VERSION"] == "${{ steps.version.outputs.version }}"


def test_the_cache_is_restored_and_saved_even_when_the_gate_fails(action):
    steps = action_steps(action)
    assert not uses(steps, "actions/cache@")  # the all-in-one cache saves only on success
    (restore,) = uses(steps, "actions/cache/restore@")
    (save,) = uses(steps, "actions/cache/save@")
    assert steps.index(restore) < steps.index(next(s for s in steps if s.get("id") == "gate")) < steps.index(save)
    assert save["if"].startswith("always()")
    assert save["with"]["path"] == restore["with"]["path"] and save["with"]["key"] == restore["with"]["key"]
    assert "steps.cache.outputs.eifbench" in save["with"]["path"]


def test_the_reports_are_uploaded_even_when_the_gate_fails_and_the_job_then_fails(action):
    steps = action_steps(action)
    (upload,) = uses(steps, "actions/upload-artifact@")
    assert upload["if"] == "always()"
    assert set(upload["with"]["path"].split()) == {"eif.json", "eif.html"}
    last = steps[-1]  # after save and upload, so a failing gate loses neither
    assert "if" not in last and 'exit "$EIF_EXIT_CODE"' in last["run"]
    assert last["env"]["EIF_EXIT_CODE"] == "${{ steps.gate.outputs.exit-code }}"


def test_no_input_is_spliced_into_a_script(action):
    """Inputs reach scripts through env: a spec with a quote must not become shell."""
    for step in action_steps(action):
        assert not EXPRESSION.search(step.get("run", "")), step.get("name")


def test_the_workflow_saves_the_baseline_on_dispatch_and_gates_pull_requests(workflow):
    on = triggers(workflow)
    assert "workflow_dispatch" in on and "pull_request" in on
    jobs = workflow["jobs"]
    assert "dispatch" in jobs["baseline"]["if"] and "pull_request" in jobs["gate"]["if"]
    for job in jobs.values():  # a CPU runner; the default 360 minutes hides a hung job
        assert 0 < job["timeout-minutes"] <= 120

    (install,) = [s for s in jobs["baseline"]["steps"] if "pip install" in s.get("run", "")]
    lines = [line for line in install["run"].splitlines() if "pip install" in line]
    assert "whl/cpu" in lines[0] and '"eifbench==$EIFBENCH_VERSION"' in lines[1]
    assert re.fullmatch(r"\d+\.\d+\.\d+", workflow["env"]["EIFBENCH_VERSION"])

    (gate,) = [s for s in jobs["gate"]["steps"] if "eifbench" in s.get("uses", "")]
    (owner, ref) = gate["uses"].split("@")
    assert owner in ("./", "OWNER/eifbench") and (owner == "./" or ref == f"v{workflow['env']['EIFBENCH_VERSION']}")
    assert "OWNER" in WORKFLOW.read_text().split("uses: OWNER/eifbench")[1].splitlines()[0]  # marked as a placeholder


def test_the_gate_uses_the_baselines_model_limit_and_selection(workflow):
    env = workflow["env"]

    def expand(word: str) -> str:  # the shell's $NAME, from the workflow's env
        return re.sub(r"\$(\w+)", lambda m: env[m.group(1)], word)

    (command,) = eifbench_commands(workflow)
    args = build_parser().parse_args(command)
    (gate,) = [s for s in workflow["jobs"]["gate"]["steps"] if "eifbench" in s.get("uses", "")]
    inputs = {k: substitute(str(v), {"env": env}) for k, v in gate["with"].items()}
    assert [expand(m) for m in args.model] == [inputs["compare-as"]] and inputs["model"] == env["CHECKPOINT"]
    assert args.save_baseline == inputs["baseline"]
    assert expand(str(args.limit)) == inputs["limit"]
    assert [expand(a) for a in args.pytest_args if a != "--"] == ["-k", inputs["select"]]


def eifbench_commands(workflow: dict) -> list[list[str]]:
    """Every ``eifbench ...`` command line the workflow's run steps execute, as argv."""
    commands = []
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            for line in step.get("run", "").splitlines():
                words = shlex.split(line)
                if words[:1] == ["eifbench"]:
                    commands.append(words[1:])
    return commands


def test_every_eifbench_flag_is_a_real_option_and_the_command_parses(workflow, action):
    names = {f"--{option.name}" for option in OPTIONS}
    for argv in eifbench_commands(workflow):
        flags = [word for word in argv[: argv.index("--") if "--" in argv else None] if word.startswith("--")]
        assert set(flags) <= names, f"not eifbench run options (argparse would take a prefix): {set(flags) - names}"
        assert build_parser().parse_args(argv).command == "run"  # an unknown flag exits 2 here
    (gate,) = [s for s in action_steps(action) if s.get("id") == "gate"]
    assert set(re.findall(r"--[a-z][\w-]*", gate["run"])) <= names


def test_the_documented_exit_codes_are_the_cli_s():
    comment = " ".join(line.lstrip("# ") for line in WORKFLOW.read_text().splitlines() if line.startswith("#"))
    documented = {int(code) for code in re.findall(r"\b(\d+) (?:pass|failures|usage|/|interrupted)", comment)}
    documented |= {int(code) for code in re.findall(r"/ (\d+) interrupted", comment)}
    actual = {
        int(pytest.ExitCode.OK),
        int(pytest.ExitCode.TESTS_FAILED),
        int(pytest.ExitCode.USAGE_ERROR),
        INTERRUPTED,
        TERMINATED,
    }
    assert documented == actual


# --- running the action's scripts ------------------------------------------------------


def substitute(text: str, contexts: dict) -> str:
    """Replace each ``${{ a.b.c }}`` in ``text`` by its value in ``contexts`` (a missing one is '')."""

    def value(match: re.Match) -> str:
        node = contexts
        for part in match.group(1).split("."):
            node = node.get(part, "") if isinstance(node, dict) else ""
        return str(node)

    return EXPRESSION.sub(value, text)


def file_commands(path: Path) -> dict[str, str]:
    """The ``name=value`` lines a step appended to ``$GITHUB_OUTPUT`` / ``$GITHUB_ENV``."""
    text = path.read_text() if path.exists() else ""
    assert "<<" not in text, "multiline values need the runner's heredoc syntax; this runner does not parse it"
    return dict(line.split("=", 1) for line in text.splitlines() if line)


@dataclass
class Run:
    """What running the action left behind: step outputs, env, summaries, the steps that ran."""

    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    summaries: dict[str, str] = field(default_factory=dict)
    ran: list[str] = field(default_factory=list)
    failed: str | None = None
    action_outputs: dict[str, str] = field(default_factory=dict)


def run_action(action: dict, workspace: Path, inputs: dict[str, str], tmp: Path) -> Run:
    """Run the action's steps in ``workspace`` as a runner would, but only the ``run:`` ones.

    ``if:`` is honoured for the conditions the action uses (``always()`` and comparisons of
    step outputs); a failing step skips every later step without ``always()``.
    """
    given = {name: spec.get("default", "") for name, spec in action["inputs"].items()} | inputs
    runner_temp = tmp / "runner-temp"
    runner_temp.mkdir()
    run = Run(
        env={
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",  # this venv's python and eifbench
            "HF_HUB_OFFLINE": "1",
            "HOME": str(tmp / "home"),  # the hub cache folder the action creates lands here, not in ~
            "RUNNER_TEMP": str(runner_temp),
            "RUNNER_OS": "Linux",
            "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",  # this checkout's sources, as eifbench_cli runs them
        }
    )
    run.env.pop("EIFBENCH_CACHE", None)  # the action chooses it, as on a fresh runner
    for index, step in enumerate(action_steps(action)):
        name = step.get("id", f"step{index}")
        contexts = {"inputs": given, "steps": {k: {"outputs": v} for k, v in run.outputs.items()}, "env": run.env}
        condition = step.get("if", "success()")
        if not evaluate(condition, contexts, failed=run.failed is not None):
            continue
        if "uses" in step or step.get("id") == "install":  # actions and pip: not on this machine
            run.ran.append(name)
            continue
        files = {kind: tmp / f"{name}.{kind}" for kind in ("output", "env", "summary")}
        step_env = {k: substitute(str(v), contexts) for k, v in (step.get("env") or {}).items()}
        proc = subprocess.run(
            # what GitHub runs for `shell: bash`
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=workspace,
            env={
                **run.env,
                **step_env,
                "GITHUB_OUTPUT": str(files["output"]),
                "GITHUB_ENV": str(files["env"]),
                "GITHUB_STEP_SUMMARY": str(files["summary"]),
            },
            capture_output=True,
            text=True,
            timeout=600,
        )
        run.ran.append(name)
        run.outputs[name] = file_commands(files["output"])
        run.env.update(file_commands(files["env"]))
        if files["summary"].exists():
            run.summaries[name] = files["summary"].read_text()
        if proc.returncode != 0 and run.failed is None:
            run.failed = f"{name} exited {proc.returncode}: {proc.stdout[-3000:]}{proc.stderr[-3000:]}"
    contexts = {"steps": {k: {"outputs": v} for k, v in run.outputs.items()}}
    run.action_outputs = {k: substitute(v["value"], contexts) for k, v in action["outputs"].items()}
    return run


def evaluate(condition: str, contexts: dict, *, failed: bool) -> bool:
    """The subset of GitHub's ``if:`` expressions the action uses: status functions joined by
    ``&&`` with ``steps.x.outputs.y == / != 'literal'`` comparisons."""
    result, status_given = True, False
    for term in (part.strip() for part in condition.split("&&")):
        if term in ("always()", "success()", "failure()"):
            status_given = True
            result &= {"always()": True, "success()": not failed, "failure()": failed}[term]
            continue
        match = re.fullmatch(r"([\w.-]+)\s*(==|!=)\s*'([^']*)'", term)
        assert match, f"the test's evaluator does not know: {term}"
        left = substitute("${{ " + match.group(1) + " }}", contexts)
        result &= (left == match.group(3)) == (match.group(2) == "==")
    return result and (status_given or not failed)  # no status function means success() &&


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Path:
    """A base checkpoint and the baseline saved from it, the one-off command of the example."""
    folder = tmp_path_factory.mktemp("base")
    save_tiny_lm(folder / "base")
    argv = ["run", "--model", "hf:./base", "--limit", LIMIT, "--lr", LR, "--save-baseline", "baseline.json"]
    proc = eifbench_cli(*argv, "--", "-k", SELECT, cwd=folder)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return folder / "baseline.json"


def model_repository(tmp_path: Path, baseline: Path, *, regressed: bool = False) -> Path:
    """A folder like a model repository: a fine-tuned checkpoint and a baseline, nothing else.

    The checkpoint has the base's weights (so an honest gate passes). ``regressed`` makes the
    baseline claim a distance no run can match (value -1, CI [-1, -1], passing), so the
    same checkpoint is a regression against it.
    """
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copytree(baseline.parent / "base", repo / "finetuned")
    doc = json.loads(baseline.read_text())
    if regressed:
        (record,) = [r for r in doc["results"] if r["desideratum"] == "distance"]
        record.update(value=-1.0, status="pass", ci=[-1.0, -1.0])
    (repo / "baseline.json").write_text(json.dumps(doc))
    return repo


def gate_inputs(**extra: str) -> dict[str, str]:
    return {
        "model": "hf:./finetuned",
        "baseline": "baseline.json",
        "compare-as": "hf:./base",
        "limit": LIMIT,
        "select": SELECT,
        "args": f"--lr {LR}",
        **extra,
    }


def test_a_passing_checkpoint_passes_the_gate_and_writes_the_summary(action, baseline, tmp_path):
    repo = model_repository(tmp_path, baseline)
    run = run_action(action, repo, gate_inputs(), tmp_path)

    assert run.failed is None, run.failed
    assert run.outputs["version"]["version"] == eifbench.__version__  # read from the baseline
    assert run.action_outputs["exit-code"] == "0"
    report = Path(run.action_outputs["report"])
    assert report == repo / "eif.json" and (repo / "eif.html").is_file()
    doc = json.loads(report.read_text())
    cells = [(r["desideratum"], r["condition"], r["status"]) for r in doc["results"]]
    # the same weights as the baseline's: the same verdict (at 3 items an INCONCL, below the 8 a verdict needs)
    (before,) = json.loads(baseline.read_text())["results"]
    assert cells == [("distance", "finetune", before["status"])]
    assert "distance" in run.summaries["gate"] and "|" in run.summaries["gate"]  # the markdown table
    assert run.env["EIFBENCH_CACHE"].startswith(str(tmp_path / "runner-temp"))
    # every step ran: the run measured and the restore missed, so the cache is saved
    assert run.ran == ["python", "version", "install", "cache", "restore", "gate", "save", "upload", "exit"]
    assert run.outputs["gate"]["measured"] == "true"
    assert sorted(p.name for p in repo.iterdir()) == ["baseline.json", "eif.html", "eif.json", "finetuned"]


def test_a_regressed_checkpoint_fails_the_job_with_exit_1_after_uploading(action, baseline, tmp_path):
    repo = model_repository(tmp_path, baseline, regressed=True)
    run = run_action(action, repo, gate_inputs(), tmp_path)

    assert run.action_outputs["exit-code"] == "1"
    assert run.failed is not None and run.failed.startswith("exit exited 1"), run.failed
    assert run.ran[-4:] == ["gate", "save", "upload", "exit"]  # cache and reports kept before the job fails
    assert "REGRESSED" in run.summaries["gate"]
    (record,) = json.loads((repo / "eif.json").read_text())["results"]
    assert record["desideratum"] == "distance" and record["value"] > -1.0


def test_a_failing_gate_saves_the_cache_of_a_run_that_measured(action):
    """The save step's condition, with the gate's outputs as a regressed run leaves them."""
    (save,) = [s for s in action_steps(action) if s.get("id") == "save"]
    gate = {"exit-code": "1", "measured": "true"}
    for hit, saved in (("", True), ("false", True), ("true", False)):
        contexts = {"steps": {"gate": {"outputs": gate}, "restore": {"outputs": {"cache-hit": hit}}}}
        assert evaluate(save["if"], contexts, failed=True) is saved
    contexts = {"steps": {"gate": {"outputs": {}}, "restore": {"outputs": {}}}}  # the gate never ran
    assert evaluate(save["if"], contexts, failed=True) is False


def test_a_limit_other_than_the_baselines_is_a_usage_error(action, baseline, tmp_path):
    repo = model_repository(tmp_path, baseline)
    run = run_action(action, repo, gate_inputs(limit="2"), tmp_path)
    assert run.action_outputs["exit-code"] == "4"
    assert run.failed is not None and run.failed.startswith("exit exited 4")
    assert "save" not in run.ran  # a refused run converted nothing: no cache entry to pin


def test_a_missing_baseline_stops_before_installing_anything(action, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    run = run_action(action, repo, gate_inputs(baseline="nope.json"), tmp_path)
    assert run.failed is not None and "cannot read eifbench_version" in run.failed
    assert run.ran == ["python", "version", "upload"]  # no install, no gate; upload warns of no files
