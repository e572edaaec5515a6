"""The Dirac-GAN convergence table (Mescheder, Geiger and Nowozin 2018, "Which training methods for
GANs do actually converge?", ICML; reference code LMescheder/GAN_stability).

The data are a point mass at 0, the generator is a point mass at theta (G(z) = theta) and the
discriminator is linear, D(x) = psi x. The equilibrium is (theta, psi) = (0, 0). Every row trains
this model with the harness's own loop (harness.trainer: the variant's loss pair, penalty and
constraint, the update scheme, n_dis D steps per G step, plain gradient descent with step h for both
players, float64) and reports:

- the Jacobian of one G step (with its D steps) of the loop at the equilibrium, measured by central
  differences of the loop's own update map, its eigenvalues and spectral radius, beside the closed
  form below (where the update is differentiable at the equilibrium);
- the outcome of a trajectory from (1, 0.5): converges (distance to the equilibrium below 1 % of the
  start), diverges (above twice the start, or not finite) or oscillates (neither);
- the paper's verdict for the method (its Sec. 3: unregularised GAN and WGAN, and WGAN-GP, with a finite
  number of D steps do not converge; instance noise and zero-centred penalties do; consensus
  optimisation: Mescheder, Nowozin and Geiger 2017), or "-" for a row the paper has not.

Closed form, in (theta, psi), for a loss whose linearisation at 0 has slope a (= |f'(0)|: 1/2 for the
GAN's log-loss, 1 for WGAN; SLOPES) and a penalty of curvature c in psi (R1 and R2:
the weight gamma, since ||grad_x D|| = |psi| everywhere; none, and WGAN-LP near 0: 0). With d = 1 - h c:

- simultaneous updates:  J = [[1, h a], [-h a, d]] = I + h M with M = [[0, a], [-a, -c]]; for c = 0
  the eigenvalues are 1 +- i h a, of modulus sqrt(1 + h^2 a^2) > 1 (Mescheder et al. 2018, Sec. 3);
- consensus optimisation (Mescheder et al. 2017), simultaneous with gamma grad (1/2)||F||^2 taken
  off: J = I + h (M - gamma M^T M); for c = 0, M^T M = a^2 I and the modulus is
  sqrt((1 - h gamma a^2)^2 + h^2 a^2) < 1 for small h;
- extragradient (Gidel et al. 2019): x' = x + h M x, then x + h M x': J = I + h M + h^2 M^2, modulus
  sqrt(1 - h^2 a^2 + h^4 a^4) < 1 for c = 0 and small h;
- optimistic gradient (Daskalakis et al. 2018), on (x, delta), delta the previous step: x + 2 h M x -
  delta and the new delta h M x: J = [[I + 2 h M, -I], [h M, 0]], eigenvalues the roots of
  lambda^2 - (1 + 2 h mu) lambda + h mu for each eigenvalue mu of M, inside the unit circle for small h;
- unrolled (Metz et al. 2017), k D steps then G's step against D after u further steps, G's
  gradient through them: psi_u = d^u psi - h a S_u theta, and G's gradient of its loss at psi_u gains
  (d loss_G / d psi)(d psi_u / d theta) = (-a theta)(-h a S_u), so that
  J = [[1 - 2 h^2 a^2 S_u, h a d^u], [0, 1]] [[1, 0], [-h a S, d^k]]; for c = 0, k = 1 its determinant
  is 1 - 2 u h^2 a^2 < 1: the look-ahead damps the orbit of alternating descent;
- alternating, k D steps then one G step: with S = 1 + d + ... + d^(k-1),
  J = [[1 - h^2 a^2 S, h a d^k], [-h a S, d^k]]; for c = 0 its determinant is 1 and the eigenvalues
  lie on the unit circle while |trace| < 2: a bounded orbit, never convergence.

WGAN-GP's (||grad|| - 1)^2 = (|psi| - 1)^2, DRAGAN's (the same at the real data) and spectral
normalisation (psi / |psi|) are not differentiable at psi = 0, and instance noise makes each update
a random map: no Jacobian of the loop's update exists there, and the table says so; their outcome
is measured all the same.
"""
from __future__ import annotations

