"""The ``eifbench`` command line: ``influence``, ``run``, ``compare``, ``models``.

A user's mistake prints one line and exits 2 (3 for a report or baseline whose run did not
finish); nothing prints a stack trace for it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from eifbench.cli.commands import COMMANDS


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-parser per command."""
    parser = argparse.ArgumentParser(
        prog="eifbench",
        description="Empirical-influence desiderata: does a model learn logically from fine-tuning?",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in COMMANDS.items():
        command.register(sub.add_parser(name, help=command.help, description=command.help))
    return parser


def _terminate_as_interrupt() -> None:
    """SIGTERM while ``eifbench run`` starts (before pytest installs its own handler) ends it like Ctrl-C.

    So a run cancelled during its imports still writes its reports, marked incomplete, and
    exits 143 instead of dying with a stale report from an earlier run in place.
    """
    import signal

    from eifbench.cli import suite

    def on_term(signum: int, frame: object) -> None:
        suite.RECEIVED_SIGTERM = True
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread (main() called from a host's thread)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    from eifbench.errors import EifError, IncompleteReportError

    args = build_parser().parse_args(argv)
    if args.command == "run":
        _terminate_as_interrupt()
    try:
        return COMMANDS[args.command].run(args)
    except IncompleteReportError as error:  # distinct: nothing is wrong with the input's form, it is partial
        print(f"eifbench: error: {error}", file=sys.stderr)
        return 3
    except EifError as error:
        print(f"eifbench: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("eifbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
