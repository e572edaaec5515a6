"""Dirac-GAN (Mescheder et al. 2018): generator delta_theta, critic D(x) = psi x, data delta_0.

With the WGAN loss and plain gradient descent, simultaneous updates spiral outward (the norm grows by
sqrt(1 + h^2) per step), alternating updates stay on a bounded orbit (|lambda| = 1), and a zero-centred
R1 penalty converges. This checks the loss pair, the penalty and both update schemes of the real loop.
"""
import json
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


# ----------------------------------------------------------------------------- the convergence table
@pytest.fixture(scope="module")
def table():
    from harness import dirac

    return dirac.dirac_table()


def test_the_loops_update_jacobian_matches_the_closed_form_in_every_differentiable_row(table):
    """Issue 19: the measured eigenvalues (central differences of the harness's own update map) equal
    the closed form's to 1e-6 in every row where the update is differentiable at the equilibrium."""
    from harness import dirac

    smooth = [r for r in table if "jacobian" in r]
    assert len(smooth) >= 10 and {r["method"] for r in table if "jacobian" not in r} == {
        m.name for m in dirac.METHODS if not m.smooth}
    for r in smooth:
        assert r["max_abs_error"] < 1e-6, r["method"]
        np.testing.assert_allclose(r["eigenvalues"], r["eigenvalues_closed"], atol=1e-6)


def test_closed_forms_known_values():
    """h = 0.2. Simultaneous GD on the GAN (a = 1/2): eigenvalues 1 +- 0.1i, radius sqrt(1.01);
    alternating: determinant 1 (radius 1, an orbit); with R1 gamma = 1, simultaneous: a double
    eigenvalue 0.9 ((1 - x)(0.8 - x) + 0.01 = (x - 0.9)^2)."""
    from harness.dirac import closed_form

    base = {"lr_g": 0.2, "lr_d": 0.2, "loss": "nonsaturating", "n_dis": 1, "update": "simultaneous",
            "penalty": "none", "penalty_weight": 0.0}
    ev = np.linalg.eigvals(closed_form(base))
    assert sorted(ev.imag) == pytest.approx([-0.1, 0.1]) and np.abs(ev) == pytest.approx([math.sqrt(1.01)] * 2)
    alt = closed_form({**base, "update": "alternating", "n_dis": 5, "loss": "wasserstein"})
    assert np.linalg.det(alt) == pytest.approx(1.0) and np.abs(np.linalg.eigvals(alt)) == pytest.approx([1.0, 1.0])
    r1 = closed_form({**base, "penalty": "r1", "penalty_weight": 1.0})
    assert np.linalg.eigvals(r1) == pytest.approx([0.9, 0.9], abs=1e-6)
    # consensus, gamma 1, on the GAN: I + h (M - M^T M), M^T M = a^2 I: eigenvalues 1 - 0.05 +- 0.1i
    cons = closed_form({**base, "update": "consensus", "consensus_weight": 1.0})
    assert sorted(np.linalg.eigvals(cons), key=lambda z: z.imag) == pytest.approx([0.95 - 0.1j, 0.95 + 0.1j])
    # extragradient: I + hM + h^2 M^2 with hM = [[0, 0.1], [-0.1, 0]]: eigenvalues 1 - 0.01 +- 0.1i
    eg = closed_form({**base, "update": "extragradient"})
    assert sorted(np.linalg.eigvals(eg), key=lambda z: z.imag) == pytest.approx([0.99 - 0.1j, 0.99 + 0.1j])
    # optimistic, in (x, previous step): lambda^2 - (1 + 2 h mu) lambda + h mu = 0 for h mu = +-0.1i,
    # i.e. lambda = (1 + 0.2i +- sqrt(0.96)) / 2 and its conjugates
    og = np.linalg.eigvals(closed_form({**base, "update": "optimistic"}))
    r = math.sqrt(0.96)
    want = [(1 + r) / 2 + 0.1j, (1 - r) / 2 + 0.1j, (1 + r) / 2 - 0.1j, (1 - r) / 2 - 0.1j]
    key = lambda z: (round(z.imag, 9), z.real)  # noqa: E731
    assert sorted(og, key=key) == pytest.approx(sorted(want, key=key))


def test_every_outcome_matches_the_papers_verdict(table):
    """Mescheder et al. 2018: unregularised GAN and WGAN (simultaneous or alternating) and WGAN-GP do
    not converge on the Dirac-GAN; zero-centred penalties (R1, R2) and instance noise do, and so does
    consensus optimisation (Mescheder et al. 2017)."""
    judged = [r for r in table if r["paper"] != "-"]
    assert len(judged) >= 10 and all(r["agrees"] == "yes" for r in judged), \
        [(r["method"], r["outcome"], r["paper"]) for r in judged if r["agrees"] != "yes"]
    outcome = {r["method"]: r["outcome"] for r in table}
    assert outcome["WGAN, simultaneous"] == "diverges"  # radius 1.0198 > 1: spirals out
    assert outcome["GAN + R1 (gamma 1), alternating"] == "converges"
    assert outcome["WGAN, alternating"] == "oscillates"
    assert outcome["GAN + instance noise (sigma 1), alternating"] == "converges"
    assert outcome["GAN, alternating"] == "oscillates"  # the same without the noise
    assert outcome["GAN, consensus optimisation (gamma 1)"] == "converges"
    for update in ("extragradient (2,000 steps)", "optimistic (2,000 steps)"):
        assert outcome[f"GAN, {update}"] == "converges"
    assert outcome["WGAN, extragradient"] == outcome["WGAN, optimistic"] == "converges"


