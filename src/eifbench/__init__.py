"""eifbench: empirical-influence desiderata for fine-tuned models, as pytest tests.

The package namespace is lazy: ``import eifbench`` costs nothing until a name is used,
so the pytest plugin can live in this package without importing torch at collection.

PYTEST_DONT_REWRITE: pytest registers this package's plugin by entry point after the package
was imported (``eifbench run``); a plugin needs no assertion rewriting, so pytest need not warn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "Example": "eifbench.stimuli",
    "Text": "eifbench.stimuli",
    "Chain": "eifbench.stimuli",
    "FineTune": "eifbench.finetune",
    "load_model": "eifbench.zoo",
    "influence": "eifbench.influence",
    "InfluenceResult": "eifbench.influence",
    "ModelAdapter": "eifbench.adapters",
    "ClassifierAdapter": "eifbench.adapters",
    "CausalLMAdapter": "eifbench.adapters",
    "Seq2SeqLMAdapter": "eifbench.adapters",
    "TextClassifierAdapter": "eifbench.adapters",
    "EifError": "eifbench.errors",
    "ModelSpecError": "eifbench.errors",
    "AssetMissingError": "eifbench.errors",
    "InputError": "eifbench.errors",
    "FineTuneDivergedError": "eifbench.errors",
    "BaselineError": "eifbench.errors",
    "evaluate": "eifbench.evaluation",
    "Evaluation": "eifbench.evaluation",
    "EifCallback": "eifbench.integrations.transformers",  # imports transformers only when used
}

# spelled out (not derived from _EXPORTS) so type checkers see the re-exports; tests/test_types.py checks they agree
__all__ = [
    "AssetMissingError",
    "BaselineError",
    "CausalLMAdapter",
    "Chain",
    "ClassifierAdapter",
    "EifCallback",
    "EifError",
    "Evaluation",
    "Example",
    "FineTune",
    "FineTuneDivergedError",
    "InfluenceResult",
    "InputError",
    "ModelAdapter",
    "ModelSpecError",
    "Seq2SeqLMAdapter",
    "Text",
    "TextClassifierAdapter",
    "evaluate",
    "influence",
    "load_model",
    "__version__",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from eifbench.adapters import (
        CausalLMAdapter,
        ClassifierAdapter,
        ModelAdapter,
        Seq2SeqLMAdapter,
        TextClassifierAdapter,
    )
    from eifbench.errors import (
        AssetMissingError,
        BaselineError,
        EifError,
        FineTuneDivergedError,
        InputError,
        ModelSpecError,
    )
    from eifbench.evaluation import Evaluation, evaluate
    from eifbench.finetune import FineTune
    from eifbench.influence import InfluenceResult, influence
    from eifbench.integrations.transformers import EifCallback
    from eifbench.stimuli import Chain, Example, Text
    from eifbench.zoo import load_model


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'eifbench' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
