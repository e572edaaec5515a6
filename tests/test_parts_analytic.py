"""The parts a variant is made of, against closed-form answers.

Loss pairs at hand-picked logits (softplus values written out with math.log1p/exp), the gradient
penalty and R1 of critics whose input gradient is known (linear: w; quadratic: x), weight clipping,
spectral normalisation against torch.linalg.matrix_norm, and the input-gradient probe. Every part is
taken from its public registry (harness.parts) by the name a variant uses, so a registration that
points at the wrong function fails here too.
"""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from harness import probes
from harness.parts import CONSTRAINTS, LOSSES, PENALTIES


def t(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# ----------------------------------------------------------------------------------------- losses
D_REAL, D_FAKE = (2.0, -1.0, 0.0), (-3.0, 1.0, 0.5)


def mean(values) -> float:
    return sum(values) / len(values)


def test_bce_discriminator_loss_of_both_gan_pairs_is_softplus_on_logits():
    # -log sigmoid(r) = softplus(-r); -log(1 - sigmoid(f)) = softplus(f)
    want = mean([softplus(-r) for r in D_REAL]) + mean([softplus(f) for f in D_FAKE])
    for name in ("nonsaturating", "saturating"):
        assert LOSSES.get(name).d(t(*D_REAL), t(*D_FAKE)).item() == pytest.approx(want, rel=1e-12), name
    assert LOSSES.get("nonsaturating").d(t(0.0), t(0.0)).item() == pytest.approx(2 * math.log(2), rel=1e-12)


def test_generator_losses_closed_form():
    f = t(*D_FAKE)
    # non-saturating: -E log sigmoid(f) = E softplus(-f); saturating: E log(1 - sigmoid(f)) = -E softplus(f)
    assert LOSSES.get("nonsaturating").g(f).item() == pytest.approx(mean([softplus(-x) for x in D_FAKE]), rel=1e-12)
    assert LOSSES.get("saturating").g(f).item() == pytest.approx(-mean([softplus(x) for x in D_FAKE]), rel=1e-12)
    assert LOSSES.get("wasserstein").g(f).item() == pytest.approx(-mean(D_FAKE), rel=1e-12)
    assert LOSSES.get("hinge").g(f).item() == pytest.approx(-mean(D_FAKE), rel=1e-12)


def g_loss_gradient(name: str, logit: float) -> float:
    f = t(logit).requires_grad_(True)
    LOSSES.get(name).g(f).backward()
    return f.grad.item()


def test_non_saturating_generator_gradient_stays_strong_where_d_rejects_the_fakes():
    # At logit -5 (D is sure the sample is fake) both G losses push the logit up (negative gradient):
    #   non-saturating d/df softplus(-f) = -sigmoid(-f) = -sigmoid(5)  = -0.9933  (strong)
    #   saturating     d/df -softplus(f) = -sigmoid(f)  = -sigmoid(-5) = -0.0067  (vanishing)
    # At logit +5 (D is fooled) it is the other way round.
    assert g_loss_gradient("nonsaturating", -5.0) == pytest.approx(-sigmoid(5.0), rel=1e-12)
    assert g_loss_gradient("saturating", -5.0) == pytest.approx(-sigmoid(-5.0), rel=1e-12)
    assert g_loss_gradient("nonsaturating", 5.0) == pytest.approx(-sigmoid(-5.0), rel=1e-12)
    assert g_loss_gradient("saturating", 5.0) == pytest.approx(-sigmoid(5.0), rel=1e-12)


def test_wasserstein_critic_loss_is_the_negated_mean_gap():
    got = LOSSES.get("wasserstein").d(t(*D_REAL), t(*D_FAKE)).item()
    assert got == pytest.approx(mean(D_FAKE) - mean(D_REAL), rel=1e-12)  # 1/6 - 1/3 = -1/6


@pytest.mark.parametrize("d_real, d_fake, want", [
    ((0.5,), (-0.5,), 1.0),  # relu(1 - 0.5) + relu(1 - 0.5): both inside the margin
    ((2.0,), (-2.0,), 0.0),  # both beyond the margin: no loss
    ((1.0,), (-1.0,), 0.0),  # exactly on the margin
    ((0.0,), (0.0,), 2.0),
    ((0.5, 3.0), (-0.5, 0.0), 0.25 + 0.75),  # mean(0.5, 0) + mean(0.5, 1)
    ((-1.0,), (2.0,), 2.0 + 3.0),
])
def test_hinge_discriminator_loss_has_margin_one(d_real, d_fake, want):
    assert LOSSES.get("hinge").d(t(*d_real), t(*d_fake)).item() == pytest.approx(want, abs=1e-12)


# ----------------------------------------------------------------------------------------- penalties
class LinearCritic(nn.Module):
    """D(x) = x . w + b: grad_x D = w at every point."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(t(*w))
        self.b = nn.Parameter(t(0.7))

    def forward(self, x):
        return x @ self.w + self.b


class QuadraticCritic(nn.Module):
    """D(x) = 0.5 ||x||^2 per sample: grad_x D = x, so ||grad|| = ||x||."""

    def forward(self, x):
        return 0.5 * x.pow(2).sum(1)


def batches(n: int = 7, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, generator=g, dtype=torch.float64), 3 * torch.randn(n, 2, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("w", [(3.0, 4.0), (0.3, 0.4), (-1.0, 2.0)])
def test_gradient_penalty_of_a_linear_critic_is_norm_minus_one_squared_with_its_closed_form_gradient(w):
    # ||grad_x D|| = ||w|| at every interpolate, so GP = (||w|| - 1)^2 whatever the draws, and
    # d GP / d w = 2 (||w|| - 1) w / ||w||: it shrinks w when ||w|| > 1 and grows it when ||w|| < 1.
    d = LinearCritic(w)
    real, fake = batches()
    norm = math.hypot(*w)
    pen = PENALTIES.get("gp")(d, real, fake, torch.Generator().manual_seed(1))
    assert pen.item() == pytest.approx((norm - 1) ** 2, rel=1e-12)
    pen.backward()
    want = [2 * (norm - 1) * wi / norm for wi in w]
    assert d.w.grad.tolist() == pytest.approx(want, rel=1e-12)
    assert d.b.grad is None or d.b.grad.item() == 0.0


def test_gradient_penalty_is_one_sided_around_norm_one_not_the_squared_norm():
    # D(x) = 0.5 ||x||^2 with real = fake: every interpolate is the point itself, whatever the draw,
    # and ||grad|| = ||x||. Rows of norm 5, 0.5, 1 and 0: GP = ((5-1)^2 + (0.5-1)^2 + 0 + 1) / 4 = 17.25 / 4.
    x = t(3.0, 4.0, 0.0, 0.5, 1.0, 0.0, 0.0, 0.0).reshape(4, 2)
    pen = PENALTIES.get("gp")(QuadraticCritic(), x, x.clone(), torch.Generator().manual_seed(0))
    assert pen.item() == pytest.approx(17.25 / 4, rel=1e-12)  # ||grad||^2 would give 26.25 / 4


def test_r1_is_half_the_mean_squared_input_gradient_on_real_points_only():
    # R1 = (1/2) E_real ||grad_x D||^2. Quadratic critic, real rows of norm 5, 0.5, 1: (25 + 0.25 + 1) / 6
    real = t(3.0, 4.0, 0.0, 0.5, 1.0, 0.0).reshape(3, 2)
    fake = 10 * torch.ones(3, 2, dtype=torch.float64)
    pen = PENALTIES.get("r1")(QuadraticCritic(), real, fake, torch.Generator().manual_seed(0))
    assert pen.item() == pytest.approx(26.25 / 6, rel=1e-12)
    d = LinearCritic((3.0, 4.0))  # 0.5 ||w||^2 = 12.5, gradient w.r.t. w: w
    pen = PENALTIES.get("r1")(d, real, fake, torch.Generator().manual_seed(0))
    assert pen.item() == pytest.approx(12.5, rel=1e-12)
    pen.backward()
    assert d.w.grad.tolist() == pytest.approx([3.0, 4.0], rel=1e-12)


# The parts added for the stabilizer zoo (issue 19): each against a known answer, and beside it the
# plausible mistake (a mutant) that the same check tells apart from the part.
def one_sided_answer(pen) -> bool:
    """Quadratic critic, real = fake = rows of norm 5, 0.5, 1, 0: the one-sided penalty is
    (5 - 1)^2 / 4 = 4 (norms below 1 cost nothing); the two-sided (WGAN-GP) one 17.25 / 4."""
    x = t(3.0, 4.0, 0.0, 0.5, 1.0, 0.0, 0.0, 0.0).reshape(4, 2)
    return pen(QuadraticCritic(), x, x.clone(), torch.Generator().manual_seed(0)).item() == pytest.approx(4.0, rel=1e-12)


def test_wgan_lp_penalises_only_gradient_norms_above_one():
    assert one_sided_answer(PENALTIES.get("lp"))
    assert not one_sided_answer(PENALTIES.get("gp"))  # the mutant: two-sided
    for w, want in (((0.3, 0.4), 0.0), ((3.0, 4.0), 16.0)):  # linear critic: ||grad|| = ||w|| everywhere
        d = LinearCritic(w)
        real, fake = batches()
        pen = PENALTIES.get("lp")(d, real, fake, torch.Generator().manual_seed(1))
        assert pen.item() == pytest.approx(want, abs=1e-12)
        pen.backward()
        assert d.w.grad.tolist() == pytest.approx([0.0, 0.0] if want == 0 else [2 * 4 * 3 / 5, 2 * 4 * 4 / 5])


def r2_answer(pen) -> bool:
    """R2 = (1/2) E_fake ||grad_x D||^2: quadratic critic, fake rows of norm 5, 0.5, 1, real far away."""
    fake = t(3.0, 4.0, 0.0, 0.5, 1.0, 0.0).reshape(3, 2)
    real = 10 * torch.ones(3, 2, dtype=torch.float64)
    return pen(QuadraticCritic(), real, fake, torch.Generator().manual_seed(0)).item() == pytest.approx(26.25 / 6)


def test_r2_is_half_the_mean_squared_input_gradient_on_fake_points_only():
    assert r2_answer(PENALTIES.get("r2"))
    assert not r2_answer(PENALTIES.get("r1"))  # the mutant: on the real points


def dragan_reference(x: torch.Tensor, seed: int, correction: int = 0, c: float = 0.5) -> float:
    """DRAGAN by hand (kodalinaveen3/DRAGAN): x_p = x + 0.5 std(x) u, u ~ U[0, 1) per element (numpy's
    population std over the batch's elements), x_hat = x + a (x_p - x), a ~ U[0, 1) per sample; the
    quadratic critic's gradient at x_hat is x_hat itself. Draws in the part's order: u, then a."""
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(x.shape, generator=g, dtype=torch.float32).double()
    a = torch.rand((x.shape[0], 1), generator=g, dtype=torch.float32).double()
    x_hat = x + a * (c * x.std(correction=correction) * u)
    return ((x_hat.norm(dim=1) - 1.0) ** 2).mean().item()


def test_dragan_penalises_gradient_norms_around_the_real_data_not_towards_the_fakes():
    real, fake = batches(9)
    pen = PENALTIES.get("dragan")
    got = pen(QuadraticCritic(), real, fake, torch.Generator().manual_seed(3)).item()
    assert got == pytest.approx(dragan_reference(real, 3), rel=1e-6)
    # the fakes play no part: any fake batch gives the same value with the same draws
    assert pen(QuadraticCritic(), real, 100 * fake, torch.Generator().manual_seed(3)).item() == got
    # the mutants: WGAN-GP's interpolates towards the fakes; a sample std (ddof 1) instead of numpy's;
    # no perturbation (the penalty at the data points themselves)
    assert PENALTIES.get("gp")(QuadraticCritic(), real, fake, torch.Generator().manual_seed(3)).item() != \
        pytest.approx(got, rel=1e-3)
    assert dragan_reference(real, 3, correction=1) != pytest.approx(got, rel=1e-6)
    assert dragan_reference(real, 3, c=0.0) != pytest.approx(got, rel=1e-3)


def test_least_squares_losses_pull_real_scores_to_one_and_fake_to_zero_and_g_to_one():
    pair = LOSSES.get("least_squares")
    # D: 0.5 mean((r - 1)^2) + 0.5 mean(f^2); G: 0.5 mean((f - 1)^2)
    want_d = 0.5 * mean([(r - 1) ** 2 for r in D_REAL]) + 0.5 * mean([f ** 2 for f in D_FAKE])
    assert pair.d(t(*D_REAL), t(*D_FAKE)).item() == pytest.approx(want_d, rel=1e-12)  # (2 + 1 + 1) / 6 + ...
    assert pair.g(t(*D_FAKE)).item() == pytest.approx(0.5 * mean([(f - 1) ** 2 for f in D_FAKE]), rel=1e-12)
    assert pair.d(t(1.0, 1.0), t(0.0, 0.0)).item() == 0.0 and pair.g(t(1.0)).item() == 0.0  # the optimum
    # the mutant that codes G's target as the fake label 0 (D's target for fakes) instead of 1
    assert g_loss_gradient("least_squares", 0.0) == pytest.approx(-1.0)  # d/df 0.5 (f - 1)^2 at 0: pushes f up


def test_no_penalty_is_none():
    real, fake = batches()
    assert PENALTIES.get("none")(LinearCritic((1.0, 1.0)), real, fake, torch.Generator()) is None


# ----------------------------------------------------------------------------------------- constraints
def test_clip_puts_every_d_parameter_in_the_box_and_leaves_the_inside_untouched():
    c = 0.05
    d = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.2), nn.Linear(4, 1)).double()  # c exact in float64
    with torch.no_grad():
        for p in d.parameters():
            p.copy_(torch.linspace(-0.2, 0.2, p.numel(), dtype=torch.float64).reshape(p.shape))
    before = [p.detach().clone() for p in d.parameters()]
    CONSTRAINTS.get("clip").after_step(d, c)
    for p, old in zip(d.parameters(), before):
        assert p.abs().max().item() <= c
        inside = old.abs() <= c
        assert torch.equal(p[inside], old[inside])  # untouched, bit for bit
        assert torch.equal(p[~inside], c * old[~inside].sign())  # the rest on the boundary
    assert any((old.abs() > c).any() for old in before) and any((old.abs() <= c).any() for old in before)


def test_the_none_constraint_changes_nothing():
    d = nn.Linear(2, 2)
    before = [p.detach().clone() for p in d.parameters()]
    assert CONSTRAINTS.get("none").on_build(d) is d
    CONSTRAINTS.get("none").after_step(d, 1e-3)
    assert all(torch.equal(p, old) for p, old in zip(d.parameters(), before))


def test_spectral_norm_divides_each_weight_by_its_largest_singular_value():
    torch.manual_seed(0)
    d = CONSTRAINTS.get("spectral_norm").on_build(
        nn.Sequential(nn.Linear(3, 16), nn.LeakyReLU(0.2), nn.Linear(16, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1)))
    layers = [m for m in d if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for m in layers:  # weights far from norm 1, so normalisation has work to do
            m.parametrizations.weight.original.mul_(5.0)
    x = torch.randn(8, 3)
    for _ in range(50):  # one power iteration per training-mode forward
        d(x)
    d.eval()  # no further iteration: read the weight D uses
    for m in layers:
        w, original = m.weight.detach().double(), m.parametrizations.weight.original.detach().double()
        sigma = torch.linalg.matrix_norm(original, ord=2).item()
        assert sigma > 2.0
        assert torch.linalg.matrix_norm(w, ord=2).item() == pytest.approx(1.0, abs=1e-4)
        torch.testing.assert_close(w, original / sigma, rtol=1e-4, atol=1e-6)


# ----------------------------------------------------------------------------------------- probes
def test_input_gradient_probe_measures_real_and_fake_points_separately():
    # D(x) = 0.5 ||x||^2: ||grad_x D|| = ||x||, D(x) = ||x||^2 / 2.
    # real norms 0.5, 2, 3:  mean 5.5 / 3, above 1: 2 of 3, mean D = (0.25 + 4 + 9) / 6
    # fake norms 4, 0.5, 0.2: mean 4.7 / 3, above 1: 1 of 3, mean D = (16 + 0.25 + 0.04) / 6
    real = torch.tensor([[0.3, 0.4], [0.0, 2.0], [-3.0, 0.0]])
    fake = torch.tensor([[0.0, -4.0], [0.5, 0.0], [0.12, 0.16]])
    s = probes.input_gradient_stats(QuadraticCritic(), real, fake, torch.Generator().manual_seed(0))
    assert s["input_grad_real"] == pytest.approx(5.5 / 3, rel=1e-6)
    assert s["input_grad_fake"] == pytest.approx(4.7 / 3, rel=1e-6)
    assert s["input_grad_frac_gt1_real"] == pytest.approx(2 / 3)
    assert s["input_grad_frac_gt1_fake"] == pytest.approx(1 / 3)
    assert s["d_real"] == pytest.approx(13.25 / 6, rel=1e-6)
    assert s["d_fake"] == pytest.approx(16.29 / 6, rel=1e-6)
    assert s["critic_gap"] == pytest.approx((13.25 - 16.29) / 6, rel=1e-6)
    # interpolates a x_r + (1 - a) x_g: by convexity each norm is at most max(||x_r||, ||x_g||)
    assert 0 <= s["input_grad_interp"] <= (4 + 2 + 3) / 3 + 1e-6


# ----------------------------------------------------------------------------------------- instance noise
def test_instance_noise_shows_d_real_and_fake_plus_sigma_times_the_penalty_streams_normals():
    """A counted D step and G step (Sonderby et al. 2017): D sees x + sigma eps_r and G(z) + sigma eps_f,
    eps from the run's penalty stream in that order; G's step shows D G(z) + sigma eps. The mutants
    (noise on one side only, or sigma^2 for sigma) give other inputs."""
    from harness.rng import generator
    from harness.trainer import resolve_run, setup

    sigma, b = 0.5, 6
    spec = resolve_run("vanilla", "ring8", 3, {"instance_noise": sigma, "batch_size": b, "steps": 2, "g_hidden": 8,
                                               "d_hidden": 8, "n_eval": 100})
    state = setup(spec, torch.device("cpu")).state
    x, fake = torch.randn(b, 2), torch.randn(b, 2)
    state.real = lambda: x
    G = state.G
    state.generate_fake = lambda z: fake + 0.0 * G(z)  # G's values, with G's graph for its step
    seen = []
    state.D.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach().clone()))
    state.step = 1
    state.d_step(probe=False)
    state.g_step(probe=False)
    g = generator(3, "penalty")
    eps = [torch.randn((b, 2), generator=g) for _ in range(3)]
    assert len(seen) == 3
    torch.testing.assert_close(seen[0], x + sigma * eps[0])  # D step: real, then fake
    torch.testing.assert_close(seen[1], fake + sigma * eps[1])
    torch.testing.assert_close(seen[2], fake + sigma * eps[2])  # G step: fake only
    assert not torch.allclose(seen[0], x) and not torch.allclose(seen[1], fake + sigma ** 2 * eps[1])


def test_no_instance_noise_by_default_and_the_config_record_is_unchanged():
    from harness.trainer import resolve_run

    spec = resolve_run("vanilla", "ring8", 0, {})
    assert spec.config.instance_noise == 0.0 and "instance_noise" not in spec.to_dict()["config"]
    assert "instance_noise" in resolve_run("vanilla", "ring8", 0, {"instance_noise": 0.1}).to_dict()["config"]
