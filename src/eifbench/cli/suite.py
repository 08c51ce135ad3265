"""``eifbench run`` and ``eifbench compare``: the bundled suite and the CI gate."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eifbench.errors import EifError
from eifbench.plugin.options import OPTIONS

INTERRUPTED = 130  # 128 + SIGINT: Ctrl-C, distinct from bad input (2) and usage errors (4)
TERMINATED = 143  # 128 + SIGTERM: CI cancellation, `timeout`
RECEIVED_SIGTERM = False  # set by the CLI's own SIGTERM handler, before pytest's plugin installs one


def suite_root() -> Path:
    """The folder holding ``desiderata_tests/``, ``fixtures/``, ``models/`` and ``conftest.py``.

    From a wheel it is ``eifbench/_suite``; from a checkout, the repository root.
    """
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "_suite", package.parents[1]):
        if (candidate / "desiderata_tests").is_dir() and (candidate / "fixtures").is_dir():
            return candidate
    raise EifError("The bundled desiderata suite is missing from this install; reinstall eifbench.")


class SuiteRelativePaths:
    """A pytest plugin for ``eifbench run``: test paths printed relative to the suite, not to the cwd.

    The suite is run from the user's folder (spec paths like ``hf:./ckpt`` and report paths are
    theirs), so pytest would print ``../../lib/python3.11/site-packages/eifbench/_suite/...``.
    Node ids are already relative to the suite (``--rootdir``); only the display is changed,
    never the working directory.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def pytest_sessionstart(self, session: Any) -> None:
        """Point the terminal reporter's start path and ``cwd_relative_nodeid`` at the suite.

        At session start every plugin is configured (the reporter exists) and no test path has
        been printed yet.
        """
        config = session.config
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:  # progress lines: ``desiderata_tests/test_distance.py x.``
            reporter.startpath = self.root
        # verbose lines and the short summary (``FAILED desiderata_tests/...::test[...]``)
        config.cwd_relative_nodeid = lambda nodeid: nodeid


@dataclass(frozen=True)
class RunCommand:
    """``eifbench run``: the desiderata suite on your model(s); every ``--eif-X`` is ``--X`` here."""

    help: str = "run the desiderata suite on one or more models (default: fashion-cnn and smollm2)"

    def register(self, parser: argparse.ArgumentParser) -> None:
        """One flag per entry of the option table."""
        for option in OPTIONS:
            if option.kind == "bool":
                parser.add_argument(f"--{option.name}", action="store_true", default=None, help=option.help)
            elif option.kind == "linelist":
                parser.add_argument(f"--{option.name}", action="append", default=None, help=option.help)
            else:
                parser.add_argument(f"--{option.name}", default=None, help=option.help)
        parser.add_argument(  # shares dest with --cache: --no-cache recomputes every result and stores the new ones
            "--no-cache", dest="cache", action="store_const", const="refresh", help="recompute every influence result"
        )
        parser.add_argument(
            "pytest_args", nargs=argparse.REMAINDER, help="after --: more pytest arguments (-n 2, -k ...)"
        )

    def pytest_args(self, args: argparse.Namespace, root: Path) -> list[str]:
        """The pytest command line for these options.

        Nothing but the reports asked for is written to the user's folder: no cache provider
        (``.pytest_cache``), no pytest-benchmark (``.benchmarks``; the suite times nothing with
        it), and the suite's conftest keeps hypothesis's files under the eifbench cache.
        """
        argv = [str(root / "desiderata_tests"), f"--rootdir={root}", "-p", "no:cacheprovider", "-p", "no:benchmark"]
        for option in OPTIONS:
            value = getattr(args, option.name.replace("-", "_"))
            if value is None:
                continue
            if option.kind == "bool":
                argv.append(f"--eif-{option.name}")
            elif option.kind == "linelist":
                argv += [f"--eif-{option.name}={v}" for v in value]
            else:
                argv.append(f"--eif-{option.name}={value}")
        if args.cache is None:  # eifbench run reuses finished influence results (resume) unless told otherwise
            argv.append("--eif-cache=on")
        extra = list(args.pytest_args or [])
        return argv + (extra[1:] if extra[:1] == ["--"] else extra)

    def run(self, args: argparse.Namespace) -> int:
        """Run pytest on the bundled suite; its exit code is ours (Ctrl-C is 130, SIGTERM 143)."""
        try:
            import pytest

            root = suite_root()
            if str(root) not in sys.path:
                sys.path.insert(0, str(root))
            code = int(pytest.main(self.pytest_args(args, root), plugins=[SuiteRelativePaths(root)]))
        except KeyboardInterrupt:  # while starting (imports, configuration): pytest never got to write reports
            self.write_unstarted(args)
            from eifbench.plugin import hooks

            print("eifbench: interrupted while starting; no test ran", file=sys.stderr)
            return TERMINATED if RECEIVED_SIGTERM or hooks.RECEIVED_SIGTERM else INTERRUPTED
        return INTERRUPTED if code == pytest.ExitCode.INTERRUPTED else code

    def write_unstarted(self, args: argparse.Namespace) -> None:
        """Write each requested report as an empty, incomplete run, so no stale file from an earlier run remains."""
        from eifbench.report.rendering.outputs import DOCUMENT_WRITERS
        from eifbench.report.rendering.writers import write_reports

        reports = {w.name: getattr(args, w.name.replace("-", "_")) for w in DOCUMENT_WRITERS}
        write_reports(
            {name: path for name, path in reports.items() if path},
            [],
            complete=False,
            folder=Path.cwd(),
            seconds=0.0,
            missing=[{"test": "(every selected test)", "why": "interrupted while starting, before any test ran"}],
        )


