"""Verdicts explained: item sentences against planted influences, views against learners of known answer,
thumbnails and their PNG against independent decoders, and the text reports."""

from __future__ import annotations

import binascii
import json
import struct
import zlib

import numpy as np
import pytest
import torch

import eifbench
from eifbench.bank.items import chain_items, entailment_items, exclusive_items
from eifbench.desiderata import DESIDERATA, Thresholds
from eifbench.desiderata.base import FAIL, PASS, Status
from eifbench.report.explanation.explain import worst_items
from eifbench.report.explanation.explain_text import terminal_explanations
from eifbench.report.explanation.views import pool
from eifbench.report.rendering.markdown import markdown_report
from eifbench.report.rendering.thumbnails import png_bytes, thumbnail
from eifbench.report.results.records import Comparison, Record
from eifbench.tasks import lm
from eifbench.tasks.base import TaskSpec
from tests.synthetic import results

SPEC = TaskSpec(kind="causal-lm", items=4)
FOUR_ITEMS = Thresholds(min_items=2)  # explanations of four hand-built items: verdicts on them are the point


def text_of(example: eifbench.Example) -> str:
    return f"{example.x}{example.y}"


def planted(task, cells):
    """A fill that sets run -> [(row, column, value)] and leaves every other cell at 0."""

    def fill(name, run):
        m = np.zeros((len(run.stimuli), len(run.probes)))
        for row, column, value in cells(name):
            m[row, column] = value
        return m

    return fill


def explain(name, task, fill, condition="finetune"):
    res = results(task, fill)
    measurement = DESIDERATA[name].measure(task, res, FOUR_ITEMS)
    return measurement, worst_items(measurement, task, res, condition)


def test_consistency_names_the_rising_negation_with_its_nats_and_controls():
    task = lm.consistency(SPEC)
    lay = task.layout

    def cells(name):
        for i in range(4):
            yield from [(i, lay.fact[i], 4.1), (i, lay.fact_control[i], 0.3), (i, lay.negation_control[i], 0.2)]
            yield (i, lay.negation[i], 3.2 if i == 2 else -1.0)

    measurement, examples = explain("logical consistency", task, planted(task, cells))
    worst = examples[0]
    item = exclusive_items(4, 0)[2]
    assert worst["index"] == 2 and worst["value"] == pytest.approx((4.1 - 0.3 - 3.0) / 4.1, abs=1e-5)
    assert worst["text"].startswith(
        f"training on \u201c{item.fact.text()}\u201d raised \u201c{text_of(item.fact.negated)}\u201d"
    )
    assert "by +3.20 nats (the same about a control person: +0.20; the fact itself: +4.10" in worst["text"]
    assert worst["cells"]["negation"] == pytest.approx(3.2) and worst["cells"]["fact"] == pytest.approx(4.1)


def test_in_context_sentences_put_the_stimulus_in_the_prompt():
    task = lm.consistency(SPEC)
    lay = task.layout
    fill = planted(task, lambda name: [(i, lay.fact[i], 2.0) for i in range(4)])
    _, examples = explain("logical consistency", task, fill, condition="in-context")
    assert all("in the prompt" in e["text"] and "training on" not in e["text"] for e in examples)


def test_asymmetry_of_a_symmetric_learner_reads_both_directions():
    task = lm.asymmetry(SPEC)
    lay = task.layout

    def cells(name):
        for i in range(4):
            a, b = lay.premise_row[i], lay.conclusion_row[i]
            yield from [(a, lay.premise[i], 3.0), (b, lay.conclusion[i], 3.0)]
            yield from [(a, lay.conclusion[i], 1.5), (b, lay.premise[i], 1.5)]

    measurement, examples = explain("asymmetry", task, planted(task, cells))
    pair = entailment_items(4, 0)[examples[0]["index"]]
    # four equal items cannot rule out a share of unseen ones: the verdict waits, the explanation does not
    assert measurement.value == pytest.approx(0.0, abs=1e-6) and examples[0]["value"] == pytest.approx(0.0, abs=1e-6)
    text = examples[0]["text"]
    assert (
        f"training on \u201c{pair.premise.text()}\u201d raised \u201c{text_of(pair.conclusion.probe)}\u201d by +1.50"
        in text
    )
    assert (
        f"training on \u201c{pair.conclusion.text()}\u201d raised \u201c{text_of(pair.premise.probe)}\u201d by +1.50"
        in text
    )


