"""Model adapters: one protocol, one class per model kind."""

from eifbench.adapters.base import ModelAdapter, PreparedProbes
from eifbench.adapters.causal_lm import CausalLMAdapter
from eifbench.adapters.classifier import ClassifierAdapter

__all__ = ["ModelAdapter", "PreparedProbes", "ClassifierAdapter", "CausalLMAdapter"]