import json
import math
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from .data import DATASETS, Dataset, Evaluator
from .errors import HarnessError
from .nets import NETS
from .rng import default_dtype

H = 0.2  # the step size (learning rate) of both players
STEPS = 600  # G steps of the trajectory from START
START = (1.0, 0.5)  # psi = 0 would make spectral norm's psi / |psi| 0 / 0
EPS = 1e-6  # central-difference step of the measured Jacobian (error O(EPS^2) in float64)
FIELD_MAX = 4.0  # the widest panel of the figure
TRAJECTORY_EVERY = 5  # dirac.json keeps every 5th G step of each trajectory (the figure draws all)
CONVERGED, DIVERGED = 0.01, 2.0  # final distance / start distance thresholds of the outcome


# ----------------------------------------------------------------------------- the model
class DiracData(Dataset):
    """A point mass at 0 in one dimension."""
    name, shape = "dirac", (1,)

    def sample(self, n: int, gen: torch.Generator) -> torch.Tensor:
        return torch.zeros(n, 1)

    def evaluator(self, n_eval: int, **_: Any) -> Evaluator:
        return DiracEvaluator()

    def describe(self) -> dict[str, Any]:
        return {"source": "Dirac-GAN (Mescheder et al. 2018)", "shape": [1], "point_mass": 0.0}


class DiracEvaluator(Evaluator):
    metrics = ("distance",)

    def check_samples(self, samples: Any) -> np.ndarray:
        arr = np.asarray(samples, dtype=float)
        if not np.all(np.isfinite(arr)):
            raise HarnessError("dirac: non-finite samples")
        return arr

    def evaluate(self, samples: Any) -> dict[str, float]:
        return {"distance": float(np.abs(self.check_samples(samples)).mean())}


class Theta(nn.Module):
    """G(z) = theta for every latent."""

    def __init__(self) -> None:
        super().__init__()
        self.theta = nn.Parameter(torch.tensor(START[0]))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.theta.expand(z.shape[0], 1)