def test_transitivity_of_a_bag_of_words_shows_a_zero_lift_against_the_trained_conclusion():
    task = lm.transitivity(SPEC)
    lay = task.layout

    def cells(name):
        for i in range(4):
            if name == "reference":
                yield (i, lay.conclusion[i], 2.5)
            else:
                yield from [(i, lay.conclusion[i], 2.0), (i, lay.control_entity[i], 2.0)]

    _, examples = explain("transitivity", task, planted(task, cells))
    chain = chain_items(4, 0)[examples[0]["index"]]
    text = examples[0]["text"]
    assert text_of(chain.conclusion.probe) in text and " ".join(p.text() for p in chain.premises) in text
    assert "a lift of 0 nats against +2.50 from training on the conclusion itself" in text


def test_noise_reads_the_noised_copy_the_clean_statement_and_the_shuffled_copy():
    task = lm.noise(SPEC)
    lay = task.layout
    n = len(lay.self_column)

    def cells(name):
        for i in range(n):
            for column in lay.family[i]:
                if name == "main":
                    yield (i, column, 2.0)
                elif name == "noised":
                    yield (lay.noised_row[i], column, 1.0)
                    yield (lay.control_row[i], column, 0.5)
                else:
                    yield from []
        if name == "sensitivity":
            yield from ((r, c, 1.0) for r, c in enumerate(lay.sensitivity_columns))

    measurement, examples = explain("noise invariance", task, planted(task, cells))
    worst = examples[0]
    assert worst["value"] == pytest.approx(0.25, abs=1e-5)
    assert worst["text"].startswith(f"training on \u201c{task.details['noised'][worst['index']]}\u201d raised")
    assert (
        "by +2.00 nats in total, against +4.00 from the clean statement and +1.00 from a nonce statement "
        "with the same object" in worst["text"]
    )
    assert all(e["value"] == 0.0 for e in examples if e.get("criterion") == "spill")  # pure noise moved nothing


def test_a_failing_spill_adds_the_pure_noise_that_moved_real_probes():
    task = lm.noise(SPEC)
    lay = task.layout

    def cells(name):
        if name == "main":
            yield from ((i, lay.self_column[i], 2.0) for i in range(len(lay.self_column)))
        if name == "noised":
            for g, row in enumerate(lay.pure_row):
                yield (row, lay.pure_column[g], 1.0)
                yield from ((row, c, 0.8) for c in lay.spill_columns)
        if name == "sensitivity":
            yield from ((r, c, 1.0) for r, c in enumerate(lay.sensitivity_columns))

    measurement, examples = explain("noise invariance", task, planted(task, cells))
    spill = [e for e in examples if e.get("criterion") == "spill"]
    assert measurement.details["spill"]["status"] == "fail" and spill
    assert "moved the real probes by 0.80 nats on average, up or down" in spill[0]["text"]


def test_distance_names_the_unrelated_fact_that_moved_most():
    task = lm.distance(SPEC)
    lay = task.layout

    def cells(name):
        if name == "sensitivity":
            yield from ((r, c, 1.0) for r, c in enumerate(lay.sensitivity_columns))
            return
        for i in range(4):
            yield (i, lay.self_column[i], 3.0)
            levels = {lv: np.flatnonzero(lay.levels[i] == lv) for lv in (1, 2, 3)}
            yield from [(i, levels[1][0], 0.1), (i, levels[2][0], 0.2), (i, levels[3][0], 0.9), (i, levels[3][1], 0.3)]

    measurement, examples = explain("distance", task, planted(task, cells))
    i = examples[0]["index"]
    far = task.runs["main"].probes[np.flatnonzero(lay.levels[i] == 3)[0]]
    assert measurement.status == FAIL
    assert f"unrelated facts by +0.60 on average (most: \u201c{text_of(far)}\u201d +0.90)" in examples[0]["text"]


