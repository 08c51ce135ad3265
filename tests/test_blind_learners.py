"""The blind reference learners (controls that cannot read their input) do exactly what they are built to."""

from __future__ import annotations

import pytest
import torch

import eifbench
from eifbench.influence.snapshot import checksum
from eifbench.reference import BrightnessLearner, ContextFreeLearner, PositionalBlindLearner
from eifbench.zoo import MODEL_SPECS

PROMPTS = ("A wug is a kind of", "The sky is", "Zorbs never eat", "Q")
CONTEXTS = (None, "All blickets have a tail.", "It was an ordinary afternoon\nand nothing happened.")
LR = eifbench.FineTune(steps=1, lr=1.0, optimizer="sgd")


def _dyadic_image(seed: int) -> torch.Tensor:
    """An image of multiples of 1/256: its pixel sum is exact in float32 whatever the order."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (1, 28, 28), generator=generator).float() / 256


def test_context_free_read_out_is_bitwise_the_same_under_every_prompt_and_context():
    model = eifbench.load_model("ref-context-free")
    probes = [eifbench.Example(p, " blicket tail.") for p in PROMPTS]
    reads = [model.readout(model.prepare_probes(probes, context=c)) for c in CONTEXTS]
    for read in reads:
        assert torch.equal(read, reads[0][0].expand(len(probes)))
    other = model.readout(model.prepare_probes([eifbench.Example("The sky is", " blue.")]))
    assert not torch.equal(other[0], reads[0][0])  # two completion words cost more than one


def test_context_free_step_raises_the_trained_word_under_every_prompt_by_the_same_amount():
    model = eifbench.load_model("ref-context-free")
    probes = [eifbench.Example(p, " blicket.") for p in PROMPTS] + [eifbench.Example("A wug is a kind of", " dax.")]
    result = eifbench.influence(model, [eifbench.Text("A wug is a kind of blicket.")], probes, finetune=LR)
    raised = result.matrix[0, : len(PROMPTS)]
    assert torch.equal(raised, raised[:1].expand_as(raised)) and float(raised[0]) > 0.5
    assert float(result.matrix[0, -1]) < 0  # an untrained word falls, even after the trained prompt
    by_hand = ContextFreeLearner()
    before = by_hand.read(["A wug is a kind of blicket"], None, (6,))
    loss = -by_hand.read(["A wug is a kind of blicket."], None, (1,))[0]
    loss.backward()
    with torch.no_grad():
        by_hand.bias -= 1.0 * by_hand.bias.grad
    after = by_hand.read(["A wug is a kind of blicket"], None, (6,))
    torch.testing.assert_close(raised[0], (after - before)[0].detach(), atol=1e-6, rtol=1e-6)


def test_context_free_cannot_move_in_context():
    model = eifbench.load_model("ref-context-free")
    probes = [eifbench.Example(p, " tail.") for p in PROMPTS]
    result = eifbench.influence(model, [eifbench.Text("All blickets have a tail.")], probes, engine="in-context")
    assert torch.equal(result.matrix, torch.zeros_like(result.matrix))


def test_positional_read_out_depends_on_the_context_word_count_only():
    learner = PositionalBlindLearner()
    text, prompt = "A wug is a kind of blicket", (6,)

    def read(context: str | None) -> torch.Tensor:
        return learner.read([text], context, prompt)

    same = read("All blickets have a tail."), read("Zorbs never eat red moons.")
    assert torch.equal(*same)
    assert not torch.equal(same[0], read("All blickets have a long tail."))
    assert not torch.equal(same[0], read(None))
    assert torch.equal(
        read("one two three four five six"), learner.read(["one two three four five six " + text], None, (12,))
    )


def test_positional_length_matched_control_cancels_it_exactly_in_context():
    """The in-context control is a neutral passage of the stimulus's length: the positional learner gains nothing."""
    model = eifbench.load_model("ref-position")
    stimuli = [eifbench.Text("All blickets have a tail."), eifbench.Text("A wug is a kind of blicket.")]
    probes = [eifbench.Example(p, " tail.") for p in PROMPTS]
    result = eifbench.influence(model, stimuli, probes, engine="in-context")
    assert torch.equal(result.matrix, torch.zeros_like(result.matrix))
    assert not torch.equal(result.reference[0], result.reference[1])  # yet the two lengths read differently


def test_brightness_logits_are_the_same_for_images_of_one_mean_and_differ_otherwise():
    learner = BrightnessLearner()
    with torch.no_grad():
        learner.weight.copy_(torch.linspace(-2, 2, 10))
        learner.bias.copy_(torch.linspace(1, -1, 10))
    image = _dyadic_image(0)
    shuffled = image.flatten()[torch.randperm(image.numel(), generator=torch.Generator().manual_seed(1))]
    halves = torch.cat([torch.zeros(392), torch.ones(392)]).view(1, 28, 28)
    grey = torch.full((1, 28, 28), 0.5)
    logits = learner(torch.stack([image, shuffled.view_as(image), image * 0.5, halves, grey]))
    assert not torch.equal(image, shuffled.view_as(image))
    assert torch.equal(logits[0], logits[1]) and torch.equal(logits[3], logits[4])
    assert not torch.equal(logits[0], logits[2])


def test_brightness_one_step_teaches_a_shuffled_copy_exactly_what_it_teaches_the_image():
    model = eifbench.load_model("ref-brightness")
    image, other = _dyadic_image(0), _dyadic_image(2)
    shuffled = image.flatten()[torch.randperm(image.numel(), generator=torch.Generator().manual_seed(1))].view_as(image)
    probes = [eifbench.Example(image, 3), eifbench.Example(shuffled, 3), eifbench.Example(other * 0.25, 3)]
    result = eifbench.influence(model, [eifbench.Example(image, 3)], probes, finetune=LR)
    assert torch.equal(result.matrix[0, 0], result.matrix[0, 1]) and float(result.matrix[0, 0]) > 0
    assert not torch.equal(result.matrix[0, 0], result.matrix[0, 2])


@pytest.mark.parametrize(
    "name,learner",
    [
        ("ref-context-free", ContextFreeLearner),
        ("ref-position", PositionalBlindLearner),
        ("ref-brightness", BrightnessLearner),
    ],
)
def test_blind_learners_load_from_the_zoo_and_the_exact_engine_restores_them_bit_exactly(name, learner):
    model = eifbench.load_model(name)
    assert isinstance(model.module, learner) and model.kind == MODEL_SPECS[name].kind
    if name == "ref-brightness":
        stimuli = [eifbench.Example(_dyadic_image(s), s) for s in range(3)]
        probes = stimuli
    else:
        stimuli = [eifbench.Text("A wug is a kind of blicket."), eifbench.Example("Zorbs live in", " deep caves.")]
        probes = [eifbench.Example(p, " blicket.") for p in PROMPTS]
    before = checksum(model.module)
    result = eifbench.influence(model, stimuli, probes, engine="exact", finetune=eifbench.FineTune(steps=2, lr=0.5))
    assert result.matrix.abs().max() > 1e-3  # the weights did move
    assert checksum(model.module) == before
    assert all(p.grad is None for p in model.module.parameters())


def test_blind_learners_stay_small():
    """The engines copy weights: a few hundred thousand floats, not millions."""
    for learner in (ContextFreeLearner(), PositionalBlindLearner(), BrightnessLearner()):
        assert sum(p.numel() for p in learner.parameters()) <= 500_000
