"""The eifbench pytest plugin: ``--eif-*`` options, the ``eif`` fixture, records, reports.

A guest in every project where eifbench is installed, so it stays inert unless asked for
(as hypothesis's plugin does): nothing is read, built or imported beyond this module
unless an ``--eif-*`` option or ``eif_*`` ini key is set, or a test requests an eif
fixture (``eif``, ``eif_case``).

PYTEST_DONT_REWRITE: pytest registers this package's plugin by entry point after the package
was imported (``eifbench run``); a plugin needs no assertion rewriting, so pytest need not warn.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any, Literal

import pytest

from eifbench.plugin.options import BY_NAME, OPTIONS

SESSION_KEY = pytest.StashKey[Any]()
RECEIVED_SIGTERM = False
INI_TYPES: dict[str, Literal["string", "linelist", "bool"]] = {
    "string": "string",
    "linelist": "linelist",
    "bool": "bool",
}
MARKERS = (
    "slow: needs a real pretrained model or minutes of CPU",
    "gpu: needs CUDA",
    "lm: runs a causal language model",
    "cnn: runs an image classifier",
    "desideratum(name): the desideratum a test checks",
    "falsify: a falsification (@given) test; runs with --eif-falsify",
    "eif_measures: a test that must produce one eifbench record (set on every eif_case parameter)",
    "finetune: an eifbench case under the finetune condition (select with -m finetune)",
    "in_context: an eifbench case under the in-context condition (select with -m in_context)",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--eif-*`` options, each mirrored by an ``eif_*`` ini key."""
    group = parser.getgroup("eifbench", "empirical-influence desiderata")
    for option in OPTIONS:
        if option.kind == "bool":
            group.addoption(
                f"--eif-{option.name}", action="store_true", default=None, dest=option.dest, help=option.help
            )
        elif option.kind == "linelist":
            group.addoption(f"--eif-{option.name}", action="append", default=None, dest=option.dest, help=option.help)
        else:
            group.addoption(f"--eif-{option.name}", default=None, dest=option.dest, help=option.help)
        parser.addini(option.dest, option.help, type=INI_TYPES[option.kind])


def option_value(config: pytest.Config, name: str) -> Any:
    """An option from the command line, else its ini key, else None."""
    dest = BY_NAME[name].dest
    given = config.getoption(dest)
    if given is not None:
        return given
    ini = config.getini(dest)
    return ini if ini not in ("", [], None, False) else None  # an unset bool ini key reads False


def asked_for(config: pytest.Config) -> bool:
    """Whether any ``--eif-*`` option or ``eif_*`` ini key is set."""
    return any(option_value(config, option.name) is not None for option in OPTIONS)


def pytest_configure(config: pytest.Config) -> None:
    """Markers always; the session only when eifbench was asked for (validated up front)."""
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    if asked_for(config):
        start_session(config)


def start_session(config: pytest.Config) -> Any:
    """Build and validate the session, register the reporter; a user's mistake is a usage error."""
    if SESSION_KEY in config.stash:
        return config.stash[SESSION_KEY]
    from eifbench.errors import EifError
    from eifbench.plugin.collector import Reporter

    try:
        session = _validated_session(config)
    except EifError as error:  # one line, no traceback
        raise pytest.UsageError(str(error)) from None
    config.stash[SESSION_KEY] = session
    reporter = Reporter(config, session)
    config.pluginmanager.register(reporter, "eifbench-reporter")
    if not hasattr(config, "workerinput"):
        _terminate_as_interrupt(reporter)
        _note_interrupt(reporter)
        capture = config.pluginmanager.getplugin("capturemanager")
        if capture is not None:  # progress lines are written past the capture of the running test
            session.uncaptured = capture.global_and_fixture_disabled
        samples = session.options.reports.get("log-samples")
        if samples:
            Path(samples).parent.mkdir(parents=True, exist_ok=True)
            Path(samples).write_text("")
    return session


def _terminate_as_interrupt(reporter: Any) -> None:
    """SIGTERM (CI cancellation, ``timeout``) ends the run like Ctrl-C: partial reports are written."""

    def on_term(signum: int, frame: Any) -> None:
        global RECEIVED_SIGTERM
        RECEIVED_SIGTERM = True  # `eifbench run` reads it when the interrupt lands before the session exists
        reporter.terminated = True
        raise KeyboardInterrupt

    try:
        signal.signal(signal.SIGTERM, on_term)
    except ValueError:  # not the main thread (embedded pytest): leave the signal alone
        pass


def _note_interrupt(reporter: Any) -> None:
    """Ctrl-C marks the run interrupted before pytest renders it (the rendering itself can fail)."""

    def on_int(signum: int, frame: Any) -> None:
        reporter.interrupted = True
        raise KeyboardInterrupt

    try:
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # leave a host's own handler alone
            signal.signal(signal.SIGINT, on_int)
    except ValueError:  # not the main thread (embedded pytest)
        pass


def _validated_session(config: pytest.Config) -> Any:
    """Parse every option; check specs, report paths, stimuli file and baseline before collection."""
    from eifbench.plugin.parse import parse_options
    from eifbench.plugin.session import EifSession
    from eifbench.report.rendering.writers import check_report_paths

    options = parse_options(lambda name: option_value(config, name), Path(str(config.rootpath)))
    if not hasattr(config, "workerinput"):
        check_report_paths(options.reports)
    session = EifSession(options)
    if options.stimuli_path:
        from eifbench.kinds import ModelKind
        from eifbench.tasks.stimuli_file import check_stimuli_kind, read_stimuli_file
        from eifbench.zoo.architectures import declared_labels

        read_stimuli_file(options.stimuli_path)
        for spec, kind in session.kinds.items():  # a file of the wrong kind would make every desideratum n/a
            wanted = kind == ModelKind.TEXT_CLASSIFIER and spec.target is not None  # a label set to check against
            labels = declared_labels(spec.target, spec.args.subfolder) if wanted and spec.target else None
            check_stimuli_kind(options.stimuli_path, kind, labels)
    session.load_baseline()
    return session


@pytest.fixture(scope="session")
def eif(request: pytest.FixtureRequest) -> Any:
    """The EifSession: models, cached influence, thresholds and ``check``/``judge``."""
    return start_session(request.config)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize tests that take ``eif_case`` over models x conditions (x lrs)."""
    if "eif_case" not in metafunc.fixturenames:
        return
    session = start_session(metafunc.config)
    from eifbench.report.results.records import MEASURES_MARK

    # a test that must record one verdict per case; a falsification (@given) test records none
    marks = [] if metafunc.definition.get_closest_marker("falsify") else [getattr(pytest.mark, MEASURES_MARK)]
    grouped = metafunc.config.pluginmanager.hasplugin("xdist")
    # the condition as a marker: -m finetune selects by condition, where -k would also match a model's name
    conditions = {"finetune": pytest.mark.finetune, "in-context": pytest.mark.in_context}
    params = [
        pytest.param(
            c,
            id=c.id,
            marks=[*marks, conditions[c.condition], *([pytest.mark.xdist_group(c.model)] if grouped else [])],
        )
        for c in session.cases
    ]
    metafunc.parametrize("eif_case", params)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Falsification tests only run with ``--eif-falsify`` (in eifbench runs only)."""
    if SESSION_KEY not in config.stash or option_value(config, "falsify"):
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
    """Drop the reporter and close Ray pools."""
    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        session.close()
    reporter = config.pluginmanager.get_plugin("eifbench-reporter")
    if reporter is not None:
        config.pluginmanager.unregister(reporter)