def test_pool_keeps_group_edges_and_averages_within_groups():
    values = np.arange(24, dtype=float).reshape(2, 12)
    values[0, 1] = np.nan  # an uncomputed cell is left out of its block's mean
    pooled, groups = pool(values, [["a", 0, 4], ["b", 4, 12]], limit=6, axis=1)
    assert groups == [["a", 0, 2], ["b", 2, 6]]
    assert pooled[0].tolist() == [0.0, 2.5, 4.5, 6.5, 8.5, 10.5]
    assert pooled[1].tolist() == [12.5, 14.5, 16.5, 18.5, 20.5, 22.5]


@pytest.fixture(scope="module")
def logical_views():
    """The views of a learner whose right answers are known (the reference logical learner)."""
    from eifbench.report.explanation.explain import figure_of

    model = eifbench.load_model("ref-logical")
    recipe = eifbench.FineTune(steps=1, lr=10.0)
    views = {}
    for name in DESIDERATA:
        desideratum = DESIDERATA[name]
        task = desideratum.build(SPEC)
        res = {
            k: eifbench.influence(model, r.stimuli, r.probes, finetune=recipe, mask=r.mask)
            for k, r in task.runs.items()
        }
        views[name] = figure_of(desideratum.measure(task, res, Thresholds()), task, res)
    return views


def columns(view, label):
    (low, high) = next((g[1], g[2]) for g in view["columns"]["groups"] if g[0] == label)
    return np.array([[np.nan if v is None else v for v in row[low:high]] for row in view["values"]])


@pytest.mark.parametrize(
    "name,red,blue,white",
    [
        ("logical consistency", ["fact"], ["negation", "alternatives"], ["control: fact", "control: negation"]),
        ("asymmetry", ["A -> A", "A -> B", "B -> B"], [], ["B -> A", "A -> B control", "B -> A control"]),
        ("transitivity", ["conclusion", "conclusion trained"], [], ["other property", "both"]),
        ("sparseness", ["itself", "paraphrase"], [], ["other facts", "everyday facts", "same entity"]),
        ("distance", ["itself", "near"], [], ["related", "far"]),
        ("noise invariance", ["clean", "noised copy"], [], ["control"]),
    ],
)
def test_each_caption_describes_the_logical_learners_picture(logical_views, name, red, blue, white):
    view = logical_views[name]
    assert "logical" in view["caption"] or "learner" in view["caption"]
    for label in red:
        assert (columns(view, label) > 0.5).all(), label
    for label in blue:  # the logical learner lowers what contradicts the fact it learned
        assert (columns(view, label) < -0.5).all(), label
    for label in white:
        cells = columns(view, label)
        assert np.nanmax(np.abs(cells)) == 0.0, label


def test_thumbnail_keeps_brightness_and_area_averages_large_images():
    x = torch.rand(1, 28, 28, generator=torch.Generator().manual_seed(0))
    thumb = thumbnail(x, "stimulus", "an image")
    pixels = np.frombuffer(__import__("base64").b64decode(thumb["pixels"]), dtype=np.uint8).reshape(28, 28)
    assert np.array_equal(pixels, np.round(x[0].numpy() * 255).astype(np.uint8))
    big = torch.rand(3, 56, 56, generator=torch.Generator().manual_seed(1))
    small = thumbnail(big, "probe", "rgb")
    expected = big.numpy().mean(axis=0).reshape(28, 2, 28, 2).mean(axis=(1, 3)) * 255
    got = np.frombuffer(__import__("base64").b64decode(small["pixels"]), dtype=np.uint8).reshape(28, 28)
    assert small["shape"] == [28, 28] and np.abs(got - expected).max() <= 1.0
    assert len(json.dumps(small)) < 1200  # a record holds a thumbnail in about 1 KB