class Psi(nn.Module):
    """D(x) = psi x: one linear layer without bias, so that constraints (clipping, spectral norm)
    act on psi as on any D layer."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(1, 1, bias=False)
        with torch.no_grad():
            self.linear.weight.fill_(START[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).squeeze(-1)


DATASETS.register("dirac", lambda **_: DiracData(), replace=True)
NETS.register("dirac", lambda cfg, shape: (Theta(), Psi()), replace=True)


def _psi_param(d: nn.Module) -> torch.Tensor:
    """psi as the optimiser sees it (the unnormalised weight under spectral norm)."""
    lin = d.linear
    return lin.parametrizations.weight.original if hasattr(lin, "parametrizations") else lin.weight


# ----------------------------------------------------------------------------- the rows
# |f'(0)|: the slope of each loss pair's linearisation at D = 0 (log-loss: sigmoid(0) = 1/2)
SLOPES = {"nonsaturating": 0.5, "saturating": 0.5, "wasserstein": 1.0}


@dataclass(frozen=True)
class Method:
    name: str
    variant: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    paper: str = "-"  # the paper's verdict ("-": the paper has no such row)
    smooth: bool = True  # the update is differentiable at the equilibrium
    no_jacobian: str = "not differentiable at psi = 0"  # why a row that is not smooth has no Jacobian
    steps: int = STEPS  # G steps of the trajectory (a slowly contracting method gets more)

    def config(self) -> dict[str, Any]:
        base = {"arch": "dirac", "optimizer": "sgd", "lr_g": H, "lr_d": H, "lr_schedule": "constant", "n_dis": 1,
                "update": "alternating", "penalty": "none", "constraint": "none", "z_dim": 1, "batch_size": 4,
                "steps": self.steps, "log_every": self.steps, "eval_every": 0, "n_eval": 4, "noise_banks": 0}
        return {**base, **self.overrides}


NOT_CONVERGE = "does not converge"
METHODS: tuple[Method, ...] = (
    Method("GAN, simultaneous", "vanilla", {"update": "simultaneous"}, NOT_CONVERGE),
    Method("GAN, alternating", "vanilla", {}, NOT_CONVERGE),
    Method("GAN, alternating, 5 D steps", "vanilla", {"n_dis": 5}, NOT_CONVERGE),
    Method("WGAN, simultaneous", "wgan", {"update": "simultaneous"}, NOT_CONVERGE),
    Method("WGAN, alternating", "wgan", {}, NOT_CONVERGE),
    Method("WGAN, clipping 1, alternating", "wgan", {"constraint": "clip", "clip_value": 1.0},
           NOT_CONVERGE),
    Method("WGAN-GP (lambda 1), alternating", "wgan-gp", {"penalty": "gp", "penalty_weight": 1.0},
           NOT_CONVERGE, smooth=False),
    Method("WGAN-LP (lambda 1), alternating", "wgan", {"penalty": "lp", "penalty_weight": 1.0}),
    Method("DRAGAN (lambda 1), alternating", "vanilla", {"penalty": "dragan", "penalty_weight": 1.0}, smooth=False),
    Method("SN-GAN (hinge), alternating", "sngan", {"constraint": "spectral_norm"}, smooth=False),
    Method("GAN + R1 (gamma 1), simultaneous", "vanilla", {"update": "simultaneous", "penalty": "r1",
                                                            "penalty_weight": 1.0}, "converges"),
    Method("GAN + R1 (gamma 1), alternating", "vanilla", {"penalty": "r1", "penalty_weight": 1.0},
           "converges"),
    Method("GAN + R2 (gamma 1), simultaneous", "vanilla", {"update": "simultaneous", "penalty": "r2",
                                                            "penalty_weight": 1.0}, "converges"),
    Method("WGAN + R1 (gamma 1), alternating", "wgan", {"penalty": "r1", "penalty_weight": 1.0}),
    Method("GAN, consensus optimisation (gamma 1)", "vanilla", {"update": "consensus", "consensus_weight": 1.0},
           "converges (Mescheder et al. 2017)"),
    Method("WGAN, consensus optimisation (gamma 1)", "wgan", {"update": "consensus", "consensus_weight": 1.0}),
    # on a bilinear game extragradient and optimistic gradient contract (Gidel et al. 2019; Daskalakis et
    # al. 2018, Mokhtari et al. 2020); for the GAN's slope 1/2 at h = 0.2 the radius is 0.995: 2,000 steps
    Method("GAN, extragradient (2,000 steps)", "vanilla", {"update": "extragradient"},
           "converges (Gidel et al. 2019, bilinear games)", steps=2000),
    Method("WGAN, extragradient", "wgan", {"update": "extragradient"}, "converges (Gidel et al. 2019, bilinear games)"),
    Method("GAN, optimistic (2,000 steps)", "vanilla", {"update": "optimistic"},
           "converges (Daskalakis et al. 2018, bilinear games)", steps=2000),
    Method("WGAN, optimistic", "wgan", {"update": "optimistic"}, "converges (Daskalakis et al. 2018, bilinear games)"),
    # instance noise makes the update stochastic: no Jacobian of one draw; 1,024 samples a batch keep
    # the noise of the gradient small beside its expectation, which the paper analyses
    # unrolled GAN (Metz et al. 2017): G's gradient through u further D steps adds 2 h^2 a^2 S_u theta
    # of damping to G's step: the determinant 1 - 2 u h^2 a^2 < 1 (module docstring); no published verdict
    Method("GAN, unrolled (5 steps), alternating", "vanilla", {"update": "unrolled", "unrolled_steps": 5}),
    Method("WGAN, unrolled (5 steps), alternating", "wgan", {"update": "unrolled", "unrolled_steps": 5}),
    Method("GAN + instance noise (sigma 1), alternating", "vanilla", {"instance_noise": 1.0, "batch_size": 1024},
           "converges", smooth=False, no_jacobian="stochastic update (instance noise)"),
)


def curvature(cfg: Mapping[str, Any]) -> float:
    """d^2/dpsi^2 of the weighted penalty at psi = 0: R1 and R2 are (gamma / 2) psi^2; WGAN-LP is 0
    for |psi| < 1; no penalty 0."""
    return float(cfg["penalty_weight"]) if cfg["penalty"] in ("r1", "r2") else 0.0


def closed_form(cfg: Mapping[str, Any]) -> np.ndarray:
    """The Jacobian at (0, 0) of one G step with its D steps, in (theta, psi) (module docstring)."""
    h, a, k = float(cfg["lr_d"]), SLOPES[cfg["loss"]], int(cfg["n_dis"])
    if float(cfg["lr_g"]) != h:
        raise HarnessError("dirac: the closed form assumes one step size for both players")
    c = curvature(cfg)
    d = 1.0 - h * c
    if cfg["update"] in ("simultaneous", "consensus", "extragradient", "optimistic"):
        if k != 1:
            raise HarnessError("dirac: the closed form of simultaneous updates is for n_dis = 1")
        m = np.array([[0.0, a], [-a, -c]])  # the linearised descent field F(x) = M x
        if cfg["update"] == "simultaneous":
            return np.eye(2) + h * m
        if cfg["update"] == "extragradient":  # x' = x + h M x, then x + h M x'
            return np.eye(2) + h * m + h * h * m @ m
        if cfg["update"] == "optimistic":  # in (x, delta_prev): x + 2 h M x - delta_prev, delta = h M x
            return np.block([[np.eye(2) + 2 * h * m, -np.eye(2)], [h * m, np.zeros((2, 2))]])
        # consensus: x + h (F - gamma grad (1/2)||F||^2) = x + h (M - gamma M^T M) x
        return np.eye(2) + h * (m - float(cfg["consensus_weight"]) * m.T @ m)
    s = sum(d ** j for j in range(k))
    if cfg["update"] == "unrolled":  # k D steps, then G's step against D unrolled u steps further
        u = int(cfg["unrolled_steps"])
        su = sum(d ** j for j in range(u))
        d_steps = np.array([[1.0, 0.0], [-h * a * s, d ** k]])
        return np.array([[1.0 - 2 * (h * a) ** 2 * su, h * a * d ** u], [0.0, 1.0]]) @ d_steps
    return np.array([[1.0 - (h * a) ** 2 * s, h * a * d ** k], [-h * a * s, d ** k]])


# ----------------------------------------------------------------------------- the harness's loop
def _float64():
    return default_dtype(torch.float64)


class Loop:
    """One method's run, as harness.trainer sets it up, stepped from any (theta, psi)."""

    def __init__(self, method: Method):
        from .trainer import resolve_run, setup

        self.method = method
        self.spec = resolve_run(method.variant, "dirac", 0, method.config(), setting="authors")
        with _float64():
            self.run = setup(self.spec, torch.device("cpu"))
        self.state = self.run.state

    @property
    def cfg(self) -> dict[str, Any]:
        return {k: getattr(self.spec.config, k) for k in ("lr_g", "lr_d", "loss", "n_dis", "update", "penalty",
                                                         "penalty_weight", "consensus_weight", "unrolled_steps")}

    def point(self) -> tuple[float, float]:
        return self.state.G.theta.item(), _psi_param(self.state.D).item()

    @property
    def memory(self) -> bool:
        """update=optimistic: the map is on (theta, psi, the previous step of each): 4 coordinates."""
        return self.spec.config.update == "optimistic"

    def _slots(self) -> list[tuple[torch.optim.Optimizer, torch.Tensor]]:
        return [(self.state.opt_g, self.state.G.theta), (self.state.opt_d, _psi_param(self.state.D))]

    def set(self, theta: float, psi: float, *prev: float) -> None:
        """Put the loop at (theta, psi); with update=optimistic also set each player's previous step
        (none given: none, so the next step is the plain first one)."""
        with torch.no_grad():
            self.state.G.theta.fill_(theta)
            _psi_param(self.state.D).fill_(psi)
        if self.memory:
            for (opt, p), v in zip(self._slots(), prev or (None, None)):
                if v is None:
                    opt.state[p].pop("optimistic_prev", None)
                else:
                    opt.state[p]["optimistic_prev"] = torch.full_like(p.detach(), float(v))

    def full_point(self) -> tuple[float, ...]:
        """(theta, psi) and, with update=optimistic, the step each player just took."""
        if not self.memory:
            return self.point()
        return (*self.point(), *(float(opt.state[p]["optimistic_prev"].item()) for opt, p in self._slots()))

    def step(self) -> tuple[float, float]:
        """One G step with its n_dis D steps of the harness's loop (State.iteration); the new point."""
        with _float64():
            self.state.step += 1
            self.state.iteration(probe=False)
        return self.point()

    def map(self, *x: float) -> tuple[float, ...]:
        """One step from (theta, psi), or for update=optimistic from (theta, psi, previous steps): the
        new point in the same coordinates."""
        self.set(*x)
        p = self.step()
        return self.full_point() if len(x) == 4 else p

    def jacobian(self, eps: float = EPS) -> np.ndarray:
        """Central differences of the update map at the equilibrium (0, 0[, 0, 0]), column j along
        coordinate j."""
        n = 4 if self.memory else 2
        cols = []
        for j in range(n):
            e = np.eye(n)[j] * eps
            plus, minus = np.array(self.map(*e)), np.array(self.map(*(-e)))
            cols.append((plus - minus) / (2 * eps))
        return np.stack(cols, axis=1)

    def trajectory(self, steps: int = STEPS, start: Sequence[float] = START) -> np.ndarray:
        """(steps + 1, 2): the points from `start`, one per G step, until the end or a non-finite point."""
        self.set(*start)
        points = [self.point()]
        for _ in range(steps):
            p = self.step()
            points.append(p)
            if not all(map(math.isfinite, p)):
                break
        return np.array(points)


