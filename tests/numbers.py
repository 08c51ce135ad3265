"""What a refactor must not change, gathered in one place: stimuli, measured numbers, rendered reports.

``tests/test_no_number_changes.py`` compares these against ``tests/golden/``. Regenerate
them (``python -m tests.numbers``) only for a change that is meant to move a number, and
say which in the commit.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
BASELINE = ROOT / "reports" / "baselines" / "default.json"
CNN_MODELS = ("fashion-cnn", "mnist-cnn")

# (kind, stimulus format, dataset, input shape): every default task the library draws
TASK_SPECS: tuple[tuple[str, str, str | None, tuple[int, ...] | None], ...] = (
    ("causal-lm", "statement", None, None),
    ("causal-lm", "completion", None, None),
    ("seq2seq-lm", "statement", None, None),
    ("classifier", "statement", "fashion-mnist", (1, 28, 28)),
    ("classifier", "statement", "mnist", (1, 28, 28)),
    ("text-classifier", "statement", None, None),
)


def stimulus_digests(items: int = 36) -> dict[str, str]:
    """``kind/format/dataset/desideratum`` -> the digest of the exact stimuli of its default task."""
    from eifbench.desiderata import DESIDERATA
    from eifbench.influence.digest import task_digest
    from eifbench.tasks.base import TaskSpec

    digests = {}
    for kind, stimulus_format, dataset, shape in TASK_SPECS:
        spec = TaskSpec(kind, items, 0, stimulus_format, dataset, shape)
        for name, desideratum in DESIDERATA.items():
            if desideratum.not_applicable(kind, "finetune") is None:
                digests[f"{kind}/{stimulus_format}/{dataset}/{name}"] = task_digest(desideratum.build(spec))
    return digests


def cell_numbers(records: Iterable[Mapping[str, Any]], models: Iterable[str] | None = None) -> dict[str, Any]:
    """``model/desideratum/condition`` -> everything a verdict rests on (value, interval, items, status)."""
    keep = set(models) if models is not None else None
    cells = {}
    for r in records:
        if keep is not None and r["model"] not in keep:
            continue
        cells[f"{r['model']}/{r['desideratum']}/{r['condition']}"] = {
            "status": r["status"],
            "value": r.get("value"),
            "ci": r.get("ci"),
            "n": r.get("n"),
            "per_item": r.get("per_item"),
            "reason": r.get("reason"),
            "details": r.get("details"),
        }
    return cells


def rendered_reports(path: Path = BASELINE) -> dict[str, str]:
    """The terminal table, markdown and HTML of a stored report, as a user sees them."""
    from eifbench.report.rendering.html import html_report
    from eifbench.report.rendering.markdown import markdown_report
    from eifbench.report.rendering.tables import summary_table
    from eifbench.report.results.loading import load_report

    doc, records = load_report(path)
    return {
        "default.txt": summary_table(records) + "\n",
        "default.md": markdown_report(doc, records),
        "default.html": html_report(doc, records),
    }


def differences(want: Any, got: Any, where: str = "", rel: float = 1e-9, absolute: float = 1e-12) -> list[str]:
    """Every place two JSON-like values differ (floats within ``rel`` or ``absolute``; NaN equals NaN)."""
    if isinstance(want, dict) and isinstance(got, dict):
        out = [f"{where}/{k}: missing now" for k in want.keys() - got.keys()]
        out += [f"{where}/{k}: new" for k in got.keys() - want.keys()]
        for k in sorted(want.keys() & got.keys()):
            out += differences(want[k], got[k], f"{where}/{k}", rel, absolute)
        return out
    if isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            return [f"{where}: {len(want)} entries before, {len(got)} now"]
        pairs = enumerate(zip(want, got))
        return [d for k, (a, b) in pairs for d in differences(a, b, f"{where}[{k}]", rel, absolute)]
    if isinstance(want, float) and isinstance(got, (int, float)) and not isinstance(got, bool):
        if math.isnan(want) and math.isnan(got):
            return []
        close = math.isclose(want, got, rel_tol=rel, abs_tol=absolute)
        return [] if close else [f"{where}: {want!r} before, {got!r} now"]
    return [] if want == got else [f"{where}: {want!r} before, {got!r} now"]


def golden_name(name: str) -> str:
    """The HTML page embeds its figures (megabytes): its golden file is a digest."""
    return name + ".blake2b" if name.endswith(".html") else name


def golden_text(name: str, text: str) -> str:
    """What the golden file of a rendered report holds: the text, or the page's digest."""
    if not name.endswith(".html"):
        return text
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest() + "\n"


def regenerate() -> None:
    """Write the golden files from this checkout (the reference and CNN numbers come from their tests)."""
    GOLDEN.mkdir(exist_ok=True)
    (GOLDEN / "stimuli.json").write_text(json.dumps(stimulus_digests(), indent=1, sort_keys=True) + "\n")
    for name, text in rendered_reports().items():
        (GOLDEN / golden_name(name)).write_text(golden_text(name, text))


if __name__ == "__main__":
    regenerate()