def test_png_decodes_with_an_independent_reader():
    pixels = (np.arange(28 * 20) % 251).astype(np.uint8).reshape(20, 28)
    data = png_bytes(pixels)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks = 8, {}
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        tag, body = data[offset + 4 : offset + 8], data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == binascii.crc32(tag + body), tag
        chunks[tag] = chunks.get(tag, b"") + body
        offset += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (width, height, depth, color) == (28, 20, 8, 0)
    raw = zlib.decompress(chunks[b"IDAT"])
    rows = [raw[r * 29 : (r + 1) * 29] for r in range(20)]
    assert all(row[0] == 0 for row in rows)
    assert np.array_equal(np.frombuffer(b"".join(row[1:] for row in rows), dtype=np.uint8).reshape(20, 28), pixels)


def record(status: Status, examples=(), gate=None, **changes) -> Record:
    fields = dict(
        model="m",
        column="m",
        kind="causal-lm",
        desideratum="logical consistency",
        condition="finetune",
        status=status,
        metric="kappa",
        value=0.1 if status == FAIL else 0.9,
        ci=(0.0, 0.2) if status == FAIL else (0.8, 1.0),
        threshold=0.5,
        higher_is_better=True,
        n=4,
        unmeasured=0,
        seconds=1.0,
        recipe={},
        stimuli="s",
        bank="b",
        examples=tuple(examples),
        gate=gate,
    )
    return Record(**{**fields, **changes})


EXAMPLE = {
    "item": "Zorpin was born in April.",
    "index": 2,
    "value": 0.1,
    "text": "training on \u201cZorpin was born in April.\u201d raised "
    "\u201cZorpin was not born in April\u201d by +3.20 nats",
}


def test_terminal_explains_failures_always_and_everything_with_verbose():
    failing = record(FAIL, [EXAMPLE], column="failing")
    passing = record(PASS, [EXAMPLE], column="passing")
    quiet = "\n".join(terminal_explanations([failing, passing], verbose=False))
    loud = "\n".join(terminal_explanations([failing, passing], verbose=True))
    assert "failing:" in quiet and "passing:" not in quiet and "1. training on" in quiet
    assert "failing:" in loud and "passing:" in loud and "pass needs >= 0.5 -> FAIL" in loud


def test_markdown_has_a_collapsible_block_with_the_worst_items_and_the_gate():
    gate = Comparison(
        "regression", 0.3, 0.4, (0.3, 0.5), "pass", "baseline.json", 0.1, "moved 0.300 in the bad direction"
    )
    text = markdown_report({"complete": True}, [record(FAIL, [EXAMPLE], gate=gate)])
    block = text[text.index("<details>") : text.index("</details>")]
    assert "The items that violate it most:" in block
    assert (
        "1. training on \u201c*Zorpin was born in April.*\u201d raised \u201c*Zorpin was not born in April*\u201d"
        in block
    )
    assert "Baseline `baseline.json`: was PASS 0.400, now FAIL 0.100" in block


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name", list(DESIDERATA))
def test_a_diverged_stimulus_leaves_explanations_and_views_well_formed(name):
    """A fine-tune that diverged gives a NaN row: it is never a worst item, and nothing warns or breaks JSON."""
    from eifbench.report.explanation.explain import figure_of

    task = DESIDERATA[name].build(SPEC)

    def fill(run_name, run):
        m = np.full((len(run.stimuli), len(run.probes)), 0.5)
        m[np.arange(min(len(run.stimuli), len(run.probes))), np.arange(min(len(run.stimuli), len(run.probes)))] = 2.0
        m[0] = np.nan
        return m

    res = results(task, fill)
    measurement = DESIDERATA[name].measure(task, res, FOUR_ITEMS)
    examples = worst_items(measurement, task, res)
    view = figure_of(measurement, task, res)
    assert examples and all(np.isfinite(e["value"]) and e["text"] for e in examples)
    assert 0 not in [e["index"] for e in examples if "criterion" not in e]
    assert json.loads(json.dumps(record(FAIL, examples, figure=view).to_json()))["figure"]["values"]
