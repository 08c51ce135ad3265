"""The sub-commands. Each is one small class: ``register`` its options, ``run`` it."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # the CLI imports eifbench lazily, so `eifbench --help` stays fast
    from eifbench.stimuli import Example, Text


class Command(Protocol):
    """A sub-command of ``eifbench``."""

    @property
    def help(self) -> str:  # a read-only property: the commands are frozen dataclasses
        """One line for ``eifbench --help``."""
        ...

    def register(self, parser: argparse.ArgumentParser) -> None:
        """Add the command's options."""
        ...

    def run(self, args: argparse.Namespace) -> int:
        """Run it; return the exit code."""
        ...


def _probe(text: str) -> Example:
    from eifbench.errors import InputError
    from eifbench.stimuli import Example

    if "|" not in text:
        raise InputError(f"--probe {text!r} needs the form 'PROMPT|COMPLETION', e.g. 'A wug is a| blicket'.")
    prompt, completion = text.split("|", 1)
    return Example(prompt, completion)


def _stimulus(text: str) -> Text | Example:
    from eifbench.stimuli import Text

    return _probe(text) if "|" in text else Text(text)


@dataclass(frozen=True)
class InfluenceCommand:
    """``eifbench influence``: one influence matrix, printed as a table."""

    help: str = "compute an influence matrix for text stimuli and probes on one model"

    def register(self, parser: argparse.ArgumentParser) -> None:
        """Add the command's options."""
        parser.add_argument("--model", required=True, help="model spec, e.g. smollm2 or hf:./my-model")
        parser.add_argument("--model-args", default=None, help="key=value,... (dtype, revision, device, ...)")
        parser.add_argument(
            "--stimulus",
            action="append",
            required=True,
            help="text to fine-tune on (all tokens), or 'PROMPT|COMPLETION' ('TEXT|LABEL' for a text classifier); "
            "repeatable",
        )
        parser.add_argument(
            "--probe",
            action="append",
            required=True,
            help="'PROMPT|COMPLETION' ('TEXT|LABEL' for a text classifier); repeatable",
        )
        parser.add_argument("--engine", default="exact", choices=["exact", "first-order", "in-context"])
        parser.add_argument("--steps", type=int, default=1, help="fine-tune steps per stimulus (k)")
        parser.add_argument("--lr", type=float, default=1e-3, help="learning rate")
        parser.add_argument("--optimizer", default="sgd", choices=["sgd", "adam"])

    def run(self, args: argparse.Namespace) -> int:
        """Load the model, compute the matrix, print it (transformers' warnings stay on)."""
        import eifbench
        from eifbench.report.tables import influence_table
        from eifbench.zoo import spec_kind
        from eifbench.zoo.specs import parse_spec

        if spec_kind(parse_spec(args.model, args.model_args)) == "classifier":  # refused before loading
            from eifbench.errors import InputError

            raise InputError(
                f"`eifbench influence` takes text; {args.model} is an image classifier. Use the Python "
                "API (eifbench.influence) or `eifbench run` for image classifiers."
            )
        model = eifbench.load_model(args.model, args.model_args)
        recipe = eifbench.FineTune(steps=args.steps, lr=args.lr, optimizer=args.optimizer)
        stimuli = [_stimulus(s) for s in args.stimulus]
        probes = [_probe(p) for p in args.probe]
        from eifbench.progress import terminal_progress

        result = eifbench.influence(
            model, stimuli, probes, engine=args.engine, finetune=recipe, progress=terminal_progress(args.model)
        )
        print(influence_table(result, args.stimulus, [p.replace("|", " ⟶ ") for p in args.probe]))
        print(
            f"\n{args.model} · engine={args.engine} · {recipe.label()} · {result.seconds:.1f}s "
            f"({result.seconds / len(stimuli):.2f}s per stimulus)"
        )
        return 0


@dataclass(frozen=True)
class ModelsCommand:
    """``eifbench models``: the built-in specs, and the kinds of checkpoint ``hf:`` / ``hf-image:`` load."""

    help: str = "list the built-in model specs and the supported model kinds"

    def register(self, parser: argparse.ArgumentParser) -> None:
        """No options."""

    def run(self, args: argparse.Namespace) -> int:
        """Print one row per spec, then one row per supported kind with an example spec."""
        from tabulate import tabulate

        from eifbench.zoo import KIND_EXAMPLES, MODEL_SPECS

        rows = [
            (name + (":<id or path>" if entry.takes_target else ""), entry.kind, entry.description)
            for name, entry in MODEL_SPECS.items()
        ]
        print(tabulate(rows, headers=["spec", "kind", "what"], tablefmt="github"))
        kinds = [(k.kind, k.example, k.loads) for k in KIND_EXAMPLES]
        print("\nSupported kinds (the checkpoint's config.json decides; anything else is refused before loading):\n")
        print(tabulate(kinds, headers=["kind", "example spec", "loaded with"], tablefmt="github"))
        sys.stdout.flush()
        return 0


def _commands() -> dict[str, Command]:
    from eifbench.cli.suite import CompareCommand, RunCommand

    return {
        "run": RunCommand(),
        "compare": CompareCommand(),
        "influence": InfluenceCommand(),
        "models": ModelsCommand(),
    }


COMMANDS: dict[str, Command] = _commands()
