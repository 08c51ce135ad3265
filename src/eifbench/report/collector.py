"""The reporting half of the plugin: collect records, print the table, write the files.

Registered per run as a plugin object (like pytest-benchmark's session), so its state is
plain attributes rather than module globals.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from eifbench.cases import RunOptions
from eifbench.desiderata.base import FAIL
from eifbench.report.records import RECORD_KEY, Record

TERMINATED = 143  # 128 + SIGTERM, the shell's code for a terminated process


class Reporter:
    """Collects one record per test from the reports (serial runs and xdist workers alike)."""

    def __init__(self, config: pytest.Config, options: RunOptions) -> None:
        self.config = config
        self.options = options
        self.records: dict[str, Record] = {}
        self.failed_without_record: set[str] = set()
        self.started = time.time()
        self.terminated = False
        self.written: list[Path] = []
        self.write_errors: list[str] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Take the record a test attached to its report; remember its pytest outcome."""
        for key, value in report.user_properties:
            if key == RECORD_KEY and report.nodeid not in self.records:
                record = Record.from_json(json.loads(str(value)))
                outcome = "xfailed" if hasattr(report, "wasxfail") else report.outcome
                self.records[report.nodeid] = record.replace(outcome=outcome)
                self._log_line(self.records[report.nodeid])
        if report.failed and not any(k == RECORD_KEY for k, _ in report.user_properties):
            self.failed_without_record.add(report.nodeid)

    def _log_line(self, record: Record) -> None:
        """In a log (no TTY), one line per finished test: a CI log is never silent for minutes."""
        stream = sys.__stderr__
        if stream is None or stream.isatty() or hasattr(self.config, "workerinput"):
            return
        from eifbench.report.tables import cell

        where = f"{record.column} · {record.desideratum} · {record.condition}"
        stream.write(f"[eifbench] {where}: {cell(record)} ({record.seconds:.1f}s)\n")
        stream.flush()

    def ordered(self) -> list[Record]:
        """Records in a stable order, whatever order workers finished in."""
        return sorted(self.records.values(), key=lambda r: r.nodeid)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Print the table, the worst items of failures, file errors. Never raises."""
        from eifbench.report.tables import LEGEND, recipe_lines, summary_table

        records = self.ordered()
        if records:
            terminalreporter.section("eifbench: desiderata per model")
            terminalreporter.write_line(summary_table(records))
            for line in recipe_lines(records):
                terminalreporter.write_line(line)
            if self.config.getoption("verbose") > 0 or any(r.status == FAIL for r in records):
                from eifbench.report.explain_text import terminal_explanations

                for line in terminal_explanations(records, verbose=self.config.getoption("verbose") > 0):
                    terminalreporter.write_line(line)
            terminalreporter.write_line(f"total {time.time() - self.started:.0f}s · {LEGEND}")
        for path in self.written:
            terminalreporter.write_line(f"eifbench: wrote {path}")
        if "save-baseline" in self.options.reports and not self.write_errors:
            failing = sum(r.status == FAIL for r in records)
            terminalreporter.write_line(
                f"eifbench: baseline saved to {self.options.reports['save-baseline']} ({len(records)} records, "
                f"{failing} failing: later runs gated against it treat them as known violations); exit 0."
            )
        for error in self.write_errors:
            terminalreporter.write_line(f"eifbench: ERROR {error}", red=True)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Write the requested reports (the controller only) and settle the exit code."""
        if hasattr(self.config, "workerinput"):
            return
        from eifbench.report.writers import write_reports

        records = self.ordered()
        complete = exitstatus != pytest.ExitCode.INTERRUPTED and not session.shouldstop and not self.terminated
        self.written, self.write_errors = write_reports(
            self.options.reports,
            records,
            complete=complete,
            folder=Path(str(self.config.rootpath)),
            seconds=time.time() - self.started,
        )
        if self.terminated:
            session.exitstatus = TERMINATED
        elif self.write_errors:
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
        elif any(r.gate is not None and r.gate.kind == "regression" for r in records):
            if session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
        elif "save-baseline" in self.options.reports and session.exitstatus == pytest.ExitCode.TESTS_FAILED:
            # saving a baseline succeeds whatever the verdicts; a test that broke still fails
            if not self.failed_without_record:
                session.exitstatus = pytest.ExitCode.OK
