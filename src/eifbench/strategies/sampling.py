"""Estimation mode: draw a seeded batch from a hypothesis strategy, once.

Falsification tests use ``@given`` and let hypothesis shrink; estimation needs a fixed
batch to run the engine on once. Both go through the same strategies.
"""

from __future__ import annotations

from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from eifbench.errors import InputError

T = TypeVar("T")


def draw_batch(strategy: st.SearchStrategy[T], count: int, *, seed_value: int = 0, key: Any = repr) -> list[T]:
    """``count`` distinct examples of ``strategy``, the same for the same seed.

    Args:
        strategy: any hypothesis strategy.
        count: how many examples.
        seed_value: the seed; another seed gives another batch.
        key: maps an example to a hashable identity for de-duplication.

    Raises:
        InputError: when the strategy cannot produce ``count`` distinct examples.

    """
    drawn: list[T] = []
    seen: set[Any] = set()

    @seed(seed_value)
    @settings(
        database=None,
        max_examples=max(20 * count, 100),
        phases=[Phase.generate],
        deadline=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(strategy)
    def collect(example: T) -> None:
        identity = key(example)
        if len(drawn) < count and identity not in seen:
            seen.add(identity)
            drawn.append(example)

    collect()
    if len(drawn) < count:
        raise InputError(f"The strategy gave only {len(drawn)} distinct examples of the {count} asked for.")
    return drawn