@dataclass(frozen=True)
class CompareCommand:
    """``eifbench compare OLD NEW``: exit 0 (no regression), 1 (regression), 2 (bad input), 3 (incomplete)."""

    help: str = "compare two JSON reports; exit 1 on a regression, 2 on bad input, 3 on an incomplete report"

    def register(self, parser: argparse.ArgumentParser) -> None:
        """Add the command's options."""
        parser.add_argument("old", help="the baseline JSON report")
        parser.add_argument("new", help="the new JSON report")
        parser.add_argument("--tolerance", action="append", default=None, help="DESIDERATUM=VALUE (repeatable)")
        parser.add_argument(
            "--compare-as", default=None, help="the baseline model the new report's model is compared with"
        )
        parser.add_argument("--markdown", default=None, help="also write the comparison as markdown (a step summary)")
        parser.add_argument("--html", default=None, help="also write the comparison as a self-contained HTML page")

    def run(self, args: argparse.Namespace) -> int:
        """Print the verdict line and a before/after table (and write them); return 1 when anything regressed."""
        from tabulate import tabulate

        from eifbench.desiderata import DESIDERATA
        from eifbench.desiderata.base import NOT_APPLICABLE
        from eifbench.plugin.parse import pairs
        from eifbench.report.rendering.verdict_line import verdict_line
        from eifbench.report.rendering.writers import check_report_paths
        from eifbench.report.results.baseline import Baseline, check_tolerances
        from eifbench.report.results.loading import load_report

        tolerances = check_tolerances(pairs(args.tolerance, "tolerance"), list(DESIDERATA))
        reports = {"markdown": args.markdown, "html": args.html}
        check_report_paths({name: path for name, path in reports.items() if path})
        old = Baseline.load(args.old)
        _, new = load_report(args.new, role="report")
        mapping = old.prepare(
            {r.column: r.kind for r in new}, {(r.column, r.condition): r.recipe for r in new}, args.compare_as
        )
        cells = old.gate(mapping, new, tolerances)
        absent = [c for c in old.columns if c not in mapping.values()]  # OLD's models that NEW does not hold
        cells += [
            old.not_measured(c, r, tolerances)
            for c in absent
            for r in old.records
            if r.column == c and r.status != NOT_APPLICABLE
        ]
        rows, gated, not_measured = [], [], []
        for cell in cells:
            record, before, result = cell.record, cell.before, cell.comparison
            if record is not None and record.status == NOT_APPLICABLE and result.kind != "regression":
                continue  # n/a now, and nothing measured before: nothing to show
            if record is None:  # measured before, not now: never a silent pass
                not_measured.append(
                    {
                        "column": cell.column,
                        "desideratum": cell.desideratum,
                        "condition": cell.condition,
                        "why": result.why,
                    }
                )
            else:
                gated.append(record.replace(gate=result))
            rows.append(
                [
                    cell.column,
                    cell.desideratum,
                    cell.condition,
                    before.status.value if before else "—",
                    _value(before.value if before else None),
                    record.status.value if record else "—",
                    _value(record.value if record else None),
                    result.kind.upper() if result.kind == "regression" else result.kind,
                    result.why,
                ]
            )
        kinds = [r.gate.kind for r in gated if r.gate is not None]
        regressions = kinds.count("regression") + len(not_measured)
        code = 1 if regressions else 0  # compare gates on regressions only (a cell new in NEW is not one)
        doc: dict[str, Any] = {
            "complete": True,
            "exit_code": code,
            "gate": {
                "baseline": old.path,
                "regressions": regressions,
                "known_violations": kinds.count("known-violation"),
                "improvements": kinds.count("improvement"),
                "not_measured": not_measured,
            },
        }
        line = verdict_line(doc, gated)
        target = ", ".join(sorted(set(mapping.values())))
        title = f"{args.new} against {args.old} ({target})"
        print(line)
        print(tabulate(rows, headers=COMPARE_HEADERS, tablefmt="github", disable_numparse=True))
        print(f"\ncompared {title}: " + (f"{regressions} regression(s)" if regressions else "no regression"))
        self.write(reports, title, line, rows)
        return code

    def write(self, reports: dict[str, str | None], title: str, line: str, rows: list[list[str]]) -> None:
        """Write the comparison as markdown and/or HTML (each only when asked), atomically."""
        from eifbench.report.rendering.writers import visible_controls
        from eifbench.report.results.records import write_atomic

        if reports["markdown"]:
            from eifbench.report.rendering.markdown import comparison_markdown

            write_atomic(reports["markdown"], visible_controls(comparison_markdown(title, line, COMPARE_HEADERS, rows)))
            print(f"eifbench: wrote {reports['markdown']}")
        if reports["html"]:
            from eifbench.report.rendering.html import comparison_html

            write_atomic(reports["html"], visible_controls(comparison_html(title, line, COMPARE_HEADERS, rows)))
            print(f"eifbench: wrote {reports['html']}")


COMPARE_HEADERS = ["model", "desideratum", "condition", "was", "value", "now", "value", "verdict", "why"]


def _value(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"
