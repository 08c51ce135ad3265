"""Root conftest: the suite's fixture plugin and the hypothesis profiles. Nothing else.

The eifbench plugin itself is registered by its pytest11 entry point.
"""

import os

from hypothesis import HealthCheck, settings

pytest_plugins = ["fixtures.plugin"]

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile("dev", max_examples=6, deadline=None, suppress_health_check=_SLOW_OK)
settings.register_profile(
    "ci", max_examples=3, deadline=None, derandomize=True, suppress_health_check=_SLOW_OK, print_blob=True
)
settings.register_profile("thorough", max_examples=60, deadline=None, suppress_health_check=_SLOW_OK)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
