"""Plot the desiderata over a training run: reports/training-curve.png (shown in the README).

    python3 scripts/training_curve.py          # ~2 minutes on 2 cores; needs matplotlib (pip install 'eifbench[plots]')

A random-init tiny causal LM (tiny-lm) learns the bank's everyday statements with a plain
Hugging Face ``Trainer``; ``EifCallback`` checks every desideratum on the live model at each
evaluation and logs ``eif/<desideratum>/<condition>`` through the trainer.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from transformers import DataCollatorForLanguageModeling, Trainer, TrainingArguments  # noqa: E402

import eifbench  # noqa: E402
from eifbench.bank.items import fact_families, world_probes  # noqa: E402
from eifbench.desiderata import DESIDERATA, Thresholds  # noqa: E402
from eifbench.integrations.transformers import EifCallback  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STEPS, EVERY = 240, 30


def main() -> None:
    model = eifbench.load_model("tiny-lm", "device=cpu")
    tokenizer = model.tokenizer
    texts = [f.fact.text() for f in fact_families(50, seed=7)] + [f"{p.x}{p.y}." for p in world_probes()]
    rows = [{"input_ids": tokenizer(t).input_ids} for t in texts]
    with tempfile.TemporaryDirectory() as scratch:
        args = TrainingArguments(
            output_dir=scratch,
            max_steps=STEPS,
            per_device_train_batch_size=8,
            learning_rate=3e-3,
            eval_strategy="steps",
            eval_steps=EVERY,
            logging_steps=EVERY,
            save_strategy="no",
            report_to=[],
            use_cpu=True,
            disable_tqdm=True,
            seed=0,
        )
        trainer = Trainer(
            model=model.module.train(),
            args=args,
            train_dataset=rows,
            eval_dataset=rows[:16],
            data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False),
            processing_class=tokenizer,
        )
        callback = EifCallback.attach(trainer, conditions=["finetune"], items=12, recipe=eifbench.FineTune(lr=0.01))
        trainer.train()
    plot(callback.history, ROOT / "reports" / "training-curve.png")


def plot(history: list[dict], path: Path) -> None:
    """One panel per desideratum: its value over training steps and the pass threshold."""
    thresholds = Thresholds()
    names = list(DESIDERATA)
    figure, axes = plt.subplots(2, 3, figsize=(11, 5.6), sharex=True)
    steps = [h["step"] for h in history]
    for ax, name in zip(axes.flat, names):
        key = f"eif/{name.replace(' ', '_')}/finetune"
        values = [h.get(key) for h in history]
        ax.plot(steps, values, marker="o", color="#1f77b4")
        desideratum = DESIDERATA[name]
        threshold = getattr(thresholds, desideratum.threshold_key)
        ax.axhline(threshold, color="#d62728", linestyle="--", linewidth=1)
        side = "pass at or above" if desideratum.higher_is_better else "pass at or below"
        ax.set_title(f"{name}\n({side} {threshold:g})", fontsize=9)
        ax.tick_params(labelsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("training step", fontsize=8)
    figure.suptitle("tiny-lm learning 74 statements: the desiderata at each evaluation (EifCallback)", fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
