"""The model catalogue (``models/*.toml``) and the per-kind default recipes.

Why these defaults:
- classifiers: one plain-SGD step at lr 1e-2. This is the reference study's regime for
  small CNNs (brief fine-tuning); self-influence is a few tenths of a nat, well above the
  float32 noise floor, and first-order theory (NTK) predicts near-symmetric influence.
- causal LMs: one plain-SGD step at lr 1e-4. On SmolLM2-135M this raises the trained
  completion's log-prob by about a nat: the model has clearly learned something, yet the
  step is small enough to stay out of the regime where one step rewrites everything.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from eifbench.errors import ModelSpecError
from eifbench.finetune import FineTune

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KIND_RECIPES: dict[str, FineTune] = {
    "classifier": FineTune(steps=1, lr=1e-2, optimizer="sgd"),
    "causal-lm": FineTune(steps=1, lr=1e-4, optimizer="sgd"),
}
KIND_SIZES: dict[str, int] = {"classifier": 32, "causal-lm": 12}


@dataclass(frozen=True)
class CatalogEntry:
    """One ``models/<name>.toml``: a spec, its default recipe, stimuli per desideratum, tags."""

    spec: str
    recipe: FineTune
    stimuli: int
    dataset: str | None = None
    tags: tuple[str, ...] = ()


def read_entry(path: Path) -> CatalogEntry:
    """Parse one catalogue file."""
    try:
        data = tomllib.loads(path.read_text())
        recipe = FineTune(**data.get("recipe", {}))
        return CatalogEntry(
            spec=data["spec"],
            recipe=recipe,
            stimuli=int(data.get("stimuli", 0)),
            dataset=data.get("dataset"),
            tags=tuple(data.get("tags", ())),
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as error:
        raise ModelSpecError(f"Catalogue file {path} is invalid ({error}); see models/README in the docs.") from error


def load_catalog(folder: Path | None) -> dict[str, CatalogEntry]:
    """Every ``*.toml`` in ``folder``, keyed by spec; empty when the folder is missing."""
    if folder is None or not folder.is_dir():
        return {}
    entries = [read_entry(p) for p in sorted(folder.glob("*.toml"))]
    return {e.spec: e for e in entries}


def entry_for(spec: str, kind: str, catalog: dict[str, CatalogEntry]) -> CatalogEntry:
    """The catalogue entry of a spec, or one built from the kind's defaults."""
    base = spec.split(",", 1)[0]
    if base in catalog:
        entry = catalog[base]
        return entry if entry.stimuli else CatalogEntry(**{**entry.__dict__, "stimuli": KIND_SIZES[kind]})
    return CatalogEntry(spec=base, recipe=KIND_RECIPES[kind], stimuli=KIND_SIZES[kind])
