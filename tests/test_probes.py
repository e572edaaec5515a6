import numpy as np
import pytest
import torch
from torch import nn

from harness import probes
from harness.parts.constraints import spectral_norm_all


def test_grad_norms_total_and_per_layer():
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    for p in net.parameters():
        p.grad = torch.ones_like(p)  # layer 0: 4 + 2 entries; layer 2: 2 + 1
    out = probes.grad_norms(net, "g")
    assert out["g/0"] == pytest.approx(np.sqrt(6))
    assert out["g/2"] == pytest.approx(np.sqrt(3))
    assert out["g"] == pytest.approx(3.0)


def test_layer_names_of_spectral_norm_parameters():
    assert probes.layer_name("net.0.parametrizations.weight.original") == "net.0"
    assert probes.layer_name("net.0.bias") == "net.0"


class Linear1(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(w))

    def forward(self, x):
        return x @ self.w


def test_input_gradient_of_a_linear_critic_is_its_weight_norm():
    d = Linear1([3.0, 4.0])
    real = torch.randn(50, 2, generator=torch.Generator().manual_seed(0))
    fake = real + 1
    s = probes.input_gradient_stats(d, real, fake, torch.Generator().manual_seed(1))
    for name in ("real", "fake", "interp"):
        assert s[f"input_grad_{name}"] == pytest.approx(5.0)
        assert s[f"input_grad_frac_gt1_{name}"] == 1.0
    assert s["critic_gap"] == pytest.approx(-7.0)  # D(real) - D(real + 1) = -(3 + 4)
    assert d.w.grad is None  # probes do not leave gradients on D


def test_singular_values_are_exact():
    lin = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[3.0, 0.0], [0.0, -2.0]]))
    out = probes.singular_values(nn.Sequential(lin))
    assert out == {"sigma_max/0": pytest.approx(3.0)}


def test_probes_leave_spectral_norm_state_untouched():
    torch.manual_seed(0)
    d = spectral_norm_all(nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1)))
    before = {k: v.clone() for k, v in d.state_dict().items()}
    x = torch.randn(16, 2)
    probes.input_gradient_stats(d, x, x + 0.5, torch.Generator().manual_seed(0))
    probes.singular_values(d)
    assert d.training
    for k, v in d.state_dict().items():
        assert torch.equal(v, before[k]), k
