"""Model adapters: one protocol, one class per model kind."""

from eifbench.adapters.base import LanguageModelAdapter, ModelAdapter, PreparedProbes
from eifbench.adapters.causal_lm import CausalLMAdapter
from eifbench.adapters.chat import ChatFormat
from eifbench.adapters.classifier import ClassifierAdapter
from eifbench.adapters.seq2seq import Seq2SeqLMAdapter
from eifbench.adapters.text_classifier import TextClassifierAdapter

__all__ = [
    "ModelAdapter",
    "LanguageModelAdapter",
    "PreparedProbes",
    "ClassifierAdapter",
    "CausalLMAdapter",
    "ChatFormat",
    "Seq2SeqLMAdapter",
    "TextClassifierAdapter",
]
