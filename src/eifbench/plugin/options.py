"""Every ``--eif-*`` option, in one table: the pytest plugin and ``eifbench run`` both read it.

Import-light on purpose (no torch, no numpy): the plugin registers these options in every
pytest run of every project where eifbench is installed.
"""

from __future__ import annotations

from dataclasses import dataclass

from eifbench.report.rendering.outputs import WRITERS


@dataclass(frozen=True)
class Option:
    """One option: ``--eif-<name>`` for pytest, ``--<name>`` for ``eifbench run``.

    Attributes:
        name: the option name without prefix (``lr``, ``model-args``).
        kind: ``string``, ``linelist`` (repeatable) or ``bool`` (a flag).
        help: one line.
        report: True for options that name an output file (one per ``report.rendering.outputs.WRITERS`` row).

    """

    name: str
    kind: str
    help: str
    report: bool = False

    @property
    def dest(self) -> str:
        """The pytest dest / ini key: ``eif_model_args``."""
        return "eif_" + self.name.replace("-", "_")


OPTIONS: tuple[Option, ...] = (
    Option("model", "linelist", "model spec to check (repeatable; default fashion-cnn and smollm2)"),
    Option("model-args", "string", "model args for every model: key=value,... (dtype, revision, device, ...)"),
    Option("steps", "string", "fine-tune steps per stimulus (k); default per model"),
    Option("lr", "string", "learning rate, or a comma list for a recipe sweep (1e-4,1e-3,1e-2)"),
    Option("optimizer", "string", "sgd or adam; default per model"),
    Option("engine", "string", "engine of the finetune condition: exact (default) or first-order"),
    Option("limit", "string", "at most N items per desideratum (smoke runs; fewer items, wider intervals)"),
    Option("threshold", "linelist", "override a threshold: NAME=VALUE (repeatable)"),
    Option("tolerance", "linelist", "override a baseline tolerance: DESIDERATUM=VALUE (repeatable)"),
    Option("seed", "string", "seed of the stimulus bank (default 0)"),
    Option("stimuli", "string", "your own facts: a json/jsonl/csv/parquet file (schema in the README)"),
    Option("stimulus-format", "string", "LM stimuli as 'statement' (loss on every token, default) or 'completion'"),
    *(Option(writer.name, "string", writer.help, report=True) for writer in WRITERS),  # the output files
    Option("compare", "string", "gate against this baseline: known violations xfail, regressions fail"),
    Option("compare-as", "string", "the baseline model this run is compared with (base vs fine-tuned checkpoint)"),
    Option("catalog", "string", "folder of model TOML files (default <rootdir>/models)"),
    Option("paranoid", "bool", "checksum parameters and buffers before the run and after every stimulus"),
    Option("falsify", "bool", "also run the falsification (@given) tests"),
    Option("ray", "string", "spread stimuli over Ray actors: an address, or 'local'"),
    Option("cache", "string", "reuse stored influence results: on (eifbench run's default), off (pytest's) or refresh"),
)
BY_NAME = {option.name: option for option in OPTIONS}
