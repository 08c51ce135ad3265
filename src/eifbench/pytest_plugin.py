"""The eifbench pytest plugin: ``--eif-*`` options, the ``eif`` fixture, records, reports.

Import-light on purpose: nothing here imports torch at module level, so registering the
plugin costs nothing for test runs that never touch a model.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

SESSION_KEY = pytest.StashKey[Any]()

# option name -> (ini type, help)
OPTIONS: dict[str, tuple[str, str]] = {
    "model": ("linelist", "model spec to check (repeatable; default fashion-cnn and smollm2)"),
    "model-args": ("string", "model args for every model: key=value,... (dtype, revision, device, ...)"),
    "steps": ("string", "fine-tune steps per stimulus (k); default per model"),
    "lr": ("string", "learning rate, or a comma list for a recipe sweep (1e-4,1e-3,1e-2)"),
    "optimizer": ("string", "sgd or adam; default per model"),
    "engine": ("string", "engine of the finetune condition: exact (default) or first-order"),
    "limit": ("string", "at most N stimuli per desideratum (smoke runs)"),
    "threshold": ("linelist", "override a threshold: NAME=VALUE (repeatable)"),
    "tolerance": ("linelist", "override a baseline tolerance: DESIDERATUM=VALUE (repeatable)"),
    "seed": ("string", "seed of the stimulus sampler (default 0)"),
    "stimuli": ("string", "your own facts: a json/csv/parquet file (schema in the README)"),
    "json": ("string", "write the versioned JSON report here"),
    "markdown": ("string", "write a GitHub-flavoured markdown report here"),
    "html": ("string", "write a self-contained HTML report here"),
    "save-baseline": ("string", "save this run as a baseline (JSON) here"),
    "compare": ("string", "compare against this baseline: known violations xfail, regressions fail"),
    "catalog": ("string", "folder of model TOML files (default <rootdir>/models)"),
    "paranoid": ("bool", "check a weight checksum after every stimulus"),
    "falsify": ("bool", "also run the falsification (@given) tests"),
    "ray": ("string", "spread stimuli over Ray actors: an address, or 'local'"),
}


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--eif-*`` options, each mirrored by an ``eif_*`` ini key."""
    group = parser.getgroup("eifbench", "empirical-influence desiderata")
    for name, (kind, text) in OPTIONS.items():
        dest = "eif_" + name.replace("-", "_")
        if kind == "bool":
            group.addoption(f"--eif-{name}", action="store_true", default=None, dest=dest, help=text)
        elif kind == "linelist":
            group.addoption(f"--eif-{name}", action="append", default=None, dest=dest, help=text)
        else:
            group.addoption(f"--eif-{name}", default=None, dest=dest, help=text)
        parser.addini(dest, text, type=kind if kind != "string" else "string")


def _value(config: pytest.Config, name: str) -> Any:
    dest = "eif_" + name.replace("-", "_")
    given = config.getoption(dest)
    if given is not None:
        return given
    ini = config.getini(dest)
    return ini if ini not in ("", [], None) else None


def pytest_configure(config: pytest.Config) -> None:
    """Markers, and the run options parsed into a session (lazily loads torch-free modules)."""
    for marker in (
        "slow: needs a real pretrained model or minutes of CPU",
        "gpu: needs CUDA",
        "lm: runs a causal language model",
        "cnn: runs an image classifier",
        "desideratum(name): the desideratum a test checks",
        "falsify: a falsification (@given) test; runs with --eif-falsify",
    ):
        config.addinivalue_line("markers", marker)
    from eifbench.errors import EifError
    from eifbench.report.collector import Reporter

    try:
        session = _validated_session(config)
    except EifError as error:  # a user's mistake: one line, no traceback
        raise pytest.UsageError(str(error)) from None
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(Reporter(config, lambda name: _value(config, name)), "eifbench-reporter")


def _validated_session(config: pytest.Config) -> Any:
    """Parse every option and check specs, stimuli file and baseline before collection."""
    from eifbench.plugin_options import parse_options
    from eifbench.session import EifSession

    options = parse_options(lambda name: _value(config, name), Path(str(config.rootpath)))
    session = EifSession(options)
    cases = session.cases()  # resolves every --eif-model spec
    if options.stimuli_path:
        from eifbench.stimuli_file import read_stimuli_file

        read_stimuli_file(options.stimuli_path)
    compare_path = _value(config, "compare")
    if compare_path:
        from eifbench.report.baseline import index, load_report

        session.baseline = index(load_report(compare_path))
        session.check_baseline_recipes(cases)
    return session


@pytest.fixture(scope="session")
def eif(request: pytest.FixtureRequest) -> Any:
    """The EifSession: models, cached influence, thresholds and ``judge``."""
    return request.config.stash[SESSION_KEY]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize tests that take ``eif_case`` over models x conditions (x lrs)."""
    if "eif_case" not in metafunc.fixturenames:
        return
    cases = metafunc.config.stash[SESSION_KEY].cases()  # validated in pytest_configure
    params = [pytest.param(c, id=c.id, marks=[pytest.mark.xdist_group(c.spec)]) for c in cases]
    metafunc.parametrize("eif_case", params)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Falsification tests only run with ``--eif-falsify``."""
    if _value(config, "falsify"):
        return
    keep = [i for i in items if i.get_closest_marker("falsify") is None]
    dropped = [i for i in items if i.get_closest_marker("falsify") is not None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """Tell the session which test is running, so ``judge`` can attach its record."""
    session = item.config.stash.get(SESSION_KEY, None)
    if session is not None:
        session.current_item, session.current_start = item, time.perf_counter()
    try:
        return (yield)
    finally:
        if session is not None:
            session.current_item = None


def pytest_unconfigure(config: pytest.Config) -> None:
    """Drop the reporter."""
    reporter = config.pluginmanager.get_plugin("eifbench-reporter")
    if reporter is not None:
        config.pluginmanager.unregister(reporter)
