"""The reporting half of the plugin: collect records, print the table, write the files.

Registered per run as a plugin object (like pytest-benchmark's session), so its state is
plain attributes rather than module globals.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from eifbench.cases import RunOptions
from eifbench.desiderata.base import FAIL, NOT_APPLICABLE
from eifbench.report.results.records import MEASURES_MARK, RECORD_KEY, USAGE_ERROR_KEY, Record

if TYPE_CHECKING:
    from eifbench.plugin.session import EifSession

TERMINATED = 143  # 128 + SIGTERM, the shell's code for a terminated process


class Reporter:
    """Collects one record per test from the reports (serial runs and xdist workers alike).

    A run is *complete* only when every selected measuring test (marked ``eif_measures``)
    produced a record and nothing stopped the run early: a crashed test, a usage error, an
    interrupt or ``-x`` each leave ``"complete": false`` and say which tests are missing.
    """

    def __init__(self, config: pytest.Config, session: EifSession) -> None:
        self.config = config
        self.session = session
        self.options: RunOptions = session.options
        self.records: dict[str, Record] = {}
        self.failed_without_record: set[str] = set()
        self.expected: dict[str, str] = {}  # measuring test -> why it has no record yet
        self.usage_errors: dict[str, str] = {}  # test -> the one-line refusal it raised
        self.started = time.time()
        self.terminated = False
        self.interrupted = False
        self.written: list[Path] = []
        self.write_errors: list[str] = []
        self.missing: list[dict[str, str]] = []
        self.complete = True
        self.not_measured: list[dict[str, Any]] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """The measuring tests this run selected (serial runs; xdist workers report theirs as they run)."""
        for item in session.items:
            if item.get_closest_marker(MEASURES_MARK) is not None:
                self.expected.setdefault(item.nodeid, "never ran")

    @pytest.hookimpl(tryfirst=True)
    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        """Remember the interrupt before anything renders it (rendering may itself raise)."""
        self.interrupted = True

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Take the record a test attached to its report; remember its pytest outcome."""
        if report.when == "setup" and MEASURES_MARK in report.keywords:
            self.expected.setdefault(report.nodeid, "never ran")
        for key, value in report.user_properties:
            if key == RECORD_KEY and report.nodeid not in self.records:
                record = Record.from_json(json.loads(str(value)))
                outcome = "xfailed" if hasattr(report, "wasxfail") else report.outcome
                self.records[report.nodeid] = record.replace(outcome=outcome)
                self._log_line(self.records[report.nodeid])
            elif key == USAGE_ERROR_KEY:
                self.usage_errors[report.nodeid] = str(value)
        if report.nodeid in self.records:
            return
        if report.failed:
            self.failed_without_record.add(report.nodeid)
            self.expected[report.nodeid] = self.usage_errors.get(report.nodeid) or (
                f"{report.when} raised before the test produced a result"
            )
        elif report.skipped:  # skipped on purpose (a skip marker, pytest.skip): not run, like a deselected test
            self.expected.pop(report.nodeid, None)

    def _log_line(self, record: Record) -> None:
        """In a log (no TTY), one line per finished test: a CI log is never silent for minutes."""
        stream = sys.__stderr__
        if stream is None or stream.isatty() or hasattr(self.config, "workerinput"):
            return
        from eifbench.report.rendering.tables import cell

        where = f"{record.column} · {record.desideratum} · {record.condition}"
        stream.write(f"[eifbench] {where}: {cell(record)} ({record.seconds:.1f}s)\n")
        stream.flush()

    def ordered(self) -> list[Record]:
        """Records in a stable order, whatever order workers finished in."""
        return sorted(self.records.values(), key=lambda r: r.nodeid)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Print the table, the worst items of failures, file errors. Never raises."""
        from eifbench.report.rendering.tables import LEGEND, recipe_lines, summary_table
        from eifbench.report.rendering.verdict_line import print_verdict

        print_verdict(self, terminalreporter)  # first: the one line a CI log reader must not miss
        records = self.ordered()
        if records:
            terminalreporter.section("eifbench: desiderata per model")
            terminalreporter.write_line(summary_table(records))
            for line in recipe_lines(records):
                terminalreporter.write_line(line)
            if self.config.getoption("verbose") > 0 or any(r.status == FAIL for r in records):
                from eifbench.report.explanation.explain_text import terminal_explanations

                for line in terminal_explanations(records, verbose=self.config.getoption("verbose") > 0):
                    terminalreporter.write_line(line)
            terminalreporter.write_line(f"total {time.time() - self.started:.0f}s · {LEGEND}")
        cached = self.session.stored.line()
        if cached:
            terminalreporter.write_line(cached)
        for path in self.written:
            terminalreporter.write_line(f"eifbench: wrote {path}")
        for line in self._closing_lines(records):
            terminalreporter.write_line(line, red=line.startswith("eifbench: ERROR"))

    def _closing_lines(self, records: list[Record]) -> list[str]:
        """What a reader must not miss: refusals, missing results, ungated cells, the baseline's state."""
        lines = [f"eifbench: ERROR {message} (exit 4)" for message in dict.fromkeys(self.usage_errors.values())]
        if self.missing:
            first = self.missing[0]
            lines.append(
                f"eifbench: ERROR incomplete run: {len(self.missing)} test(s) produced no result, e.g. "
                f"{first['test']}: {first['why']}"
            )
        for cell in self.not_measured:
            where = f"{cell['column']} · {cell['desideratum']} · {cell['condition']}"
            lines.append(f"eifbench: ERROR REGRESSED {where}: {cell['why']}")
        if "save-baseline" in self.options.reports and not self.write_errors:
            path = self.options.reports["save-baseline"]
            if not any(r.status != NOT_APPLICABLE for r in records):
                lines.append(
                    f"eifbench: ERROR {path} holds no measured result: gates refuse it; select measured cells."
                )
            elif self.complete:
                failing = sum(r.status == FAIL for r in records)
                lines.append(
                    f"eifbench: baseline saved to {path} ({len(records)} records, {failing} failing: later runs "
                    "gated against it treat them as known violations)"
                    + ("; exit 0." if not self.failed_without_record else ".")
                )
            else:
                lines.append(
                    f"eifbench: ERROR {path} is marked incomplete ({len(records)} records): gates refuse it; "
                    "save the baseline again from a run that finishes."
                )
        lines += [f"eifbench: ERROR {error}" for error in self.write_errors]
        return lines

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Write the requested reports (the controller only) and settle the exit code."""
        if hasattr(self.config, "workerinput"):
            return
        from eifbench.report.rendering.writers import write_reports

        records = self.ordered()
        interrupted = self.interrupted or self.terminated or exitstatus == pytest.ExitCode.INTERRUPTED
        self.missing = [
            {"test": test, "why": why} for test, why in sorted(self.expected.items()) if test not in self.records
        ]
        stopped = bool(session.shouldstop or session.shouldfail)
        self.complete = not (interrupted or stopped or self.missing)
        self.not_measured = self._not_measured(records)
        session.exitstatus = self._exit_status(records, session.exitstatus, interrupted)
        self.written, self.write_errors = write_reports(
            self.options.reports,
            records,
            complete=self.complete,
            folder=Path(str(self.config.rootpath)),
            seconds=time.time() - self.started,
            missing=self.missing,
            gate=self._gate_summary(records),
            exit_code=int(session.exitstatus),
        )
        if self.write_errors and not self.terminated and not self.usage_errors and not interrupted:
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR

    def _exit_status(self, records: list[Record], status: int, interrupted: bool) -> int:
        """The run's exit code, settled before the reports are written so that they can state it."""
        if self.terminated:
            return TERMINATED
        if self.usage_errors:  # before the interrupt: a refusal stops the run through pytest's shouldstop
            return pytest.ExitCode.USAGE_ERROR
        if interrupted:  # also when rendering the interrupt failed and pytest fell back to exit 1
            return pytest.ExitCode.INTERRUPTED
        saving = "save-baseline" in self.options.reports
        failed = (
            self.not_measured  # a baseline cell this run did not measure
            or any(r.gate is not None and r.gate.kind == "regression" for r in records)
            or self.missing  # a measuring test that produced no result, even one that passed
            or (saving and all(r.status == NOT_APPLICABLE for r in records))  # a baseline that could gate nothing
        )
        if failed:
            return pytest.ExitCode.TESTS_FAILED if status == pytest.ExitCode.OK else status
        # saving a baseline succeeds whatever the verdicts; a test that broke, or a partial run, still fails
        if saving and status == pytest.ExitCode.TESTS_FAILED and self.complete and not self.failed_without_record:
            return pytest.ExitCode.OK
        return status

    def _not_measured(self, records: list[Record]) -> list[dict[str, Any]]:
        """Cells the baseline measured that this run did not: each is a regression, never a silent pass."""
        baseline = self.session.baseline
        if baseline is None:
            return []
        out = []
        for column, before in baseline.missing(self.session.baseline_columns, records):
            was = "no value" if before.value is None else f"{before.value:.3f}"
            out.append(
                {
                    "column": column,
                    "desideratum": before.desideratum,
                    "condition": before.condition,
                    "why": f"measured in the baseline ({before.status.value.upper()} {was}), not in this run",
                }
            )
        return out

    def _gate_summary(self, records: list[Record]) -> dict[str, Any] | None:
        """The gate's counts for the report (None when the run was not gated)."""
        baseline = self.session.baseline
        if baseline is None:
            return None
        kinds = [r.gate.kind for r in records if r.gate is not None]
        return {
            "baseline": baseline.path,
            "regressions": kinds.count("regression") + len(self.not_measured),
            "known_violations": kinds.count("known-violation"),
            "improvements": kinds.count("improvement"),
            "not_measured": self.not_measured,
        }
