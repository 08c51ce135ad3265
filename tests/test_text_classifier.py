"""Text classifiers (a tiny BERT): Example(text, label) read as the label's log-softmax; labelled tasks."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import eifbench
from eifbench.bank.labelled import review_families
from eifbench.desiderata import DESIDERATA
from eifbench.errors import InputError, StimuliFileError
from eifbench.influence.snapshot import checksum
from eifbench.tasks.base import TaskNotApplicable, TaskSpec
from eifbench.tasks.stimuli_file import read_stimuli_file
from tests.checkpoints import save_tiny_bert_classifier

REVIEWS = [
    eifbench.Example("The soup at the restaurant was wonderful.", "POSITIVE"),
    eifbench.Example("The plot in the movie was dreadful.", 0),
    eifbench.Example("The pool at the hotel was lovely.", "1"),
]


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return eifbench.load_model(
        f"hf:{save_tiny_bert_classifier(tmp_path_factory.mktemp('bert') / 'bert')}", "device=cpu"
    )


def _read(module, tok, examples) -> torch.Tensor:
    labels = {"POSITIVE": 1, "NEGATIVE": 0, "1": 1, "0": 0, 0: 0, 1: 1}
    values = []
    for e in examples:
        with torch.no_grad():
            logits = module(input_ids=torch.tensor([tok(e.x).input_ids])).logits[0]
        values.append(F.log_softmax(logits.double(), dim=-1)[labels[e.y]])
    return torch.stack(values)


def test_read_out_is_the_label_log_softmax_with_names_or_indices(bert):
    assert bert.kind == "text-classifier" and bert.num_classes == 2
    expected = _read(bert.module, bert.tokenizer, REVIEWS)
    torch.testing.assert_close(bert.readout(bert.prepare_probes(REVIEWS)), expected.float(), atol=1e-5, rtol=1e-5)


def test_exact_engine_equals_a_deepcopy_loop_and_restores(bert):
    recipe = eifbench.FineTune(steps=2, lr=0.1)
    before_sum = checksum(bert.module)
    result = eifbench.influence(bert, REVIEWS, REVIEWS, finetune=recipe)
    assert checksum(bert.module) == before_sum
    before = _read(bert.module, bert.tokenizer, REVIEWS)
    for i, stimulus in enumerate(REVIEWS):
        tuned = copy.deepcopy(bert.module)
        optimizer = torch.optim.SGD(tuned.parameters(), lr=recipe.lr)
        ids = torch.tensor([bert.tokenizer(stimulus.x).input_ids])
        label = torch.tensor([bert.label_of(stimulus.y, "stimulus")])
        for _ in range(recipe.steps):
            F.cross_entropy(tuned(input_ids=ids).logits, label).backward()
            optimizer.step()
            optimizer.zero_grad()
        after = _read(tuned, bert.tokenizer, REVIEWS)
        torch.testing.assert_close(result.matrix[i], (after - before).float(), atol=2e-5, rtol=1e-4)
    assert result.matrix.abs().max() > 1e-3


@pytest.mark.parametrize(
    "item,match",
    [
        (eifbench.Example("fine", "MAYBE"), r"label 'MAYBE' is not one of .*\(NEGATIVE, POSITIVE\)"),
        (eifbench.Example("fine", 2), "label 2 is out of range: .* has 2 classes"),
        (eifbench.Example("  ", 1), "text is empty"),
    ],
)
def test_bad_text_classifier_input(bert, item, match):
    with pytest.raises(InputError, match=match):
        eifbench.influence(bert, [REVIEWS[0]], [item])
    with pytest.raises(InputError, match=r"stimulus is Example\(text: str, label\); got Text"):
        eifbench.influence(bert, [eifbench.Text("fine")], REVIEWS)
    with pytest.raises(InputError, match="in-context.*needs a language model"):
        eifbench.influence(bert, REVIEWS[:1], REVIEWS, engine="in-context")


def test_the_review_bank_is_deduplicated_balanced_and_graded():
    families = review_families(40, 0)
    sentences = [
        e.x for f in families for r in (f.review, *f.related) for e in (r.sentence(), r.paraphrase(0), r.paraphrase(1))
    ]
    assert len(set(sentences)) == len(sentences)
    assert len({(f.review.topic, r.aspect) for f in families for r in (f.review, *f.related)}) == 3 * 40
    assert [f.review.label for f in families[:4]] == [1, 0, 1, 0]
    assert all(r.label == f.review.label and r.topic == f.review.topic for f in families for r in f.related)
    assert review_families(40, 1)[0] != families[0]
    with pytest.raises(InputError, match="at most 40 reviews"):
        review_families(41, 0)


def test_labelled_tasks_keep_their_levels_families_and_controls_straight():
    spec = TaskSpec("text-classifier", 12, seed=0)
    distance = DESIDERATA["distance"].build(spec)
    probes = distance.runs["main"].probes
    for i, stimulus in enumerate(distance.runs["main"].stimuli):
        for column in np.flatnonzero(distance.layout.levels[i] > 0):
            assert probes[column].y == stimulus.y  # every graded probe has the stimulus's label
    sparseness = DESIDERATA["sparseness"].build(spec)
    others = sparseness.layout.families == 2
    assert others.any()
    for i, stimulus in enumerate(sparseness.runs["main"].stimuli):
        assert all(probes[j].y != stimulus.y for j in np.flatnonzero(others[i]))
    noise = DESIDERATA["noise invariance"].build(spec)
    layout, labels = noise.layout, [s.y for s in noise.runs["main"].stimuli]
    assert all(labels[c] == labels[i] and c != i for i, c in enumerate(layout.control_row))
    noised = noise.runs["noised"].stimuli
    assert all(noised[i].y == labels[i] and noised[i].x != noise.runs["main"].stimuli[i].x for i in range(12))


def test_a_user_labelled_file_builds_the_same_layouts(tmp_path):
    rows = [
        {
            "text": "The soup was great.",
            "label": 1,
            "paraphrase": "I loved the soup.",
            "related": "The bread was great.",
        },
        {
            "text": "The film was dull.",
            "label": 0,
            "paraphrase": "I found the film dull.",
            "related": "The plot was dull.",
        },
        {
            "text": "The hotel bed was comfy.",
            "label": 1,
            "paraphrase": "The bed felt comfy.",
            "related": "The room was nice.",
        },
        {
            "text": "The train was late again.",
            "label": 0,
            "paraphrase": "Again the train ran late.",
            "related": "The bus was late.",
        },
    ]
    path = tmp_path / "labelled.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    spec = TaskSpec("text-classifier", 36, stimuli_file=str(path))
    for name in ("distance", "sparseness", "noise invariance"):
        task = DESIDERATA[name].build(spec)
        assert task.bank.startswith("user:") and len(task.items) == 4
        assert all(isinstance(s.y, int) for s in task.runs["main"].stimuli)
    with pytest.raises(TaskNotApplicable, match="holds labelled sentences .* needs facts"):
        DESIDERATA["distance"].build(TaskSpec("causal-lm", 36, stimuli_file=str(path)))
    facts = tmp_path / "facts.jsonl"
    facts.write_text('{"prompt": "A wug is", "completion": " blue"}\n{"prompt": "Zorbs eat", "completion": " moss"}')
    with pytest.raises(TaskNotApplicable, match="holds facts .* needs labelled sentences"):
        DESIDERATA["sparseness"].build(TaskSpec("text-classifier", 36, stimuli_file=str(facts)))


def test_a_labelled_file_with_a_bad_label_is_refused(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "fine", "label": 1.5}\n{"text": "bad", "label": 0.0}')
    with pytest.raises(
        StimuliFileError, match="column 'label' is float 1.5; a label is an int class index or a label name"
    ):
        read_stimuli_file(str(path))
    neither = tmp_path / "neither.csv"
    neither.write_text("sentence,y\nfine,1\nbad,0\n")
    with pytest.raises(StimuliFileError, match=r"lacks the required column\(s\).*\['text', 'label'\]"):
        read_stimuli_file(str(neither))
