"""The reporting half of the plugin: collect records, print the table, write the files.

Registered per run as a plugin object (like pytest-benchmark's session), so its state is
plain attributes rather than module globals.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eifbench.report.records import RECORD_KEY


class Reporter:
    """Collects one record per test from the reports (serial runs and xdist workers alike)."""

    def __init__(self, config: pytest.Config, option: Callable[[str], Any]) -> None:
        self.config = config
        self.option = option
        self.records: dict[str, dict[str, Any]] = {}
        self.started = time.time()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Take the record a test attached to its report; remember its pytest outcome."""
        for key, value in report.user_properties:
            if key == RECORD_KEY and report.nodeid not in self.records:
                record = json.loads(value)
                record["outcome"] = "xfailed" if hasattr(report, "wasxfail") else report.outcome
                self.records[report.nodeid] = record

    def ordered(self) -> list[dict[str, Any]]:
        """Records in a stable order, whatever order workers finished in."""
        return sorted(self.records.values(), key=lambda r: r["nodeid"])

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """Print the pass/fail table. Never raises: the exit code is settled in sessionfinish."""
        if not self.records:
            return
        from eifbench.report.tables import recipe_lines, summary_table

        records = self.ordered()
        terminalreporter.section("eifbench: desiderata per model")
        terminalreporter.write_line(summary_table(records))
        for line in recipe_lines(records):
            terminalreporter.write_line(line)
        terminalreporter.write_line(
            f"total {time.time() - self.started:.0f}s · FAIL = the model violates the desideratum · "
            "INCONCL = the CI straddles the threshold"
        )

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Write the requested reports (the controller only) and settle the exit code."""
        if hasattr(self.config, "workerinput"):
            return
        from eifbench.report.writers import write_reports

        records = self.ordered()
        complete = exitstatus != pytest.ExitCode.INTERRUPTED and not session.shouldstop
        write_reports(
            self.option,
            records,
            complete=complete,
            folder=Path(str(self.config.rootpath)),
            seconds=time.time() - self.started,
        )
        if any(r.get("gate") == "regression" for r in records) and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
