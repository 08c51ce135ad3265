"""The float-noise floor follows the model's dtype: float64 models measure what float32 rounds away."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import eifbench
from eifbench.desiderata.base import Thresholds
from eifbench.desiderata.normalize import diagonal, learned, noise_of
from eifbench.stats import engine_noise

RECIPE = eifbench.FineTune(steps=2, lr=0.05)


def confident_classifier(dtype: torch.dtype) -> eifbench.ClassifierAdapter:
    """A linear classifier so sure of class 0 on its inputs that log p(0) is about -1.5e-5.

    That is how a trained CNN sees an image it has memorised: a fine-tune moves the log-prob
    by about 2e-10 nats, which float32 rounds to exactly 0 and float64 resolves.
    """
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    with torch.no_grad():
        net[1].weight.normal_(0, 0.1)
        net[1].bias.copy_(torch.tensor([12.0, 0.0, 0.0]))
    return eifbench.ClassifierAdapter(net.to(dtype), input_shape=(1, 4, 4), num_classes=3)


def examples() -> list[eifbench.Example]:
    generator = torch.Generator().manual_seed(1)
    return [eifbench.Example(torch.rand(1, 4, 4, generator=generator), 0) for _ in range(4)]


def test_a_float64_model_keeps_float64_influence_and_matches_a_deepcopy_loop():
    model = confident_classifier(torch.float64)
    items = examples()
    result = eifbench.influence(model, items, items, finetune=RECIPE)
    assert result.matrix.dtype == torch.float64 and result.baseline.dtype == torch.float64
    assert result.precision == torch.finfo(torch.float64).eps

    def readout(net: nn.Module) -> torch.Tensor:
        x = torch.stack([e.x for e in items]).double()
        return F.log_softmax(net(x), dim=-1)[:, 0]

    before = readout(model.module)
    rows = []
    for item in items:
        net = copy.deepcopy(model.module)
        optimizer = torch.optim.SGD(net.parameters(), lr=RECIPE.lr)
        for _ in range(RECIPE.steps):
            optimizer.zero_grad()
            F.cross_entropy(net(item.x[None].double()), torch.tensor([0])).backward()
            optimizer.step()
        rows.append(readout(net) - before)
    expected = torch.stack(rows).detach()
    assert float(expected.abs().max()) < 1e-9  # the regime float32 cannot see
    torch.testing.assert_close(result.matrix, expected, rtol=1e-9, atol=1e-24)


def test_a_memorised_image_is_learned_measurably_in_float64_and_not_in_float32():
    items = examples()
    seen = {}
    for dtype in (torch.float32, torch.float64):
        result = eifbench.influence(confident_classifier(dtype), items, items, finetune=RECIPE)
        self_influence = diagonal(result.matrix.double().numpy(), np.arange(len(items)))
        seen[dtype] = learned(self_influence, noise_of(result), Thresholds().measurable)
    assert not seen[torch.float32].any()  # float32: every self-influence is rounding
    assert seen[torch.float64].all()


@pytest.mark.parametrize(
    "dtype,ulps", [(torch.float64, 64), (torch.float32, 64), (torch.bfloat16, 4), (torch.float16, 4)]
)
def test_the_noise_floor_scales_with_the_coarsest_parameter_dtype(dtype, ulps):
    model = confident_classifier(torch.float32)
    model.module[1].bias.data = model.module[1].bias.data.to(dtype)  # one coarse tensor is enough
    eps = torch.finfo(dtype).eps if dtype != torch.float64 else torch.finfo(torch.float32).eps
    assert eifbench.adapters.base.precision_of(model.module) == pytest.approx(eps)
    baseline = np.array([0.0, -3.0])
    np.testing.assert_allclose(engine_noise(baseline, eps), ulps * eps * np.array([1.0, 4.0]))


def test_the_trained_cnns_load_in_float64_unless_the_spec_says_otherwise():
    from eifbench.zoo import parse_spec, spec_dtype

    assert spec_dtype(parse_spec("fashion-cnn")) == "float64"
    assert spec_dtype(parse_spec("mnist-cnn")) == "float64"
    assert spec_dtype(parse_spec("fashion-cnn,dtype=float32")) == "float32"
    assert spec_dtype(parse_spec("tiny-cnn")) == "float32"
    assert spec_dtype(parse_spec("hf:./anything")) == "float32"


def test_records_carry_the_dtype_so_a_float32_baseline_does_not_gate_a_float64_run():
    from eifbench.cases import RunOptions, cases_of
    from eifbench.catalog import load_catalog
    from eifbench.kinds import ModelKind
    from eifbench.pipeline import recipe_record
    from eifbench.zoo import parse_spec

    recipes = {}
    for text in ("mnist-cnn", "mnist-cnn,dtype=float32"):
        spec = parse_spec(text)
        options = RunOptions(models=(spec,))
        case = cases_of(options, load_catalog(None), {spec: ModelKind.CLASSIFIER})[0]
        recipes[text] = recipe_record(case, options)
    assert recipes["mnist-cnn"]["dtype"] == "float64"
    assert recipes["mnist-cnn,dtype=float32"]["dtype"] == "float32"
    assert {k: v for k, v in recipes["mnist-cnn"].items() if k != "dtype"} == {
        k: v for k, v in recipes["mnist-cnn,dtype=float32"].items() if k != "dtype"
    }
