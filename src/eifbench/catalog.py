"""The model catalogue (``models/*.toml``) and the per-kind default recipes.

Why these defaults:
- classifiers: one plain-SGD step at lr 1e-2. This is the reference study's regime for
  small CNNs (brief fine-tuning); self-influence is a few tenths of a nat, well above the
  float32 noise floor.
- language models: one plain-SGD step at lr 1e-4. On SmolLM2-135M this raises the trained
  completion's log-prob by about a nat: the model has clearly learned something, yet the
  step is small enough to stay out of the regime where one step rewrites everything.
- 36 items per desideratum: with the interval method of ``eifbench.stats`` this is the
  smallest n at which a true value half a standard deviation on the good side of the
  threshold is called PASS at least 80% of the time (``tests/test_intervals.py``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from eifbench.errors import ModelSpecError
from eifbench.finetune import FineTune
from eifbench.kinds import ModelKind
from eifbench.zoo.specs import ModelSpec

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KIND_RECIPES: dict[ModelKind, FineTune] = {
    ModelKind.CLASSIFIER: FineTune(steps=1, lr=1e-2, optimizer="sgd"),
    ModelKind.TEXT_CLASSIFIER: FineTune(steps=1, lr=1e-4, optimizer="sgd"),
    ModelKind.CAUSAL_LM: FineTune(steps=1, lr=1e-4, optimizer="sgd"),
    ModelKind.SEQ2SEQ_LM: FineTune(steps=1, lr=1e-4, optimizer="sgd"),
}
DEFAULT_ITEMS = 36


@dataclass(frozen=True)
class CatalogEntry:
    """One ``models/<name>.toml``: a spec, its default recipe, items per desideratum, tags."""

    spec: str
    recipe: FineTune
    items: int = DEFAULT_ITEMS
    dataset: str | None = None
    tags: tuple[str, ...] = ()


def read_entry(path: Path) -> CatalogEntry:
    """Parse one catalogue file."""
    try:
        data = tomllib.loads(path.read_text())
        return CatalogEntry(
            spec=str(data["spec"]),
            recipe=FineTune(**data.get("recipe", {})),
            items=int(data.get("items", DEFAULT_ITEMS)),
            dataset=data.get("dataset"),
            tags=tuple(data.get("tags", ())),
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as error:
        raise ModelSpecError(
            f"Catalogue file {path} is invalid ({type(error).__name__}: {error}); it needs spec = '...' and may "
            "have items, dataset, tags and a [recipe] table (steps, lr, optimizer)."
        ) from error


def load_catalog(folder: Path | None) -> dict[str, CatalogEntry]:
    """Every ``*.toml`` in ``folder``, keyed by spec; empty when the folder is missing."""
    if folder is None or not folder.is_dir():
        return {}
    entries = [read_entry(p) for p in sorted(folder.glob("*.toml"))]
    return {e.spec: e for e in entries}


def entry_for(spec: ModelSpec, kind: ModelKind, catalog: dict[str, CatalogEntry]) -> CatalogEntry:
    """The catalogue entry of a spec, or one built from the kind's defaults."""
    if spec.text in catalog:
        return catalog[spec.text]
    return CatalogEntry(spec=spec.text, recipe=KIND_RECIPES[kind])
