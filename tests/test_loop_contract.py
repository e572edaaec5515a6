"""The training loop's contract, observed from outside through the public API only.

The loop is driven with harness.resolve_run / harness.train and parts registered under test names:
an optimiser that records every step it takes (which player, the parameters and their gradients),
a D loss that is identically zero (so D's gradient is the penalty's alone), and a network pair whose
gradients are known in closed form (G(z) = s z[:, :2] + b, D(x) = x . w + c). Nothing here imports
the loop's internals, which are free to move.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import harness
from harness.nets import NETS
from harness.parts import LOSSES, OPTIMIZERS, LossPair
from harness.rng import generator, normal

# The optimiser factory is called once per player with that player's learning rate; distinct rates
# tell the two apart without relying on the order of the calls.
LR_G, LR_D = 2e-3, 1e-3
W0 = (3.0, 4.0)  # ||w|| = 5
STEPS_LOG: list[tuple[str, list[torch.Tensor], list[torch.Tensor | None]]] = []
LR_LOG: list[tuple[str, float]] = []  # (player, learning rate) at every optimiser step


class RecordingSGD(torch.optim.SGD):
    """Plain SGD that logs (player, parameters before the step, their gradients) at every step."""

    def __init__(self, params, lr: float):
        super().__init__(params, lr=lr)
        self.player = {LR_G: "G", LR_D: "D"}[lr]

    @torch.no_grad()
    def step(self, closure=None):
        params = [p for group in self.param_groups for p in group["params"]]
        STEPS_LOG.append((self.player, [p.detach().clone() for p in params],
                          [None if p.grad is None else p.grad.detach().clone() for p in params]))
        LR_LOG.append((self.player, self.param_groups[0]["lr"]))
        return super().step(closure)


class AffineG(nn.Module):
    """G(z) = s * z[:, :2] + b."""

    def __init__(self, out_dim: int):
        super().__init__()
        self.s = nn.Parameter(torch.tensor(1.5))
        self.b = nn.Parameter(torch.zeros(out_dim))

    def forward(self, z):
        return self.s * z[:, :self.b.shape[0]] + self.b


class LinearD(nn.Module):
    """D(x) = x . w + c: grad_x D = w everywhere."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(W0))
        self.c = nn.Parameter(torch.tensor(0.0))

    def forward(self, x):
        return x @ self.w + self.c


OPTIMIZERS.register("test-recording", lambda params, lr, b1, b2: RecordingSGD(params, lr), replace=True)
LOSSES.register("test-zero-d", LossPair(d=lambda d_real, d_fake: 0.0 * (d_real.sum() + d_fake.sum()),
                                        g=lambda d_fake: -d_fake.mean()), replace=True)
NETS.register("test-affine-linear", lambda cfg, shape: (AffineG(shape[0]), LinearD()), replace=True)


@pytest.fixture
def steps_log():
    STEPS_LOG.clear()
    LR_LOG.clear()
    yield STEPS_LOG
    STEPS_LOG.clear()
    LR_LOG.clear()


def recorded(**overrides) -> dict:
    return {"optimizer": "test-recording", "lr_g": LR_G, "lr_d": LR_D, **overrides}


@pytest.mark.parametrize("n_dis, update", [(3, "alternating"), (2, "simultaneous")])
def test_d_steps_exactly_n_dis_times_per_g_step(tiny, steps_log, n_dis, update):
    spec = harness.resolve_run("vanilla", "ring8", 0, {**tiny, **recorded(n_dis=n_dis, update=update)})
    summary = harness.train(spec, None)
    assert summary["status"] == "completed"
    players = "".join(player for player, _, _ in steps_log)
    # the D steps of each iteration come first (README: with n_dis > 1 the extra D steps come first)
    assert players == ("D" * n_dis + "G") * tiny["steps"]


@pytest.mark.parametrize("schedule", ["constant", "linear"])
def test_learning_rate_schedule_counted_step_by_step(tiny, steps_log, schedule):
    # linear: both players' rate during G iteration t (1-based) of T is lr * (1 - (t - 1) / T), for
    # every one of its D steps too; constant: lr throughout.
    n_dis, steps = 2, tiny["steps"]
    spec = harness.resolve_run("vanilla", "ring8", 0, {**tiny, **recorded(n_dis=n_dis, lr_schedule=schedule)})
    assert harness.train(spec, None)["status"] == "completed"
    factors = [1.0 - (t - 1) / steps if schedule == "linear" else 1.0 for t in range(1, steps + 1)]
    expected = [(p, lr * f) for f in factors for p, lr in [("D", LR_D)] * n_dis + [("G", LR_G)]]
    assert [p for p, _ in LR_LOG] == [p for p, _ in expected]
    np.testing.assert_allclose([lr for _, lr in LR_LOG], [lr for _, lr in expected], rtol=1e-12, atol=0)
    if schedule == "linear":
        assert LR_LOG[-1][1] == pytest.approx(LR_G / steps)


@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
def test_the_loop_descends_the_gradient_penalty_of_a_linear_critic(tiny, steps_log, update):
    # With a zero D loss, D's gradient is lambda * d/dw (||grad_x D|| - 1)^2. For D(x) = x . w + c the
    # input gradient is w at every interpolate, so it is lambda * 2 (||w|| - 1) w / ||w|| at every D
    # step, and 0 for c: the loop adds the penalty (a subtracted or negated penalty flips the sign,
    # ||grad||^2 gives lambda * 2 w). Plain SGD then shrinks ||w|| = 5 towards 1 step by step.
    lam, n_dis = 10.0, 2
    spec = harness.resolve_run("wgan-gp", "ring8", 0, {**tiny, **recorded(
        arch="test-affine-linear", loss="test-zero-d", penalty="gp", penalty_weight=lam, constraint="none",
        n_dis=n_dis, update=update)})
    assert harness.train(spec, None)["status"] == "completed"
    d_steps = [(params, grads) for player, params, grads in steps_log if player == "D"]
    assert len(d_steps) == n_dis * tiny["steps"]
    norms = []
    for (w, c), (grad_w, grad_c) in d_steps:
        w = w.double()
        norm = w.norm()
        torch.testing.assert_close(grad_w.double(), lam * 2 * (norm - 1) * w / norm, rtol=1e-5, atol=1e-6)
        assert grad_c is None or grad_c.item() == 0.0
        norms.append(norm.item())
    assert norms[0] == pytest.approx(5.0)
    assert all(1.0 < b < a for a, b in zip(norms, norms[1:]))


def test_final_samples_are_g_of_the_latent_bank_drawn_from_the_eval_stream(tiny, tmp_path):
    # The evaluation bank is a pure function of (seed, "eval"): n_eval x z_dim standard normals from
    # that stream, whatever training drew. With G(z) = s z[:, :2] + b the final samples are known
    # exactly from the checkpoint's s and b.
    seed = 3
    spec = harness.resolve_run("vanilla", "ring8", seed, {**tiny, "arch": "test-affine-linear"})
    assert harness.train(spec, tmp_path)["status"] == "completed"
    g = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["G"]
    assert g["s"].item() != 1.5  # G did train
    z = normal((tiny["n_eval"], spec.config.z_dim), generator(seed, "eval"))
    want = (g["s"] * z[:, :2] + g["b"]).numpy()
    samples = np.load(tmp_path / "samples.npy")
    assert samples.shape == (tiny["n_eval"], 2)
    np.testing.assert_allclose(samples, want, rtol=1e-6, atol=1e-6)
