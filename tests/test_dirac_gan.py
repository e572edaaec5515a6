"""Dirac-GAN (Mescheder et al. 2018): generator delta_theta, critic D(x) = psi x, data delta_0.

With the WGAN loss and plain gradient descent, simultaneous updates spiral outward (the norm grows by
sqrt(1 + h^2) per step), alternating updates stay on a bounded orbit (|lambda| = 1), and a zero-centred
R1 penalty converges. This checks the loss pair, the penalty and both update schemes of the real loop.
"""
import math

import numpy as np
import pytest
import torch
from torch import nn

from harness.data import DATASETS, Dataset, Evaluator
from harness.nets import NETS
from harness.runs import load_history
from harness.trainer import resolve_run, train

H = 0.1
THETA0, PSI0 = 1.0, 0.0


class DiracData(Dataset):
    name, shape = "test-dirac", (1,)

    def sample(self, n, gen):
        return torch.zeros(n, 1)

    def evaluator(self, n_eval, **_):
        return DiracEval()


class DiracEval(Evaluator):
    metrics = ("theta",)

    def check_samples(self, s):
        return np.asarray(s)

    def evaluate(self, s):
        return {"theta": float(np.asarray(s).mean())}


class Theta(nn.Module):
    def __init__(self):
        super().__init__()
        self.theta = nn.Parameter(torch.tensor(THETA0))

    def forward(self, z):
        return self.theta.expand(z.shape[0], 1)


class Psi(nn.Module):
    def __init__(self):
        super().__init__()
        self.psi = nn.Parameter(torch.tensor(PSI0))

    def forward(self, x):
        return self.psi * x.squeeze(-1)


DATASETS.register("test-dirac", lambda **_: DiracData(), replace=True)
NETS.register("test-dirac", lambda cfg, shape: (Theta(), Psi()), replace=True)


def _trajectory(tmp_path, **overrides):
    cfg = {"arch": "test-dirac", "optimizer": "sgd", "lr_g": H, "lr_d": H, "loss": "wasserstein", "n_dis": 1,
           "steps": 100, "log_every": 1, "eval_every": 0, "batch_size": 4, "n_eval": 4, "z_dim": 1, **overrides}
    train(resolve_run("wgan", "test-dirac", 0, {"constraint": "none", **cfg}), tmp_path)
    ck = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    return ck["G"]["theta"].item(), ck["D"]["psi"].item()


def test_simultaneous_gradient_descent_spirals_outward(tmp_path):
    theta, psi = _trajectory(tmp_path, update="simultaneous")
    expected = math.hypot(THETA0, PSI0) * (1 + H ** 2) ** (100 / 2)
    assert math.hypot(theta, psi) == pytest.approx(expected, rel=1e-4)


def test_alternating_gradient_descent_stays_on_a_bounded_orbit(tmp_path):
    theta, psi = _trajectory(tmp_path, update="alternating")
    r = math.hypot(theta, psi)
    assert 0.8 < r < 1.25  # neither spirals out (2.7x) nor converges
    h = load_history(tmp_path)
    assert h["loss_g"].abs().max() > 0.5  # keeps oscillating


def test_zero_centred_r1_penalty_converges(tmp_path):
    theta, psi = _trajectory(tmp_path, update="simultaneous", penalty="r1", penalty_weight=1.0, steps=400)
    assert math.hypot(theta, psi) < 0.05
