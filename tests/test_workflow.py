"""The example CI workflow (examples/github-actions.yml) parses and runs only real flags of the CLI."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from eifbench.cli import build_parser
from eifbench.cli.suite import INTERRUPTED
from eifbench.options import OPTIONS
from eifbench.report.collector import TERMINATED

WORKFLOW = Path(__file__).resolve().parents[1] / "examples" / "github-actions.yml"


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def eifbench_commands(workflow: dict) -> list[list[str]]:
    """Every ``eifbench ...`` command line the workflow's run steps execute, as argv."""
    commands = []
    for step in steps(workflow):
        for line in step.get("run", "").splitlines():
            words = shlex.split(line)
            if words[:1] == ["eifbench"]:
                commands.append(words[1:])
    return commands


def test_the_workflow_is_valid_yaml_with_triggers_and_a_job(workflow):
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as True
    assert triggers and "pull_request" in triggers
    assert all(step.get("uses") or step.get("run") for step in steps(workflow))


def test_every_eifbench_flag_is_a_real_option_and_the_command_parses(workflow):
    commands = eifbench_commands(workflow)
    assert commands and commands[0][0] == "run"
    names = {f"--{option.name}" for option in OPTIONS}
    for argv in commands:
        flags = [word for word in argv if word.startswith("--")]
        assert set(flags) <= names, f"not eifbench run options (argparse would take a prefix): {set(flags) - names}"
        args = build_parser().parse_args(argv)  # an unknown flag exits 2 here
        assert args.command == "run"


def test_the_gate_writes_the_summary_and_uploads_both_reports_even_on_failure(workflow):
    (argv,) = eifbench_commands(workflow)
    args = build_parser().parse_args(argv)
    assert args.model == ["hf:$CHECKPOINT"] and args.compare == "baseline.json" and args.compare_as
    assert args.markdown == "$GITHUB_STEP_SUMMARY"
    (upload,) = [s for s in steps(workflow) if s.get("uses", "").startswith("actions/upload-artifact")]
    assert upload.get("if") == "always()"
    assert {args.html, args.json} <= set(upload["with"]["path"].split())


def test_the_cache_holds_eifbench_cache(workflow):
    (job,) = workflow["jobs"].values()
    (cache,) = [s for s in steps(workflow) if s.get("uses", "").startswith("actions/cache")]
    assert "EIFBENCH_CACHE" in job["env"]
    assert "${{ env.EIFBENCH_CACHE }}" in cache["with"]["path"]


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
