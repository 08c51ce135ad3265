"""Write the files a run asked for: JSON, baseline, markdown, HTML."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from eifbench.report.records import document, write_atomic, write_json


def write_reports(
    option: Callable[[str], Any], records: list[dict[str, Any]], *, complete: bool, folder: Path, seconds: float
) -> list[Path]:
    """Write every requested report; returns the paths written."""
    written: list[Path] = []
    if not any(option(name) for name in ("json", "save-baseline", "markdown", "html")):
        return written
    doc = document(records, complete=complete, folder=folder, extra={"seconds": round(seconds, 1)})
    for name in ("json", "save-baseline"):
        if option(name):
            write_json(option(name), doc)
            written.append(Path(option(name)))
    if option("markdown"):
        from eifbench.report.markdown import markdown_report

        write_atomic(option("markdown"), markdown_report(doc))
        written.append(Path(option("markdown")))
    if option("html"):
        from eifbench.report.html import html_report

        write_atomic(option("html"), html_report(doc))
        written.append(Path(option("html")))
    return written
