"""``eifbench run`` and ``eifbench compare``: the bundled suite and the CI gate."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from eifbench.errors import EifError


def suite_root() -> Path:
    """The folder holding ``desiderata_tests/``, ``fixtures/``, ``models/`` and ``conftest.py``.

    From a wheel it is ``eifbench/_suite``; from a checkout, the repository root.
    """
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "_suite", package.parents[1]):
        if (candidate / "desiderata_tests").is_dir() and (candidate / "fixtures").is_dir():
            return candidate
    raise EifError("The bundled desiderata suite is missing from this install; reinstall eifbench.")


# ``eifbench run --X`` is ``pytest --eif-X`` for each of these
PASSED_THROUGH = (
    "json",
    "markdown",
    "html",
    "compare",
    "save-baseline",
    "stimuli",
    "lr",
    "steps",
    "optimizer",
    "engine",
    "limit",
    "seed",
)


@dataclass(frozen=True)
class RunCommand:
    """``eifbench run``: the desiderata suite on your model(s)."""

    help: str = "run the desiderata suite on one or more models (default: fashion-cnn and smollm2)"

    def register(self, parser: argparse.ArgumentParser) -> None:
        """Add the command's options."""
        parser.add_argument("--model", action="append", default=None, help="model spec (repeatable)")
        parser.add_argument("--model-args", default=None, help="key=value,... for every model")
        for name in PASSED_THROUGH:
            parser.add_argument(f"--{name}", default=None, help=f"passed as --eif-{name}")
        parser.add_argument("--threshold", action="append", default=None, help="NAME=VALUE (repeatable)")
        parser.add_argument("--tolerance", action="append", default=None, help="DESIDERATUM=VALUE (repeatable)")
        parser.add_argument(
            "pytest_args", nargs=argparse.REMAINDER, help="after --: more pytest arguments (-n 2, -k ...)"
        )

    def pytest_args(self, args: argparse.Namespace, root: Path) -> list[str]:
        """The pytest command line for these options."""
        argv = [str(root / "desiderata_tests"), f"--rootdir={root}", "-p", "no:cacheprovider"]
        for spec in args.model or []:
            argv += ["--eif-model", spec]
        for name in ("model-args", *PASSED_THROUGH):
            value = getattr(args, name.replace("-", "_"))
            if value is not None:
                argv.append(f"--eif-{name}={value}")
        for name in ("threshold", "tolerance"):
            for value in getattr(args, name) or []:
                argv.append(f"--eif-{name}={value}")
        extra = list(args.pytest_args or [])
        return argv + (extra[1:] if extra[:1] == ["--"] else extra)

    def run(self, args: argparse.Namespace) -> int:
        """Run pytest on the bundled suite; its exit code is ours."""
        import pytest

        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        root = suite_root()
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))
        return int(pytest.main(self.pytest_args(args, root)))


@dataclass(frozen=True)
class CompareCommand:
    """``eifbench compare OLD NEW``: exit 0 (no regression), 1 (regression), 2 (bad input)."""

    help: str = "compare two JSON reports; exit 1 on a regression, 2 on bad input"

    def register(self, parser: argparse.ArgumentParser) -> None:
        """Add the command's options."""
        parser.add_argument("old", help="the baseline JSON report")
        parser.add_argument("new", help="the new JSON report")
        parser.add_argument("--tolerance", action="append", default=None, help="DESIDERATUM=VALUE (repeatable)")

    def run(self, args: argparse.Namespace) -> int:
        """Print a before/after table; return 1 when anything regressed."""
        from tabulate import tabulate

        from eifbench.plugin_options import _pairs
        from eifbench.report.baseline import compare, index, load_report
        from eifbench.report.records import record_key

        tolerances = _pairs(args.tolerance, "tolerance")
        old, new = index(load_report(args.old)), load_report(args.new)
        rows, regressions = [], 0
        for record in new["results"]:
            if record["status"] == "n/a":
                continue
            before = old.match(record_key(record))
            result = compare(before, record, tolerances)
            regressions += result.kind == "regression"
            rows.append(
                [
                    record.get("column") or record["model"],
                    record["desideratum"],
                    record["condition"],
                    before["status"] if before else "—",
                    _value(before),
                    record["status"],
                    _value(record),
                    result.kind.upper() if result.kind == "regression" else result.kind,
                ]
            )
        print(
            tabulate(
                rows,
                headers=["model", "desideratum", "condition", "was", "value", "now", "value", "verdict"],
                tablefmt="github",
                disable_numparse=True,
            )
        )
        print(f"\n{regressions} regression(s)" if regressions else "\nno regression")
        return 1 if regressions else 0


def _value(record: dict | None) -> str:
    return "—" if not record or record.get("value") is None else f"{record['value']:.3f}"
