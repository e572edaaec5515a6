"""The one generic training loop, for every variant.

The loop composes the parts a run's config names (loss pair, penalty, constraint, optimiser,
number of D steps, update scheme); it never looks at a variant's name. Every random draw comes
from a named stream of the run seed (harness.rng), so that logging or evaluating more or less often
never changes the training trajectory, and the same spec gives the same numbers, bit for bit on the
same machine. Resolving names and checking inputs lives in harness.resolve, writing the run
directory in harness.runs, the probes and 2-D snapshots in harness.probes.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn

from . import probes, runs
from .data import Dataset, Evaluator
from .metrics import METRICS
from .nets import build_networks
from .parts import CONSTRAINTS, LOSSES, OPTIMIZERS, PENALTIES
from .resolve import check_device, make_dataset, make_evaluator, resolve_run  # noqa: F401  (resolve_run re-exported)
from .rng import Streams, normal, seeded_global
from .spec import Config, RunSpec


class Diverged(Exception):
    def __init__(self, step: int, reason: str):
        super().__init__(f"diverged at step {step}: {reason}")
        self.step, self.reason = step, reason


# ----------------------------------------------------------------------------- determinism
@contextlib.contextmanager
def deterministic(device: torch.device) -> Iterator[None]:
    """Deterministic kernels for the duration of a run (restored afterwards)."""
    prev = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    prev_bench = torch.backends.cudnn.benchmark
    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=device.type == "cuda")
    torch.backends.cudnn.benchmark = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(prev, warn_only=prev_warn)
        torch.backends.cudnn.benchmark = prev_bench


# ----------------------------------------------------------------------------- one iteration
@dataclass
class LastStep:
    """What the latest D and G steps left behind for the probes and the divergence check."""

    x: torch.Tensor | None = None  # the real batch of the last D step
    fake: torch.Tensor | None = None  # the generated batch of the last D step (detached)
    loss_d: torch.Tensor | None = None  # D's loss without the penalty
    loss_d_total: torch.Tensor | None = None  # D's loss with the weighted penalty
    penalty: torch.Tensor | None = None  # the unweighted penalty, or None
    loss_g: torch.Tensor | None = None
    grad_d: dict[str, float] = field(default_factory=dict)  # parameter-gradient norms, probe steps only
    grad_g: dict[str, float] = field(default_factory=dict)


@dataclass
class _State:
    """Everything a step needs; built once per run."""

    cfg: Config
    device: torch.device
    data: Dataset
    G: nn.Module
    D: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    streams: Streams
    step: int = 0
    last: LastStep = field(default_factory=LastStep)

    def __post_init__(self) -> None:
        cfg = self.cfg
        self.loss = LOSSES.get(cfg.loss)
        self.penalty = PENALTIES.get(cfg.penalty)
        self.constraint = CONSTRAINTS.get(cfg.constraint)

    def schedule_lr(self) -> None:
        """Set both optimisers' learning rate for the G step about to run (`lr_schedule`): linear
        decays from the configured rate at step 1 to rate/steps at the last step."""
        if self.cfg.lr_schedule == "constant":
            return
        factor = 1.0 - (self.step - 1) / self.cfg.steps
        for opt, lr in ((self.opt_g, self.cfg.lr_g), (self.opt_d, self.cfg.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr * factor

    def real(self) -> torch.Tensor:
        return self.data.sample(self.cfg.batch_size, self.streams["data"]).to(self.device)

    def noise(self) -> torch.Tensor:
        return normal((self.cfg.batch_size, self.cfg.z_dim), self.streams["noise"], self.device)

    def d_objective(self, x: torch.Tensor, fake: torch.Tensor, d_fake: torch.Tensor | None = None):
        d_real = self.D(x)
        if d_fake is None:
            d_fake = self.D(fake)
        loss = self.loss.d(d_real, d_fake)
        pen = self.penalty(self.D, x, fake, self.streams["penalty"])
        total = loss if pen is None else loss + self.cfg.penalty_weight * pen
        return loss, pen, total

    def after_d_step(self) -> None:
        self.constraint.after_step(self.D, self.cfg.clip_value)

    def d_step(self, probe: bool) -> None:
        x, z = self.real(), self.noise()
        with torch.no_grad():
            fake = self.G(z)
        loss, pen, total = self.d_objective(x, fake)
        self.opt_d.zero_grad(set_to_none=True)
        total.backward()
        self._record_d(x, fake, loss, pen, total, probe)
        self.opt_d.step()
        self.after_d_step()

    def _record_d(self, x, fake, loss, pen, total, probe: bool) -> None:
        last = self.last
        last.x, last.fake, last.loss_d, last.loss_d_total = x, fake.detach(), loss.detach(), total.detach()
        last.penalty = None if pen is None else pen.detach()
        if probe:
            last.grad_d = probes.grad_norms(self.D, "grad_norm_d")

    def g_step(self, probe: bool) -> None:
        z = self.noise()
        self.D.requires_grad_(False)
        try:
            loss_g = self.loss.g(self.D(self.G(z)))
            self.opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
        finally:
            self.D.requires_grad_(True)
        self.last.loss_g = loss_g.detach()
        if probe:
            self.last.grad_g = probes.grad_norms(self.G, "grad_norm_g")
        self.opt_g.step()

    def simultaneous_step(self, probe: bool) -> None:
        """Both players step from the same point: one forward pass, both gradients, both updates.

        With n_dis > 1 the first n_dis - 1 D steps run on their own before this one (see
        `iteration`); this last D step is merged with the G step: D's gradient of its loss and G's
        gradient of its loss are both taken at the current (G, D) before either optimiser steps."""
        x, z = self.real(), self.noise()
        fake = self.G(z)
        d_fake = self.D(fake)
        loss, pen, total = self.d_objective(x, fake.detach(), d_fake=d_fake)
        loss_g = self.loss.g(d_fake)
        d_params = [p for p in self.D.parameters() if p.requires_grad]
        g_params = [p for p in self.G.parameters() if p.requires_grad]
        grads_d = torch.autograd.grad(total, d_params, retain_graph=True)
        grads_g = torch.autograd.grad(loss_g, g_params)
        for p, g in zip(d_params, grads_d):
            p.grad = g
        for p, g in zip(g_params, grads_g):
            p.grad = g
        self._record_d(x, fake, loss, pen, total, probe)
        self.last.loss_g = loss_g.detach()
        if probe:
            self.last.grad_g = probes.grad_norms(self.G, "grad_norm_g")
        self.opt_d.step()
        self.after_d_step()
        self.opt_g.step()

    def iteration(self, probe: bool) -> None:
        """One G step and its n_dis D steps."""
        simultaneous = self.cfg.update == "simultaneous"
        n_d_only = self.cfg.n_dis - 1 if simultaneous else self.cfg.n_dis
        for i in range(n_d_only):
            self.d_step(probe and not simultaneous and i == n_d_only - 1)
        if simultaneous:
            self.simultaneous_step(probe)
        else:
            self.g_step(probe)

    def check_finite(self) -> None:
        vals = torch.stack([self.last.loss_d_total.double(), self.last.loss_g.double()]).cpu().tolist()
        for name, v in zip(("loss_d", "loss_g"), vals):
            if not math.isfinite(v):
                raise Diverged(self.step, f"{name} is {v}")
            if abs(v) > self.cfg.explode_threshold:
                raise Diverged(self.step, f"|{name}| = {v:.3g} exceeds explode_threshold {self.cfg.explode_threshold:g}")

    def probe_record(self, t0: float) -> dict[str, Any]:
        last = self.last
        rec: dict[str, Any] = {"step": self.step, "wall_time_s": time.perf_counter() - t0,
                               "loss_d": float(last.loss_d), "loss_g": float(last.loss_g)}
        if last.penalty is not None:
            rec["penalty"] = float(last.penalty)
        rec.update(last.grad_g)
        rec.update(last.grad_d)
        last.grad_g, last.grad_d = {}, {}
        rec.update(probes.input_gradient_stats(self.D, last.x, last.fake, self.streams["probe"]))
        rec.update(probes.singular_values(self.D))
        for key in ("grad_norm_g", "grad_norm_d"):
            v = rec.get(key)
            if v is not None and (not math.isfinite(v) or v > self.cfg.explode_threshold):
                raise Diverged(self.step, f"{key} = {v:.3g}")
        bad = [k for k, v in rec.items() if isinstance(v, float) and not math.isfinite(v)]
        if bad:
            raise Diverged(self.step, f"non-finite {', '.join(sorted(bad)[:3])}")
        return rec


@torch.no_grad()
def generate(G: nn.Module, z: torch.Tensor, batch_size: int, device: torch.device) -> np.ndarray:
    """G's samples for a fixed latent bank, in eval mode (batch-norm uses running statistics, so the
    result does not depend on how the bank is batched)."""
    was_training = G.training
    G.eval()
    try:
        outs = [G(z[i:i + batch_size].to(device)).float().cpu() for i in range(0, len(z), batch_size)]
    finally:
        G.train(was_training)
    return torch.cat(outs).numpy()


# ----------------------------------------------------------------------------- one run
@dataclass
class _Run:
    """A run being trained: its state, evaluator, fixed evaluation bank and what it has measured."""

    spec: RunSpec
    state: _State
    evaluator: Evaluator
    z_eval: torch.Tensor
    protocol: dict[str, Any]
    snapshots: probes.Snapshots
    t0: float
    metrics: dict[str, float] = field(default_factory=dict)  # the last finite evaluation
    metrics_step: int | None = None
    samples: np.ndarray | None = None
    eval_time: float = 0.0

    @property
    def cfg(self) -> Config:
        return self.state.cfg

    def generate(self, z: torch.Tensor) -> np.ndarray:
        return generate(self.state.G, z, max(self.cfg.batch_size, 256), self.state.device)

    def evaluate(self, writer: runs.RunWriter) -> None:
        te = time.perf_counter()
        step = self.state.step
        samples = self.generate(self.z_eval)
        if not np.isfinite(samples).all():
            raise Diverged(step, "generator output is not finite")
        metrics, details = self.evaluator.evaluate_with_details(samples)
        self.metrics, self.metrics_step, self.samples = metrics, step, samples
        self.snapshots.take(step, samples, self.state.D, self.state.device)
        self.eval_time += time.perf_counter() - te
        writer.evaluation({"step": step, "wall_time_s": time.perf_counter() - self.t0, **metrics, **details})

    def evaluation_noise(self) -> dict[str, Any] | None:
        """The final G scored on `noise_banks` further latent banks from the run's own 'eval-noise'
        stream: the spread of each metric for a fixed generator (what verdicts calibrate against)."""
        n = self.cfg.noise_banks
        if n < 2:
            return None
        te = time.perf_counter()
        gen = self.state.streams["eval-noise"]
        rows = [self.evaluator.evaluate(self.generate(normal(tuple(self.z_eval.shape), gen))) for _ in range(n)]
        self.eval_time += time.perf_counter() - te
        sd, mean = {}, {}
        for m in self.evaluator.metrics:
            v = np.asarray([r[m] for r in rows], np.float64)
            v = v[np.isfinite(v)]
            mean[m] = float(v.mean()) if len(v) else math.nan
            sd[m] = float(v.std(ddof=1)) if len(v) >= 2 else math.nan
        return {"n_banks": n, "stream": "eval-noise", "sd": sd, "mean": mean}


def setup(spec: RunSpec, device: torch.device) -> _Run:
    """Data, evaluator, networks, optimisers, streams and the fixed evaluation bank of a run."""
    cfg = spec.config
    t0 = time.perf_counter()
    data = make_dataset(spec.dataset, cfg)
    evaluator = make_evaluator(data, cfg, str(device))
    streams = Streams(spec.seed)
    with seeded_global(spec.seed, "init"):
        G, D = build_networks(cfg, data.shape)
        D = CONSTRAINTS.get(cfg.constraint).on_build(D)
    G.to(device)
    D.to(device)
    make_opt = OPTIMIZERS.get(cfg.optimizer)
    state = _State(cfg, device, data, G, D, make_opt(G.parameters(), cfg.lr_g, cfg.beta1, cfg.beta2),
                   make_opt(D.parameters(), cfg.lr_d, cfg.beta1, cfg.beta2), streams)
    z_eval = normal((cfg.n_eval, cfg.z_dim), streams["eval"])  # the fixed evaluation bank, on CPU
    return _Run(spec, state, evaluator, z_eval, _protocol(cfg, evaluator), probes.Snapshots(data), t0)


def _protocol(cfg: Any, evaluator: Any) -> dict[str, Any]:
    return {"evaluator": evaluator.protocol(),
            "budget": {"steps": cfg.steps, "batch_size": cfg.batch_size},
            "eval_latent": f"{cfg.n_eval} x N(0, I_{cfg.z_dim}) from the run seed's 'eval' stream",
            "metric_versions": {m: METRICS.get(m).version for m in evaluator.metrics if m in METRICS}}


def run_protocol(spec: RunSpec) -> dict[str, Any]:
    """The protocol a run of `spec` will record in its summary (what a comparison requires to be
    equal), known before training: its data set and evaluator are built, nothing is trained."""
    data = make_dataset(spec.dataset, spec.config)
    return _protocol(spec.config, make_evaluator(data, spec.config, "cpu"))


def loop(run: _Run, writer: runs.RunWriter, progress: bool = False) -> None:
    """All G steps with their probes and evaluations, then the final evaluation. Raises Diverged."""
    cfg, state = run.cfg, run.state
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=cfg.steps, desc=run.spec.run_id, unit="step", leave=False)
    try:
        for state.step in range(1, cfg.steps + 1):
            state.schedule_lr()
            probe = state.step % cfg.log_every == 0 or state.step == cfg.steps
            state.iteration(probe)
            state.check_finite()
            if probe:
                writer.history(state.probe_record(run.t0))
            if cfg.eval_every and state.step % cfg.eval_every == 0 and state.step != cfg.steps:
                run.evaluate(writer)
            if bar is not None:
                bar.update(1)
        run.evaluate(writer)
    finally:
        if bar is not None:
            bar.close()


def finish(run: _Run, writer: runs.RunWriter, status: str, reason: str | None, t_loop: float) -> dict[str, Any]:
    """The summary (written last), samples, snapshots and final weights of a finished run."""
    cfg, state = run.cfg, run.state
    noise = run.evaluation_noise() if status == "completed" else None
    train_time = max(time.perf_counter() - t_loop - run.eval_time, 1e-9)  # the loop alone, probes included
    metrics = run.metrics or {m: math.nan for m in run.evaluator.metrics}
    summary = {"status": status, "step": state.step, "reason": reason, "wall_time_s": time.perf_counter() - run.t0,
               "eval_time_s": run.eval_time, "train_time_s": train_time, "g_steps_per_s": state.step / train_time,
               "g_steps": state.step, "d_steps": state.step * cfg.n_dis,
               "metrics": metrics, "metrics_step": run.metrics_step, "protocol": run.protocol,
               "run_id": run.spec.run_id, "fingerprint": run.spec.fingerprint()}
    if noise is not None:
        summary["eval_noise"] = noise
    writer.finish(summary, run.samples, run.snapshots.arrays(),
                  {"G": state.G.state_dict(), "D": state.D.state_dict(), "step": state.step})
    return summary


def train(spec: RunSpec, run_dir: str | Path | None = None, *, progress: bool = False) -> dict[str, Any]:
    """Train one run and return its summary; with `run_dir`, write the run directory as it goes.

    A NaN/Inf or exploding loss or gradient ends the run with status ``diverged`` (a result, not an
    error): its metrics are those of its last finite evaluation (``metrics_step`` says which; NaN
    when there was none). Any other exception marks the run ``failed`` in its directory and is
    re-raised.
    """
    device = check_device(spec.device)
    writer = runs.RunWriter(Path(run_dir) if run_dir is not None else None)
    with deterministic(device):
        run = setup(spec, device)
        writer.start(spec, {"environment": runs.environment(str(device)), "dataset": run.state.data.describe(),
                            "protocol": run.protocol, "started": _dt.datetime.now(_dt.timezone.utc).isoformat()})
        status, reason = "completed", None
        t_loop = time.perf_counter()
        try:
            loop(run, writer, progress)
        except Diverged as exc:
            status, reason = "diverged", exc.reason
        except BaseException as exc:
            if not isinstance(exc, KeyboardInterrupt):
                writer.fail(run.state.step, exc)
            raise
        return finish(run, writer, status, reason, t_loop)