def test_a_flipped_r1_sign_is_caught_by_the_table():
    """The mutant: R1 with its sign flipped rewards steep D; the measured Jacobian no longer matches
    the closed form (the closed form knows R1's curvature), and the run no longer converges."""
    from harness import dirac
    from harness.parts import PENALTIES
    from harness.parts.penalties import batched, r1_penalty

    PENALTIES.register("r1", batched(lambda d, real, fake, gen: -r1_penalty(d, real, fake, gen)), replace=True)
    try:
        (row,) = dirac.dirac_table([m for m in dirac.METHODS if m.name == "GAN + R1 (gamma 1), simultaneous"])
    finally:
        PENALTIES.register("r1", r1_penalty, replace=True)
    assert row["max_abs_error"] > 0.1 and row["outcome"] != "converges"


@pytest.mark.parametrize("update,mutant", [("extragradient", "steps from the extrapolated point"),
                                            ("optimistic", "plain steps")])
def test_a_broken_extragradient_or_optimistic_step_is_caught_by_the_table(monkeypatch, update, mutant):
    """The mutants: extragradient that forgets to go back to its starting point (two plain
    simultaneous steps, J = (I + hM)^2), and optimistic steps without the correction (plain
    simultaneous steps): neither Jacobian matches the closed form, and neither converges."""
    import torch

    from harness import dirac, trainer

    if update == "extragradient":
        original = torch.Tensor.copy_

        def no_restore(self, src, *a, **k):  # the restore is the only copy_ of parameters in the step
            if isinstance(self, torch.nn.Parameter):
                return self
            return original(self, src, *a, **k)

        monkeypatch.setattr(torch.Tensor, "copy_", no_restore)
    else:
        monkeypatch.setattr(trainer._State, "step_optimizer", lambda self, opt: opt.step())
    (row,) = dirac.dirac_table([m for m in dirac.METHODS if m.name == f"WGAN, {update}"])
    assert row["max_abs_error"] > 0.01 and row["outcome"] != "converges", (mutant, row["max_abs_error"])


def test_a_first_order_unrolling_is_caught_by_the_table(monkeypatch):
    """Metz et al. 2017 differentiate through the unrolled D steps. Without that path (each unrolled
    step's gradient detached: the usual shortcut) G's step loses the 2 h^2 a^2 S_u theta term of the
    closed form, and the measured Jacobian no longer matches it."""
    from harness import dirac, unroll

    step = unroll._step
    monkeypatch.setattr(unroll, "_step", lambda kind, group, p, g, slot: step(kind, group, p, g.detach(), slot))
    (row,) = dirac.dirac_table([m for m in dirac.METHODS if m.name == "WGAN, unrolled (5 steps), alternating"])
    assert row["max_abs_error"] > 0.05, row["max_abs_error"]


@pytest.mark.slow
def test_run_suite_dirac_writes_the_table_figure_and_json(tmp_path, capsys):
    from harness import cli

    assert cli.main(["run", "--suite", "dirac", "--report-out", str(tmp_path / "d")]) == 0
    md = (tmp_path / "d" / "dirac.md").read_text()
    assert md.splitlines()[2].startswith("Found, of 23 methods trained by the harness's own loop: 13 converge (GAN + R1")
    assert "| WGAN, simultaneous | 1.0000 - 0.2000i, 1.0000 + 0.2000i |" in md
    assert (tmp_path / "d" / "dirac.png").read_bytes()[:4] == b"\x89PNG"
    rows = json.loads((tmp_path / "d" / "dirac.json").read_text())["rows"]
    assert len(rows) == 23 and len(rows[0]["trajectory"]) == 121  # 600 steps, every 5th point
    assert {r["method"]: len(r["trajectory"]) for r in rows}["GAN, extragradient (2,000 steps)"] == 401
    assert cli.main(["run", "--suite", "dirac", "--seeds", "0"]) == 2
    assert "--suite dirac has a fixed protocol" in capsys.readouterr().err


def test_every_panel_title_fits_its_panel(tmp_path, monkeypatch):
    """The longest method names wrap instead of running into the next panel or off the page (the four
    longest, one row: their titles stay apart and on the page)."""
    from matplotlib.figure import Figure

    from harness import dirac

    methods = sorted(dirac.METHODS, key=lambda m: -len(m.name))[:4]  # one row of four panels
    rows = dirac.dirac_table(methods)
    saved = []
    original = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda self, *a, **k: (saved.append(self), original(self, *a, **k))[1])
    dirac.dirac_figure(rows, tmp_path / "f.png", methods)
    (fig,) = saved
    renderer = fig.canvas.get_renderer()
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 4
    titles = [ax.title.get_window_extent(renderer) for ax in panels]
    page = fig.bbox
    for t, ax in zip(titles, panels):
        assert page.x0 <= t.x0 and t.x1 <= page.x1, ax.title.get_text()
    for left, right in zip(titles, titles[1:]):  # side by side, apart
        assert left.x1 < right.x0, [ax.title.get_text() for ax in panels]
