"""Every file a run can write, in one table: its option, its help line, and how it is made.

``WRITERS`` is the one place an output format is declared. The ``--eif-<name>`` options
(and ``eifbench run``'s ``--<name>``) are derived from it, every path in it is checked for
writability before anything runs (``writers.check_report_paths``), and ``write_reports``
writes each format that renders the run's document. Import-light on purpose: the option
table reads it in every pytest run of every project where eifbench is installed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eifbench.report.results.records import Record

Render = Callable[[dict[str, Any], Sequence["Record"]], str]


@dataclass(frozen=True)
class Writer:
    """One output file.

    Attributes:
        name: the option name without prefix (``--eif-json``, ``eifbench run --json``).
        help: the option's one-line help.
        render: (document, records) -> the file's text; None for the JSON document itself.
        streamed: written while the run goes (one line per record), not rendered at its end.

    """

    name: str
    help: str
    render: Render | None = None
    streamed: bool = False


def _markdown(doc: dict[str, Any], records: Sequence[Record]) -> str:
    from eifbench.report.rendering.markdown import markdown_report

    return markdown_report(doc, records)


def _html(doc: dict[str, Any], records: Sequence[Record]) -> str:
    from eifbench.report.rendering.html import html_report

    return html_report(doc, records)


WRITERS: tuple[Writer, ...] = (
    Writer("json", "write the versioned JSON report here"),
    Writer("markdown", "write a GitHub-flavoured markdown report here", _markdown),
    Writer("html", "write a self-contained HTML report here", _html),
    Writer("log-samples", "write every (stimulus, probe, EIF, read-out before) as JSONL here", streamed=True),
    Writer("save-baseline", "save this run as a baseline (JSON) here; exits 0 whatever the verdicts"),
)
DOCUMENT_WRITERS = tuple(w for w in WRITERS if not w.streamed)  # written from the run's document at its end
