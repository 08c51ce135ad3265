"""``Evaluation``: what ``eifbench.evaluate`` returns, and every way the suite reports it.

The same renderers as a suite run's (table, terminal explanations, markdown, HTML) read
a document built as ``report.results.records.document`` builds one; a saved baseline is a
complete report that ``--eif-compare``, ``eifbench compare`` and ``EifCallback`` accept;
``compare`` gates it as the training callback does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eifbench.influence import InfluenceResult
    from eifbench.report.results.records import Comparison, Record

# how metrics() logs a verdict; inconclusive (and anything else with a value) is 0.5
PASS_ENCODING: dict[str, float] = {"pass": 1.0, "fail": 0.0, "inconclusive": 0.5}


def _metric_key(prefix: str, record: Record) -> str:
    return f"{prefix}/{record.desideratum.replace(' ', '_')}/{record.condition}"


@dataclass(frozen=True)
class Evaluation:
    """What ``evaluate`` found: one record per desideratum x condition, and the influence behind it.

    Attributes:
        records: typed records (the same fields as a JSON report's results).
        results: (desideratum, condition) -> {run name: InfluenceResult}.
        seconds: wall time.

    """

    records: tuple[Record, ...]
    results: Mapping[tuple[str, str], Mapping[str, InfluenceResult]] = field(default_factory=dict)
    seconds: float = 0.0

    def table(self, tablefmt: str = "simple_grid") -> str:
        """The verdict table, as the terminal report prints it."""
        from eifbench.report.rendering.tables import summary_table

        return summary_table(self.records, tablefmt=tablefmt)

    def metrics(self, prefix: str = "eif") -> dict[str, float]:
        """Flat scalars for a training log: ``eif/<desideratum>/<condition>`` and its ``/pass``.

        ``<prefix>/<desideratum>/<condition>`` is the record's value (its metric); ``.../pass``
        encodes the verdict as 1.0 pass, 0.0 fail, 0.5 inconclusive (the interval straddles
        the threshold). A cell without a value (n/a, or nothing measured: the record's
        ``reason`` says why; see ``unmeasured``) is left out rather than logged as NaN.
        """
        out: dict[str, float] = {}
        for r in self.records:
            if r.value is None or not math.isfinite(r.value):
                continue
            key = _metric_key(prefix, r)
            out[key] = float(r.value)
            out[f"{key}/pass"] = PASS_ENCODING.get(r.status.value, 0.5)
        return out

    def unmeasured(self, prefix: str = "eif") -> dict[str, str]:
        """The cells ``metrics`` leaves out, as metric key -> why (n/a, or the record's reason)."""
        out: dict[str, str] = {}
        for r in self.records:
            if r.value is None or not math.isfinite(r.value):
                why = r.reason or "no value"
                out[_metric_key(prefix, r)] = f"n/a: {why}" if r.status.value == "n/a" else why
        return out

    def document(self) -> dict[str, Any]:
        """The JSON document of these records, as a complete suite run writes it (``--eif-json``)."""
        from eifbench.report.results.records import document

        extra = {"seconds": round(self.seconds, 1), "missing": []}
        return document(list(self.records), complete=True, folder=Path.cwd(), extra=extra)

    def explain(self) -> str:
        """The verdict line, then every measured verdict explained with its worst items (the terminal's ``-v``)."""
        from eifbench.report.explanation.explain_text import terminal_explanations
        from eifbench.report.rendering.verdict_line import verdict_line

        lines = [verdict_line({"complete": True}, self.records)]
        lines += terminal_explanations(self.records, verbose=True)
        return "\n".join(lines)

    def to_markdown(self) -> str:
        """The suite's markdown report (for ``$GITHUB_STEP_SUMMARY``, a PR comment)."""
        from eifbench.report.rendering.markdown import markdown_report
        from eifbench.report.rendering.writers import visible_controls

        return visible_controls(markdown_report(self.document(), self.records))

    def to_html(self) -> str:
        """The suite's self-contained HTML report: one page that loads nothing."""
        from eifbench.report.rendering.html import html_report
        from eifbench.report.rendering.writers import visible_controls

        return visible_controls(html_report(self.document(), self.records))

    def _repr_html_(self) -> str:
        """Jupyter's view: the verdict line and the table (the full page's style would restyle the notebook)."""
        from eifbench.report.rendering.html import table_html, verdict_html
        from eifbench.report.rendering.writers import visible_controls

        return visible_controls(verdict_html({"complete": True}, self.records) + table_html(self.records))

    def save_baseline(self, path: str | Path) -> Path:
        """Write these records as a complete baseline that ``--eif-compare`` and ``eifbench compare`` accept.

        Returns:
            The path written (atomically; folders are created).

        """
        from eifbench.report.results.records import write_json

        write_json(path, self.document())
        return Path(path)

    def compare(
        self,
        baseline_path: str | Path,
        *,
        compare_as: str | None = None,
        tolerances: Mapping[str, float] | None = None,
    ) -> list[Comparison]:
        """Gate these records against a baseline exactly as ``--eif-compare`` and ``EifCallback`` do.

        Args:
            baseline_path: a complete report or baseline (``eifbench run --save-baseline``,
                ``save_baseline``).
            compare_as: the baseline model (report column) compared with; default: the
                baseline's only model, or the same name.
            tolerances: desideratum -> how far a value may move the bad way (defaults per desideratum).

        Returns:
            One Comparison per measured record (``kind``: ``regression``, ``known-violation``,
            ``improvement``, ``ok`` or ``new``), then a ``regression`` for each cell the baseline
            measured and these records lack.

        Raises:
            BaselineError: a missing, invalid or incomplete baseline, or one of another model
                kind, recipe or stimuli.

        """
        from eifbench.report.results.baseline import Baseline

        baseline = Baseline.load(baseline_path)
        columns = baseline.columns
        run = {r.column: r.kind for r in self.records}
        if compare_as is None and len(columns) == 1 and not set(run) <= set(columns):
            compare_as = columns[0]  # a baseline of one model gates whatever this model is called
        mapping = baseline.prepare(run, {(r.column, r.condition): r.recipe for r in self.records}, compare_as)
        return [cell.comparison for cell in baseline.gate(mapping, self.records, dict(tolerances or {}))]