def outcome(traj: np.ndarray) -> str:
    r0, r = float(np.hypot(*traj[0])), float(np.hypot(*traj[-1]))
    if not math.isfinite(r) or r > DIVERGED * r0:
        return "diverges"
    return "converges" if r < CONVERGED * r0 else "oscillates"


def agrees(measured: str, paper: str) -> str:
    """Whether the measured outcome matches the paper's verdict ("-" where the paper has none)."""
    if paper == "-":
        return "-"
    return "yes" if (measured == "converges") == paper.startswith("converges") else "NO"


# ----------------------------------------------------------------------------- the table
def dirac_table(methods: Sequence[Method] = METHODS) -> list[dict[str, Any]]:
    """One record per method: measured and closed-form Jacobians, eigenvalues, spectral radii, the
    trajectory's outcome and the paper's verdict (the trajectory is kept for the figure)."""
    rows = []
    for m in methods:
        loop = Loop(m)
        row: dict[str, Any] = {"method": m.name, "variant": m.variant, "config": dict(m.overrides),
                               "paper": m.paper, "no_jacobian": "" if m.smooth else m.no_jacobian}
        if m.smooth:
            measured, closed = loop.jacobian(), closed_form(loop.cfg)
            row.update(jacobian=measured.tolist(), jacobian_closed=closed.tolist(),
                       eigenvalues=_eig(measured), eigenvalues_closed=_eig(closed),
                       radius=float(np.abs(np.linalg.eigvals(measured)).max()),
                       radius_closed=float(np.abs(np.linalg.eigvals(closed)).max()),
                       max_abs_error=float(np.abs(measured - closed).max()))
        traj = loop.trajectory(m.steps)
        row.update(steps=m.steps, outcome=outcome(traj), final_distance=float(np.hypot(*traj[-1])),
                   agrees=agrees(outcome(traj), m.paper), trajectory=traj.tolist())
        rows.append(row)
    return rows


