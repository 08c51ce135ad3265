"""The sub-commands. Each is one small class: ``register`` its options, ``run`` it."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # the CLI imports eifbench lazily, so `eifbench --help` stays fast
    from eifbench.finetune import FineTune
    from eifbench.stimuli import Example, Text
    from eifbench.zoo.specs import ModelSpec


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
        parser.add_argument(
            "--steps", type=int, default=None, help="fine-tune steps per stimulus (k; default: the model's recipe)"
        )
        parser.add_argument("--lr", type=float, default=None, help="learning rate (default: the model's recipe)")
        parser.add_argument("--optimizer", default=None, choices=["sgd", "adam"], help="default: the model's recipe")

    def run(self, args: argparse.Namespace) -> int:
        """Load the model, compute the matrix, print it with every text in full (transformers' warnings stay on)."""
        import eifbench
        from eifbench.report.rendering.tables import influence_key, influence_table
        from eifbench.stimuli import Text
        from eifbench.zoo import spec_kind
        from eifbench.zoo.specs import parse_spec

        spec = parse_spec(args.model, args.model_args)
        kind = spec_kind(spec)
        if kind == "classifier":  # refused before loading
            from eifbench.errors import InputError

            raise InputError(
                f"`eifbench influence` takes text; {args.model} is an image classifier. Use the Python "
                "API (eifbench.influence) or `eifbench run` for image classifiers."
            )
        recipe, source = default_recipe(spec, kind)
        overrides = [f"--{name}" for name in ("steps", "lr", "optimizer") if getattr(args, name) is not None]
        source += f", with {' '.join(overrides)}" if overrides else ""
        recipe = eifbench.FineTune(
            steps=args.steps if args.steps is not None else recipe.steps,
            lr=args.lr if args.lr is not None else recipe.lr,
            optimizer=args.optimizer or recipe.optimizer,
            trainable=recipe.trainable,
        )
        model = eifbench.load_model(args.model, args.model_args)
        stimuli = [_stimulus(s) for s in args.stimulus]
        probes = [_probe(p) for p in args.probe]
        from eifbench.progress import terminal_progress

        result = eifbench.influence(
            model, stimuli, probes, engine=args.engine, finetune=recipe, progress=terminal_progress(args.model)
        )
        print(influence_table(result, args.stimulus, [f"P{k}" for k in range(1, len(probes) + 1)]))
        print()
        shown = [s.text if isinstance(s, Text) else (str(s.x), str(s.y)) for s in stimuli]
        for line in influence_key(shown, [(str(p.x), str(p.y)) for p in probes]):
            print(line)
        how = "in context (no fine-tune)" if args.engine == "in-context" else f"{recipe.label()} ({source})"
        print(
            f"\n{args.model} · engine={args.engine} · {how} · {chat_line(model)} · {result.seconds:.1f}s "
            f"({result.seconds / len(stimuli):.2f}s per stimulus)"
        )
        return 0


def default_recipe(spec: ModelSpec, kind: str) -> tuple[FineTune, str]:
    """The recipe ``eifbench run`` would use for this model (its catalogue entry, else its kind's), and whence."""
    from eifbench.catalog import entry_for, load_catalog
    from eifbench.cli.suite import suite_root
    from eifbench.errors import EifError
    from eifbench.kinds import ModelKind

    try:
        catalog = load_catalog(suite_root() / "models")
    except EifError:  # an install without the suite still has the kinds' defaults
        catalog = {}
    entry = entry_for(spec, ModelKind(kind), catalog)
    source = f"the {spec.text} catalogue recipe" if spec.text in catalog else f"the {kind} default recipe"
    return entry.recipe, source


def chat_line(model: Any) -> str:
    """Whether the probes and stimuli were read through a chat template (causal LMs have ``.chat``)."""
    if not hasattr(model, "chat"):
        return "chat template: n/a"
    return "chat template: on" if model.chat is not None else "chat template: off (raw text)"


@dataclass(frozen=True)
class ModelsCommand:
    """``eifbench models``: the built-in specs, and the kinds of checkpoint ``hf:`` / ``hf-image:`` load."""

    help: str = "list the built-in model specs and the supported model kinds"

    def register(self, parser: argparse.ArgumentParser) -> None:
        """No options."""

    def run(self, args: argparse.Namespace) -> int:
        """Print one row per spec (with its catalogue tags: ``default`` runs without ``--model``), then the kinds."""
        from tabulate import tabulate

        from eifbench.catalog import load_catalog
        from eifbench.cli.suite import suite_root
        from eifbench.errors import EifError
        from eifbench.zoo import KIND_EXAMPLES, MODEL_SPECS

        try:
            catalog = load_catalog(suite_root() / "models")
        except EifError:  # an install without the suite lists the specs alone
            catalog = {}
        rows = [
            (
                name + (":<id or path>" if entry.takes_target else ""),
                entry.kind,
                ", ".join(catalog[name].tags) if name in catalog else "",
                entry.description,
            )
            for name, entry in MODEL_SPECS.items()
        ]
        print(tabulate(rows, headers=["spec", "kind", "tags", "what"], tablefmt="github"))
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
