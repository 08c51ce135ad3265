"""``eifbench run`` and ``eifbench compare``: the bundled suite and the CI gate."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from eifbench.errors import EifError
from eifbench.options import OPTIONS

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
        parser.add_argument(
            "pytest_args", nargs=argparse.REMAINDER, help="after --: more pytest arguments (-n 2, -k ...)"
        )

    def pytest_args(self, args: argparse.Namespace, root: Path) -> list[str]:
        """The pytest command line for these options."""
        argv = [str(root / "desiderata_tests"), f"--rootdir={root}", "-p", "no:cacheprovider"]
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
        extra = list(args.pytest_args or [])
        return argv + (extra[1:] if extra[:1] == ["--"] else extra)

    def run(self, args: argparse.Namespace) -> int:
        """Run pytest on the bundled suite; its exit code is ours (Ctrl-C is 130, SIGTERM 143)."""
        try:
            import pytest

            root = suite_root()
            if str(root) not in sys.path:
                sys.path.insert(0, str(root))
            code = int(pytest.main(self.pytest_args(args, root)))
        except KeyboardInterrupt:  # while starting (imports, configuration): pytest never got to write reports
            self.write_unstarted(args)
            from eifbench import pytest_plugin

            print("eifbench: interrupted while starting; no test ran", file=sys.stderr)
            return TERMINATED if RECEIVED_SIGTERM or pytest_plugin.RECEIVED_SIGTERM else INTERRUPTED
        return INTERRUPTED if code == pytest.ExitCode.INTERRUPTED else code

    def write_unstarted(self, args: argparse.Namespace) -> None:
        """Write each requested report as an empty, incomplete run, so no stale file from an earlier run remains."""
        from eifbench.report.writers import write_reports

        names = ("json", "save-baseline", "markdown", "html")
        reports = {name: getattr(args, name.replace("-", "_")) for name in names}
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

    def run(self, args: argparse.Namespace) -> int:
        """Print a before/after table; return 1 when anything regressed."""
        from tabulate import tabulate

        from eifbench.desiderata import DESIDERATA
        from eifbench.desiderata.base import NOT_APPLICABLE
        from eifbench.plugin_options import pairs
        from eifbench.report.baseline import Baseline, check_tolerances, compare
        from eifbench.report.loading import load_report

        tolerances = check_tolerances(pairs(args.tolerance, "tolerance"), list(DESIDERATA))
        old = Baseline.load(args.old)
        _, new = load_report(args.new, role="report")
        mapping = old.prepare(
            {r.column: r.kind for r in new}, {(r.column, r.condition): r.recipe for r in new}, args.compare_as
        )
        rows, regressions = [], 0
        for record in new:
            if record.status == NOT_APPLICABLE:
                continue
            before = old.match(mapping[record.column], record)
            result = compare(before, record, tolerances, old.path)
            regressions += result.kind == "regression"
            rows.append(
                [
                    record.column,
                    record.desideratum,
                    record.condition,
                    before.status.value if before else "—",
                    _value(before.value if before else None),
                    record.status.value,
                    _value(record.value),
                    result.kind.upper() if result.kind == "regression" else result.kind,
                    result.why,
                ]
            )
        for column, before in old.missing(mapping, new):  # measured before, not now: never a silent pass
            regressions += 1
            why = "measured in the baseline, not in the new report"
            rows.append(
                [column, before.desideratum, before.condition, before.status.value, _value(before.value)]
                + ["—", "—", "REGRESSION", why]
            )
        headers = ["model", "desideratum", "condition", "was", "value", "now", "value", "verdict", "why"]
        print(tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True))
        target = ", ".join(sorted(set(mapping.values())))
        print(
            f"\ncompared {args.new} against {args.old} ({target}): "
            + (f"{regressions} regression(s)" if regressions else "no regression")
        )
        return 1 if regressions else 0


def _value(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"