def _eig(j: np.ndarray) -> list[list[float]]:
    """Eigenvalues as [re, im] pairs, sorted by imaginary part."""
    return [[float(z.real), float(z.imag)] for z in sorted(np.linalg.eigvals(j), key=lambda z: (z.imag, z.real))]


def _fmt_eig(pairs: Sequence[Sequence[float]]) -> str:
    return ", ".join(f"{re:.4f} {'+' if im >= 0 else '-'} {abs(im):.4f}i" for re, im in pairs)


def table_markdown(rows: Sequence[Mapping[str, Any]]) -> str:
    head = ("| method | eigenvalues (measured) | closed form | spectral radius | closed form | max abs. error | "
            "outcome from (1, 0.5) | paper | agrees |\n|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        if "jacobian" in r:
            cells = [_fmt_eig(r["eigenvalues"]), _fmt_eig(r["eigenvalues_closed"]), f"{r['radius']:.6f}",
                     f"{r['radius_closed']:.6f}", f"{r['max_abs_error']:.1e}"]
        else:
            cells = [f"n/a: {r['no_jacobian']}"] + ["-"] * 4
        lines.append(f"| {r['method']} | " + " | ".join(cells)
                     + f" | {r['outcome']} ({r['final_distance']:.3g}) | {r['paper']} | {r['agrees']} |")
    return "\n".join(lines)


def dirac_figure(rows: Sequence[Mapping[str, Any]], path: Path, methods: Sequence[Method] = METHODS) -> Path:
    """A panel per method: the update map's displacement field (one step of the loop from each grid
    point, arrows) and the trajectory from START, with the equilibrium marked; each panel spans the
    trajectory (at least +-1.5, at most +-FIELD_MAX: a diverging path runs off its edge)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .report.figures import DPI, PNG_METADATA, STYLE

    n = len(rows)
    cols = 4
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(2.0 * cols, 2.05 * -(-n // cols)), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(-(-n // cols), cols, squeeze=False)
        for ax, row, m in zip(axes.ravel(), rows, methods):
            loop = Loop(m)
            traj = np.asarray(row["trajectory"])
            traj = traj[np.all(np.isfinite(traj), axis=1)]
            reach = min(FIELD_MAX, max(1.5, float(np.abs(traj).max()) if len(traj) else 1.5))
            traj = traj[np.all(np.abs(traj) <= 1.1 * reach, axis=1)]  # a diverging path: up to the panel's edge
            grid = np.linspace(-reach, reach, 9)
            u = np.zeros((grid.size, grid.size))
            v = np.zeros_like(u)
            for i, psi in enumerate(grid):
                for j, theta in enumerate(grid):
                    t1, p1 = loop.map(theta, psi)
                    u[i, j], v[i, j] = t1 - theta, p1 - psi
            ax.quiver(grid, grid, u, v, color="0.55", angles="xy", scale_units="xy", scale=None, width=0.006)
            ax.plot(traj[:, 0], traj[:, 1], color="#0072B2", lw=0.9)
            ax.plot(*START, "o", color="#0072B2", ms=3)
            ax.plot(0, 0, "*", color="#D55E00", ms=7)
            ax.set_xlim(-1.07 * reach, 1.07 * reach)
            ax.set_ylim(-1.07 * reach, 1.07 * reach)
            ax.set_aspect("equal")
            ax.set_title(textwrap.fill(row["method"], 30) + f"\n{row['outcome']}", fontsize=6.5)  # within its panel
            ax.tick_params(labelsize=6)
            ax.set_xlabel("theta (G)", fontsize=6)
            ax.set_ylabel("psi (D)", fontsize=6)
        for ax in axes.ravel()[n:]:
            ax.set_visible(False)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", dpi=DPI, metadata=PNG_METADATA)
    return path


def write_dirac_report(out: str | Path, allow_dirty: bool = False) -> dict[str, Path]:
    """Train every row, then write out/dirac.md (the table), out/dirac.json (every number, the
    trajectories included) and out/dirac.png (fields and trajectories). Seconds on one CPU core."""
    from . import runs

    out = Path(out)
    commit = runs.git_commit() or "unknown"
    if not allow_dirty:
        refusal = runs.dirty_refusal([commit], out)
        if refusal:
            raise HarnessError(refusal)
    rows = dirac_table()
    out.mkdir(parents=True, exist_ok=True)
    fig = dirac_figure(rows, out / "dirac.png")
    body = _markdown(rows, commit)
    runs.atomic_write_bytes(out / "dirac.md", body.encode())
    runs.atomic_write_bytes(out / "dirac.json", (json.dumps(
        {"h": H, "steps": STEPS, "start": START, "eps": EPS, "trajectory_every": TRAJECTORY_EVERY, "commit": commit,
         "rows": [{**r, "trajectory": r["trajectory"][::TRAJECTORY_EVERY]} for r in rows]}) + "\n").encode())
    return {"md": out / "dirac.md", "json": out / "dirac.json", "figure": fig}


def _markdown(rows: Sequence[Mapping[str, Any]], commit: str) -> str:
    smooth = [r for r in rows if "jacobian" in r]
    worst = max((r["max_abs_error"] for r in smooth), default=float("nan"))
    checked = [r for r in rows if r["agrees"] != "-"]
    agree = sum(r["agrees"] == "yes" for r in checked)
    by = {o: [r["method"] for r in rows if r["outcome"] == o] for o in ("converges", "oscillates", "diverges")}
    found = ", ".join(f"{len(names)} {o[:-1]} ({'; '.join(names)})" for o, names in by.items() if names)
    return "\n".join([
        "# Dirac-GAN: which training methods converge?", "",
        f"Found, of {len(rows)} methods trained by the harness's own loop: {found}. The measured update "
        f"Jacobians match the closed forms to {worst:.1e} (largest entry error over {len(smooth)} differentiable "
        f"rows), and {agree} of {len(checked)} outcomes agree with the published verdicts (Mescheder, Geiger and "
        "Nowozin 2018; consensus optimisation: Mescheder, Nowozin and Geiger 2017; extragradient and optimistic "
        "gradient on bilinear games: Gidel et al. 2019, Daskalakis et al. 2018).", "",
        "Model: data a point mass at 0, G(z) = theta, D(x) = psi x (Mescheder et al. 2018, Sec. 2.2; reference "
        "code LMescheder/GAN_stability); equilibrium (0, 0). Each row is a harness variant with the "
        f"overrides its name gives, trained by harness.trainer (its loss pair, penalty, constraint and update "
        f"scheme) with plain gradient descent, step h = {H} for both players, in float64. Eigenvalues: of the "
        f"Jacobian of one G step (with its D steps) at (0, 0), measured by central differences (step {EPS:g}) "
        "of the loop's own update map, beside the closed form (harness/dirac.py); a spectral radius above 1 "
        "diverges, 1 orbits, below 1 converges; for optimistic steps the map is on (theta, psi) and each "
        "player's previous step, whose Jacobian has four eigenvalues. Outcome: from (1, 0.5) after "
        f"{STEPS} G steps (or the count a row names), converges (distance below {CONVERGED:g} of the start), "
        f"diverges (above {DIVERGED:g}x) "
        "or oscillates; the final distance in brackets. Paper: the paper's verdict for the method; - where the "
        "paper has no such row.", "",
        table_markdown(rows), "",
        "![Dirac-GAN fields and trajectories](dirac.png)", "",
        "Each panel: one step of the loop from each grid point (arrows, in (theta, psi)), the trajectory "
        "from (1, 0.5) (line) and the equilibrium (star).", "",
        f"Made with `gan-harness run --suite dirac` at commit {commit}; every number, the trajectories (every "
        f"{TRAJECTORY_EVERY}th G step) included, in [dirac.json](dirac.json).", ""])
