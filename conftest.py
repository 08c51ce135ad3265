"""Root conftest: the suite's fixture plugin and the hypothesis profiles. Nothing else.

The eifbench plugin itself is registered by its pytest11 entry point. Profiles keep no
example database (``database=None``), and hypothesis's other files (the constants it
collects from the code under test) go under the eifbench cache, not ``.hypothesis/`` in the
working directory: ``eifbench run`` is started in the user's project, and leaves nothing
there but the reports asked for. ``HYPOTHESIS_STORAGE_DIRECTORY`` still wins when set.
"""

import os

from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir

from eifbench.zoo.cache import cache_root

pytest_plugins = ["fixtures.plugin"]

if not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
    set_hypothesis_home_dir(cache_root() / "hypothesis")

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]
settings.register_profile("dev", max_examples=6, deadline=None, database=None, suppress_health_check=_SLOW_OK)
settings.register_profile(
    "ci",
    max_examples=3,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=_SLOW_OK,
    print_blob=True,
)
settings.register_profile("thorough", max_examples=60, deadline=None, database=None, suppress_health_check=_SLOW_OK)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
