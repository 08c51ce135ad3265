"""The engines against independent computations written here, not in the library."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

import eifbench
from eifbench.influence.snapshot import checksum
from tests.conftest import FACTS, PROBES, fail_readout_on_call


def _classifier_readout(module: torch.nn.Module, probes: list[eifbench.Example]) -> torch.Tensor:
    x = torch.stack([p.x for p in probes])
    y = torch.tensor([p.y for p in probes])
    with torch.no_grad():
        return F.log_softmax(module(x), dim=-1)[torch.arange(len(y)), y]


def _naive_classifier(adapter, stimuli, probes, steps, lr, optimizer):
    before = _classifier_readout(adapter.module, probes)
    rows = []
    for s in stimuli:
        model = copy.deepcopy(adapter.module)
        opt = (torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam)(model.parameters(), lr=lr)
        for _ in range(steps):
            loss = F.cross_entropy(model(s.x[None]), torch.tensor([s.y]))
            opt.zero_grad()
            loss.backward()
            opt.step()
        rows.append(_classifier_readout(model, probes) - before)
    return torch.stack(rows)


def _lm_readout_one(model, tokenizer, probe: eifbench.Example) -> float:
    ids = tokenizer(probe.x + probe.y).input_ids
    n_prompt = len(tokenizer(probe.x).input_ids)
    with torch.no_grad():
        logp = F.log_softmax(model(torch.tensor([ids])).logits[0].double(), dim=-1)
    return float(sum(logp[t - 1, ids[t]] for t in range(n_prompt, len(ids))))


def _naive_lm(adapter, stimuli, probes, steps, lr):
    tok = adapter.tokenizer
    before = torch.tensor([_lm_readout_one(adapter.module, tok, p) for p in probes])
    rows = []
    for s in stimuli:
        model = copy.deepcopy(adapter.module)
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        links = s.links if isinstance(s, eifbench.Chain) else (s,)
        for link in links:
            if isinstance(link, eifbench.Text):
                ids = torch.tensor([tok(link.text).input_ids])
                labels = ids
            else:
                full = tok(link.x + link.y).input_ids
                n = len(tok(link.x).input_ids)
                ids = torch.tensor([full])
                labels = torch.tensor([[-100] * n + full[n:]])
            for _ in range(steps):
                loss = model(input_ids=ids, labels=labels).loss
                opt.zero_grad()
                loss.backward()
                opt.step()
        rows.append(torch.tensor([_lm_readout_one(model, tok, p) for p in probes]) - before)
    return torch.stack(rows)


@pytest.mark.parametrize("optimizer,steps,lr", [("sgd", 1, 0.05), ("sgd", 3, 0.02), ("adam", 2, 1e-3)])
def test_exact_classifier_matches_naive_loop(tiny_cnn, images, optimizer, steps, lr):
    recipe = eifbench.FineTune(steps=steps, lr=lr, optimizer=optimizer)
    result = eifbench.influence(tiny_cnn, images[:4], images, finetune=recipe)
    expected = _naive_classifier(tiny_cnn, images[:4], images, steps, lr, optimizer)
    assert result.matrix.shape == (4, len(images))
    assert result.matrix.abs().max() > 1e-4  # the check is not vacuous
    torch.testing.assert_close(result.matrix, expected, atol=2e-6, rtol=1e-5)


@pytest.mark.parametrize("steps", [1, 3])
def test_exact_lm_matches_naive_loop(tiny_lm, steps):
    stimuli = FACTS + [eifbench.Chain([FACTS[0], FACTS[2]])]
    recipe = eifbench.FineTune(steps=steps, lr=0.05)
    result = eifbench.influence(tiny_lm, stimuli, PROBES, finetune=recipe)
    expected = _naive_lm(tiny_lm, stimuli, PROBES, steps, 0.05).float()
    assert result.matrix.abs().max() > 1e-2
    torch.testing.assert_close(result.matrix, expected, atol=2e-4, rtol=1e-4)
    baseline = torch.tensor([_lm_readout_one(tiny_lm.module, tiny_lm.tokenizer, p) for p in PROBES])
    torch.testing.assert_close(result.baseline, baseline.float(), atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("engine", ["exact", "first-order", "in-context"])
def test_lm_weights_bitwise_identical_after_every_engine(tiny_lm, engine):
    before = checksum(tiny_lm.module)
    recipe = eifbench.FineTune(steps=2, lr=0.1)
    eifbench.influence(tiny_lm, FACTS, PROBES, engine=engine, finetune=recipe)
    assert checksum(tiny_lm.module) == before
    assert all(p.grad is None for p in tiny_lm.module.parameters())


@pytest.mark.parametrize("engine,optimizer", [("exact", "sgd"), ("exact", "adam"), ("first-order", "sgd")])
def test_classifier_weights_bitwise_identical(tiny_cnn, images, engine, optimizer):
    before = checksum(tiny_cnn.module)
    eifbench.influence(
        tiny_cnn, images[:3], images, engine=engine, finetune=eifbench.FineTune(steps=3, lr=0.5, optimizer=optimizer)
    )
    assert checksum(tiny_cnn.module) == before


def test_hooks_are_removed_after_the_run(tiny_cnn, images):
    eifbench.influence(tiny_cnn, images[:2], images, finetune=eifbench.FineTune(lr=0.1))
    before = checksum(tiny_cnn.module)
    loss = F.cross_entropy(tiny_cnn.module(images[0].x[None]), torch.tensor([images[0].y]))
    loss.backward()  # a later user backward must not step the weights
    assert checksum(tiny_cnn.module) == before
    tiny_cnn.module.zero_grad(set_to_none=True)


def test_lr_zero_gives_exactly_zero(tiny_lm, tiny_cnn, images):
    zero = eifbench.FineTune(steps=2, lr=0.0)
    assert torch.count_nonzero(eifbench.influence(tiny_lm, FACTS, PROBES, finetune=zero).matrix) == 0
    assert torch.count_nonzero(eifbench.influence(tiny_cnn, images[:3], images, finetune=zero).matrix) == 0
    first = eifbench.influence(tiny_cnn, images[:3], images, engine="first-order", finetune=zero)
    assert torch.count_nonzero(first.matrix) == 0


# below these lrs the float32 weight update itself is the error floor
@pytest.mark.parametrize("model_name,final_bound", [("tiny_cnn", 0.25), ("tiny_lm", 0.05)])
def test_first_order_error_shrinks_with_lr(request, images, model_name, final_bound):
    model = request.getfixturevalue(model_name)
    stimuli, probes = (images[:4], images) if model_name == "tiny_cnn" else (FACTS, PROBES)
    errors = []
    for lr in (1e-1, 3e-2, 1e-2):
        recipe = eifbench.FineTune(steps=1, lr=lr)
        exact = eifbench.influence(model, stimuli, probes, finetune=recipe).matrix.double()
        approx = eifbench.influence(model, stimuli, probes, engine="first-order", finetune=recipe).matrix.double()
        errors.append(float((exact - approx).norm() / exact.norm()))
    assert errors[0] > errors[1] > errors[2], errors
    assert errors[2] < final_bound, errors


def test_first_order_matches_the_formula(tiny_cnn, images):
    recipe = eifbench.FineTune(steps=2, lr=1e-3)
    result = eifbench.influence(tiny_cnn, images[:2], images[:3], engine="first-order", finetune=recipe)
    module = tiny_cnn.module
    params = list(module.parameters())

    def grad_of(value):
        return torch.cat([g.reshape(-1) for g in torch.autograd.grad(value, params)])

    for i, s in enumerate(images[:2]):
        g_loss = grad_of(F.cross_entropy(module(s.x[None]), torch.tensor([s.y])))
        for j, p in enumerate(images[:3]):
            g_probe = grad_of(F.log_softmax(module(p.x[None]), dim=-1)[0, p.y])
            expected = recipe.lr * recipe.steps * torch.dot(g_probe, -g_loss)
            assert float(result.matrix[i, j]) == pytest.approx(float(expected), rel=1e-4, abs=1e-9)


def test_batched_lm_readout_equals_one_at_a_time(tiny_lm):
    batched = tiny_lm.readout(tiny_lm.prepare_probes(PROBES))
    single = torch.stack([tiny_lm.readout(tiny_lm.prepare_probes([p]))[0] for p in PROBES])
    torch.testing.assert_close(batched, single, atol=1e-4, rtol=1e-5)
    assert len(tiny_lm.prepare_probes(PROBES).batches) == 1
    tiny = eifbench.CausalLMAdapter(tiny_lm.module, tiny_lm.tokenizer, batch_tokens=40)
    bucketed = tiny.prepare_probes(PROBES)
    assert len(bucketed.batches) > 1
    torch.testing.assert_close(tiny.readout(bucketed), single, atol=1e-4, rtol=1e-5)


def test_in_context_is_measured_against_a_neutral_context_of_matched_length(tiny_lm):
    from eifbench.influence.in_context import neutral_context

    stimulus = eifbench.Chain([FACTS[0], FACTS[1]])
    result = eifbench.influence(tiny_lm, [stimulus], PROBES[:2], engine="in-context")
    context = "A wug is a kind of blicket.\nZorbs live in deep caves."
    neutral = neutral_context(tiny_lm, tiny_lm.count_tokens(context))
    # the shortest prefix of the neutral passage that is at least as long as the stimulus
    assert tiny_lm.count_tokens(neutral) >= tiny_lm.count_tokens(context)
    assert tiny_lm.count_tokens(neutral.rsplit(" ", 1)[0]) < tiny_lm.count_tokens(context)
    for j, p in enumerate(PROBES[:2]):
        with_ctx = _lm_readout_one(tiny_lm.module, tiny_lm.tokenizer, eifbench.Example(context + "\n" + p.x, p.y))
        control = _lm_readout_one(tiny_lm.module, tiny_lm.tokenizer, eifbench.Example(neutral + "\n" + p.x, p.y))
        assert float(result.matrix[0, j]) == pytest.approx(with_ctx - control, abs=2e-4)
        assert float(result.reference[0, j]) == pytest.approx(control, abs=2e-4)


def test_in_context_neutral_reads_are_shared_by_length_and_a_split_run_gives_the_whole_run_s_numbers(tiny_lm):
    """Stimuli of one token length share their neutral read-outs (one batch over every probe any of them reads).

    Each cell still equals f(p | stimulus) - f(p | neutral passage of its length) computed
    here one probe at a time, and a run computed in two shares of rows (as Ray splits it)
    is the whole run, bit for bit.
    """
    import numpy as np

    from eifbench.influence.in_context import neutral_context

    stimuli = [FACTS[0], FACTS[1], FACTS[0], FACTS[2]]  # the first and third have one length: one neutral read
    mask = np.array([[1, 0, 1, 0, 0], [0, 1, 1, 0, 1], [0, 1, 0, 1, 0], [1, 1, 0, 0, 1]], dtype=bool)
    eifbench.influence(tiny_lm, stimuli, PROBES, engine="in-context", mask=mask)  # first use: the model's own checks
    calls = []
    readout = tiny_lm.readout

    def counted(prepared):
        calls.append(prepared.count)
        return readout(prepared)

    tiny_lm.readout = counted
    try:
        whole = eifbench.influence(tiny_lm, stimuli, PROBES, engine="in-context", mask=mask)
    finally:
        del tiny_lm.readout
    lengths = {tiny_lm.count_tokens(tiny_lm.stimulus_text(s)) for s in stimuli}
    # the baseline, one read per stimulus in its context, one per distinct length after the neutral passage
    assert len(calls) == 1 + len(stimuli) + len(lengths)
    for i, s in enumerate(stimuli):
        context = tiny_lm.stimulus_text(s)
        neutral = neutral_context(tiny_lm, tiny_lm.count_tokens(context))
        for j, p in enumerate(PROBES):
            if not mask[i, j]:
                assert torch.isnan(whole.matrix[i, j])
                continue
            with_ctx = _lm_readout_one(tiny_lm.module, tiny_lm.tokenizer, eifbench.Example(context + "\n" + p.x, p.y))
            control = _lm_readout_one(tiny_lm.module, tiny_lm.tokenizer, eifbench.Example(neutral + "\n" + p.x, p.y))
            assert float(whole.matrix[i, j]) == pytest.approx(with_ctx - control, abs=2e-4)
    # each half holds one stimulus of each length, so a half planning its neutral reads over its own
    # rows would read them in other batches (different float rounding) than the whole run does
    assert tiny_lm.count_tokens(tiny_lm.stimulus_text(stimuli[0])) == tiny_lm.count_tokens(
        tiny_lm.stimulus_text(stimuli[2])
    )
    halves = [
        eifbench.influence(tiny_lm, stimuli, PROBES, engine="in-context", mask=mask, rows=rows)
        for rows in ([0, 1], [2, 3])
    ]
    first = torch.tensor([True, True, False, False])[:, None]
    for part in ("matrix", "reference"):
        stitched = torch.where(first, getattr(halves[0], part), getattr(halves[1], part))
        assert torch.equal(stitched.isnan(), getattr(whole, part).isnan())
        assert torch.equal(stitched.nan_to_num(), getattr(whole, part).nan_to_num())
    assert torch.isnan(halves[0].matrix[[2, 3]]).all()
    with pytest.raises(eifbench.InputError, match="rows must be stimulus indices"):
        eifbench.influence(tiny_lm, stimuli, PROBES, engine="in-context", rows=[4])
    with pytest.raises(eifbench.InputError, match="rows must be a list of stimulus indices"):
        eifbench.influence(tiny_lm, stimuli, PROBES, engine="in-context", rows=[True, False])


def test_nan_loss_marks_one_stimulus_and_the_rest_go_on(tiny_cnn, images):
    poisoned = eifbench.Example(torch.full((1, 28, 28), float("nan")), 3)
    before = checksum(tiny_cnn.module)
    with pytest.warns(RuntimeWarning, match="1 of 3 stimuli diverged"):
        result = eifbench.influence(
            tiny_cnn, [images[0], poisoned, images[1]], images[:4], finetune=eifbench.FineTune(lr=0.1)
        )
    assert checksum(tiny_cnn.module) == before
    assert set(result.failures) == {1} and "NaN" in result.failures[1]
    assert torch.isnan(result.matrix[1]).all()
    assert torch.isfinite(result.matrix[[0, 2]]).all()


def test_every_stimulus_diverging_raises(tiny_cnn, images):
    poisoned = eifbench.Example(torch.full((1, 28, 28), float("inf")), 3)
    before = checksum(tiny_cnn.module)
    with pytest.raises(eifbench.FineTuneDivergedError, match="lower the lr"):
        eifbench.influence(tiny_cnn, [poisoned], images[:2])
    assert checksum(tiny_cnn.module) == before


def test_exception_midway_restores_weights(tiny_lm, monkeypatch):
    before = checksum(tiny_lm.module)
    # the 3rd read-out: baseline, stimulus 0, then fail after stimulus 1 was fine-tuned
    fail_readout_on_call(monkeypatch, tiny_lm, 3, RuntimeError("simulated fault"))
    with pytest.raises(RuntimeError, match="simulated fault"):
        eifbench.influence(tiny_lm, FACTS, PROBES, finetune=eifbench.FineTune(lr=0.5))
    monkeypatch.undo()
    assert checksum(tiny_lm.module) == before


def test_trainable_filter_changes_only_matching_parameters(tiny_lm):
    recipe = eifbench.FineTune(lr=0.05, trainable="lm_head*")
    restricted = eifbench.influence(tiny_lm, FACTS, PROBES, finetune=recipe).matrix
    full = eifbench.influence(tiny_lm, FACTS, PROBES, finetune=eifbench.FineTune(lr=0.05)).matrix
    assert not torch.allclose(restricted, full)
    assert all(p.requires_grad for p in tiny_lm.module.parameters())


def test_paranoid_mode_runs_and_passes(tiny_cnn, images):
    result = eifbench.influence(tiny_cnn, images[:2], images[:3], paranoid=True)
    assert torch.isfinite(result.matrix).all()


def test_conv_layout_is_restored_exactly():
    model = eifbench.load_model("tiny-cnn", "device=cpu")
    strides = [p.stride() for p in model.module.parameters()]
    images = [eifbench.Example(torch.rand(1, 28, 28), i % 10) for i in range(3)]
    eifbench.influence(model, images, images)
    assert [p.stride() for p in model.module.parameters()] == strides


def test_gram_fast_path_equals_per_sample_gradients(tiny_cnn, images, monkeypatch):
    from eifbench.influence import first_order

    recipe = eifbench.FineTune(lr=1e-3)
    stimuli = images[:3] + [eifbench.Chain([images[3], images[4]])]
    fast = eifbench.influence(tiny_cnn, stimuli, images, engine="first-order", finetune=recipe).matrix
    monkeypatch.setattr(first_order, "gradient_features", lambda *a: None)  # force the vmap path
    slow = eifbench.influence(tiny_cnn, stimuli, images, engine="first-order", finetune=recipe).matrix
    torch.testing.assert_close(fast, slow, atol=1e-7, rtol=1e-4)


def test_a_conv_padded_same_gives_what_the_same_conv_padded_by_number_gives(images):
    """padding="same" is a string, which the Gram fast path cannot unfold: the generic path takes it."""

    def net(padding: int | str) -> torch.nn.Module:
        torch.manual_seed(0)
        conv = torch.nn.Conv2d(1, 4, 3, padding=padding)
        return torch.nn.Sequential(conv, torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 28 * 28, 10)).eval()

    numbered, same = net(1), net("same")  # the same function and weights: a 3x3 kernel, stride 1
    recipe = eifbench.FineTune(lr=1e-3)
    stimuli, probes = images[:3], images[:5]
    expected, got = (
        eifbench.influence(eifbench.ClassifierAdapter(m), stimuli, probes, engine="first-order", finetune=recipe).matrix
        for m in (numbered, same)
    )
    torch.testing.assert_close(got, expected, atol=1e-7, rtol=1e-4)


def test_first_order_falls_back_for_other_layers(images):
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 26 * 26, 10),
    ).eval()
    model = eifbench.ClassifierAdapter(net, name="bn-net")
    recipe = eifbench.FineTune(lr=1e-4)
    approx = eifbench.influence(model, images[:3], images[:5], engine="first-order", finetune=recipe).matrix
    exact = eifbench.influence(model, images[:3], images[:5], finetune=recipe).matrix
    assert float((approx - exact).norm() / exact.norm()) < 0.05


def test_finding_9_a_stale_gradient_neither_leaks_into_the_step_nor_is_lost(tiny_cnn, images):
    recipe = eifbench.FineTune(lr=0.1)
    clean = eifbench.influence(tiny_cnn, images[:3], images, finetune=recipe).matrix
    stale = [torch.full_like(p, 0.5) for p in tiny_cnn.module.parameters()]
    for p, g in zip(tiny_cnn.module.parameters(), stale):
        p.grad = g.clone()
    try:
        with_stale = eifbench.influence(tiny_cnn, images[:3], images, finetune=recipe).matrix
        assert torch.equal(with_stale, clean)  # the fused step used this stimulus's gradient only
        assert all(torch.equal(p.grad, g) for p, g in zip(tiny_cnn.module.parameters(), stale))  # and gave it back
    finally:
        tiny_cnn.module.zero_grad(set_to_none=True)


def test_train_mode_module_gives_eval_numbers_and_keeps_its_statistics():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(3136, 10),
    )
    with torch.no_grad():  # non-trivial running statistics, as after training
        net[1].running_mean.uniform_(-0.5, 0.5)
        net[1].running_var.uniform_(0.5, 2.0)
    model = eifbench.ClassifierAdapter(net, input_shape=(1, 28, 28), num_classes=10)
    stimuli = [eifbench.Example(torch.rand(1, 28, 28, generator=torch.Generator().manual_seed(1)), 3)]
    probes = [eifbench.Example(torch.rand(1, 28, 28, generator=torch.Generator().manual_seed(2)), 1)]
    net.eval()
    in_eval = eifbench.influence(model, stimuli, probes, paranoid=True).matrix
    net.train()
    before = checksum(net)
    in_train = eifbench.influence(model, stimuli, probes, paranoid=True).matrix
    assert torch.equal(in_train, in_eval)
    assert checksum(net) == before  # running_mean, running_var, num_batches_tracked untouched
    assert net.training and all(m.training for m in net.modules())  # its own mode given back
