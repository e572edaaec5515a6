"""The one generic training loop, for every variant.

The loop composes the parts a run's config names (loss pair, penalty, constraint, optimiser,
number of D steps, update scheme); it never looks at a variant's name. Every random draw comes
from a named stream of the run seed (harness.rng), so that logging or evaluating more or less often
never changes the training trajectory, and the same spec gives the same numbers, bit for bit on the
same machine. Resolving names and checking inputs lives in harness.resolve, writing the run
directory in harness.runs, the probes and 2-D snapshots in harness.probes.

With ``checkpoint_every`` > 0 the loop writes a resume checkpoint (``resume.pt``, see
`resume_state`) every that many G steps; `train` on a directory holding a valid one continues
from it, and the result is bit for bit that of an uninterrupted run on the same machine.
"""
from __future__ import annotations

import contextlib
import copy
import datetime as _dt
import math
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn

from . import probes, runs
from .data import Dataset, Evaluator
from .data.fixed import FixedTrainingSet
from .metrics import METRICS
from .nets import build_networks
from .nets.pack import unpacked
from .parts import CONSTRAINTS, LOSSES, OPTIMIZERS, PENALTIES
from .parts.penalties import Draws
from .resolve import check_device, make_dataset, make_evaluator, resolve_run  # noqa: F401  (resolve_run re-exported)
from .rng import Streams, normal, seeded_global
from .errors import HarnessError
from .hooks import Hook, build_hooks
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


# ----------------------------------------------------------------------------- divergence monitor
LOSS_NAMES = ("loss_d", "loss_g")


class FiniteMonitor:
    """Finiteness and explosion checks of the losses that stay on the device.

    Every step, `update` folds (loss_d_total, loss_g) into device tensors: the first step at which
    either was NaN/Inf or had |value| > explode_threshold, and the two values at that step; nothing
    is read back to the host. `read` (called by the loop at probe, evaluation and checkpoint steps
    and at the last step) syncs once and reports the first bad step exactly, so a divergence's
    recorded step is the step whose loss first went bad, as when every step was checked on the host.
    Works for one run (scalar losses) and for a stack of K members (losses of shape (K,))."""

    def __init__(self, threshold: float, device: torch.device, shape: tuple[int, ...] = ()):
        self.threshold = float(threshold)
        self.first_bad = torch.zeros(shape, dtype=torch.long, device=device)  # 0: none yet
        self.values = torch.zeros(shape + (2,), dtype=torch.float64, device=device)

    def update(self, step: int, loss_d: torch.Tensor, loss_g: torch.Tensor) -> None:
        v = torch.stack([loss_d.detach().double(), loss_g.detach().double()], -1)
        bad = (~torch.isfinite(v) | (v.abs() > self.threshold)).any(-1)
        new = bad & (self.first_bad == 0)
        self.first_bad = torch.where(new, step, self.first_bad)
        self.values = torch.where(new.unsqueeze(-1), v, self.values)

    def read(self) -> list[tuple[int, str] | None]:
        """Per member (one entry for a single run): None, or (first bad step, reason)."""
        steps = self.first_bad.reshape(-1).cpu().tolist()
        if not any(steps):
            return [None] * len(steps)
        values = self.values.reshape(-1, 2).cpu().tolist()
        out: list[tuple[int, str] | None] = []
        for step, vals in zip(steps, values):
            out.append(None if not step else (step, self.reason(vals)))
        return out

    def reason(self, vals: list[float]) -> str:
        for name, v in zip(LOSS_NAMES, vals):
            if not math.isfinite(v):
                return f"{name} is {v}"
            if abs(v) > self.threshold:
                return f"|{name}| = {v:.3g} exceeds explode_threshold {self.threshold:g}"
        return "non-finite loss"  # not reached: a recorded step had a bad value


#: update schemes whose last D step and G step are one simultaneous step (State.simultaneous_step)
SIMULTANEOUS = ("simultaneous", "consensus", "extragradient", "optimistic")


def real_batches_per_step(cfg: Config) -> int:
    """Real batches one G step draws: one per D step (an extragradient step draws a second for its
    extrapolated point, an unrolled G step one per unrolled D step); a loss whose G term sees D(real)
    draws one more per alternating G step."""
    n = cfg.n_dis + {"extragradient": 1, "unrolled": cfg.unrolled_steps}.get(cfg.update, 0)
    if cfg.update not in SIMULTANEOUS and LOSSES.get(cfg.loss).g_sees_real:
        n += 1
    return n


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
    monitor: "FiniteMonitor | None" = None
    train_set: FixedTrainingSet | None = None  # with train_size > 0
    batches: int = 0  # real batches drawn so far (the position in the fixed training set's epochs)

    def __post_init__(self) -> None:
        cfg = self.cfg
        if cfg.train_size and self.train_set is None:
            self.train_set = FixedTrainingSet(self.data, cfg.train_size, cfg.batch_size, cfg.pack, self.streams)
        self.loss = LOSSES.get(cfg.loss)
        self.penalty = PENALTIES.get(cfg.penalty)
        self.constraint = CONSTRAINTS.get(cfg.constraint)
        self.hooks: list[Hook] = build_hooks(cfg.hooks)
        for hook in self.hooks:
            hook.start(self)

    def eval_generator(self) -> nn.Module:
        """The G that evaluation scores: the last hook's generator that is not None (e.g. an EMA
        copy), else the trained G."""
        for hook in reversed(self.hooks):
            g = hook.generator(self)
            if g is not None:
                return g
        return self.G

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
        """batch_size * pack real samples (slot-major when packing, harness.nets.pack)."""
        if self.train_set is not None:
            self.batches += 1
            return self.train_set.batch(self.batches - 1).to(self.device)
        return self.data.sample(self.cfg.batch_size * self.cfg.pack, self.streams["data"]).to(self.device)

    def noise(self) -> torch.Tensor:
        return normal((self.cfg.batch_size * self.cfg.pack, self.cfg.z_dim), self.streams["noise"], self.device)

    # hooks a batched state of several runs (harness.vectorize) overrides
    def reduce(self, loss: torch.Tensor) -> torch.Tensor:
        """The scalar to differentiate: the loss itself (a stacked state sums its members' losses)."""
        return loss

    def g_loss(self, d_fake: torch.Tensor, d_real: torch.Tensor | None = None) -> torch.Tensor:
        """G's loss; d_real (D on a real batch) only for a loss pair with g_sees_real."""
        return self.loss.g(d_fake) if d_real is None else self.loss.g(d_fake, d_real)

    def d_on_real_for_g(self, x: torch.Tensor | None = None) -> torch.Tensor | None:
        """D(real) for a G loss that sees it (LossPair.g_sees_real): on `x` (as D is shown it), or on a
        fresh real batch."""
        if not self.loss.g_sees_real:
            return None
        return self.D(self.d_in(self.real()) if x is None else x)

    def record_grad_norms(self, which: str) -> None:
        """Parameter-gradient norms of D ("d") or G ("g") for the probe record."""
        if which == "d":
            self.last.grad_d = probes.grad_norms(self.D, "grad_norm_d")
        else:
            self.last.grad_g = probes.grad_norms(self.G, "grad_norm_g")

    def generate_fake(self, z: torch.Tensor) -> torch.Tensor:
        """G(z); when packing, one G forward per slot of batch_size latents, as PacGAN's code does
        (batch norm in G then normalises each slot's batch on its own)."""
        if self.cfg.pack == 1:
            return self.G(z)
        return torch.cat([self.G(c) for c in z.split(self.cfg.batch_size)])

    def d_objective(self, x: torch.Tensor, fake: torch.Tensor, d_fake: torch.Tensor | None = None):
        d_real = self.D(x)
        if d_fake is None:
            d_fake = self.D(fake)
        loss = self.loss.d(d_real, d_fake)
        d_net, (x_in, fake_in) = unpacked(self.D, x, fake)  # a packed D's penalty is on its packs
        pen = self.penalty(d_net, x_in, fake_in, self.penalty_context())
        total = loss if pen is None else loss + self.cfg.penalty_weight * pen
        return loss, pen, total

    d_index: int = field(default=0, init=False)  # the D step within the current G step (0 .. n_dis - 1)

    def penalty_streams(self) -> Any:
        """The stream of D's regularisers (the penalty's draws, instance noise); a stacked state: one per member."""
        return self.streams["penalty"]

    def penalty_context(self) -> Draws:
        """The penalty's Draws: its stream(s), the G step and the run's D step being taken."""
        return Draws(self.penalty_streams(), step=self.step,
                     d_step=(self.step - 1) * self.cfg.n_dis + self.d_index + 1)

    def d_in(self, x: torch.Tensor) -> torch.Tensor:
        """What D is shown of a batch: x itself, or with instance_noise = sigma > 0, x + sigma N(0, I)
        per sample (Sonderby et al. 2017), real and fake alike, drawn from the penalty stream."""
        sigma = self.cfg.instance_noise
        if not sigma:
            return x
        draws = Draws(self.penalty_streams())
        return x + sigma * draws.normal(tuple(x.shape[draws.sample_axis:]), x.device).to(x.dtype)

    def after_d_step(self) -> None:
        self.constraint.after_step(self.D, self.cfg.clip_value)

    def d_step(self, probe: bool) -> None:
        x, z = self.real(), self.noise()
        with torch.no_grad():
            fake = self.generate_fake(z)
        loss, pen, total = self.d_objective(self.d_in(x), self.d_in(fake))
        self.opt_d.zero_grad(set_to_none=True)
        self.reduce(total).backward()
        self._record_d(x, fake, loss, pen, total, probe)
        self.step_optimizer(self.opt_d)
        self.after_d_step()

    def step_optimizer(self, opt: torch.optim.Optimizer) -> None:
        """`opt.step()`. With update=optimistic, each parameter then moves by 2 delta_t - delta_(t-1) in
        all, delta_t being the optimiser's own step from the gradient it was given (Daskalakis et al.
        2018: optimistic mirror descent with SGD, Optimistic Adam with Adam); the first step is the
        plain one. delta_(t-1) lives in the optimiser's state ("optimistic_prev"), so resume
        checkpoints and seed-stacked members carry it as they carry Adam's moments."""
        if self.cfg.update != "optimistic":
            opt.step()
            return
        params = [p for group in opt.param_groups for p in group["params"] if p.grad is not None]
        before = [p.detach().clone() for p in params]
        opt.step()
        with torch.no_grad():
            for p, b in zip(params, before):
                delta = p.detach() - b
                state = opt.state[p]
                prev = state.get("optimistic_prev")
                if prev is not None:
                    p.add_(delta - prev)
                state["optimistic_prev"] = delta

    def _record_d(self, x, fake, loss, pen, total, probe: bool) -> None:
        last = self.last
        last.x, last.fake, last.loss_d, last.loss_d_total = x, fake.detach(), loss.detach(), total.detach()
        last.penalty = None if pen is None else pen.detach()
        if probe:
            self.record_grad_norms("d")

    def g_step(self, probe: bool) -> None:
        if self.cfg.update == "unrolled":
            return self.unrolled_g_step(probe)
        z = self.noise()
        self.D.requires_grad_(False)
        try:
            loss_g = self.g_loss(self.D(self.d_in(self.generate_fake(z))), self.d_on_real_for_g())
            self.opt_g.zero_grad(set_to_none=True)
            self.reduce(loss_g).backward()
        finally:
            self.D.requires_grad_(True)
        self._finish_g(loss_g, probe)

    def unrolled_g_step(self, probe: bool) -> None:
        """update=unrolled (Metz et al. 2017, harness.unroll): G's loss against D after unrolled_steps
        differentiable steps of D's optimiser on fresh batches, G's gradient through them; then the
        ordinary G update. D's own parameters and optimiser are untouched."""
        from .unroll import unrolled_discriminator

        was = self.D.training
        self.D.eval()  # spectral norm: the current power-iteration vectors, not advanced
        self.D.requires_grad_(False)
        real_d = self.D
        try:
            self.opt_g.zero_grad(set_to_none=True)
            d_k = unrolled_discriminator(self)
            z = self.noise()
            self.D = d_k
            loss_g = self.g_loss(d_k(self.d_in(self.generate_fake(z))), self.d_on_real_for_g())
            self.reduce(loss_g).backward()
        finally:
            self.D = real_d
            self.D.requires_grad_(True)
            self.D.train(was)
        self._finish_g(loss_g, probe)

    def _finish_g(self, loss_g: torch.Tensor, probe: bool) -> None:
        self.last.loss_g = loss_g.detach()
        if probe:
            self.record_grad_norms("g")
        self.step_optimizer(self.opt_g)

    def simultaneous_step(self, probe: bool) -> None:
        """Both players step from the same point: one forward pass, both gradients, both updates.

        With n_dis > 1 the first n_dis - 1 D steps run on their own before this one (see
        `iteration`); this last D step is merged with the G step: D's gradient of its loss and G's
        gradient of its loss are both taken at the current (G, D) before either optimiser steps.

        update=extragradient (Korpelevich 1976; Gidel et al. 2019, "A variational inequality
        perspective on GANs", with Adam: Extra-Adam): both optimisers step with these gradients (the
        extrapolation), both gradients are taken again at the extrapolated point on fresh batches, and
        both players step with them from the point they started at; the optimisers' moments see both
        gradients, as in Extra-Adam."""
        if self.cfg.update == "extragradient":
            start = [p.detach().clone() for p in (*self.D.parameters(), *self.G.parameters())]
            self.simultaneous_gradients(False)
            self.step_both()
            self.simultaneous_gradients(probe)
            with torch.no_grad():
                for p, s0 in zip((*self.D.parameters(), *self.G.parameters()), start):
                    p.copy_(s0)
        else:
            self.simultaneous_gradients(probe)
        self.step_both()

    def step_both(self) -> None:
        self.step_optimizer(self.opt_d)
        self.after_d_step()
        self.step_optimizer(self.opt_g)

    def simultaneous_gradients(self, probe: bool) -> None:
        """Both players' gradients at the current (G, D), into their .grad (the probe records them)."""
        x, z = self.real(), self.noise()
        fake = self.generate_fake(z)
        x_in, fake_in = self.d_in(x), self.d_in(fake)  # what D is shown (instance noise)
        d_fake = self.D(fake_in)
        loss, pen, total = self.d_objective(x_in, fake_in.detach(), d_fake=d_fake)
        loss_g = self.g_loss(d_fake, self.d_on_real_for_g(x_in))
        d_params = [p for p in self.D.parameters() if p.requires_grad]
        g_params = [p for p in self.G.parameters() if p.requires_grad]
        consensus = self.cfg.update == "consensus"
        grads_d = torch.autograd.grad(self.reduce(total), d_params, retain_graph=True, create_graph=consensus)
        grads_g = torch.autograd.grad(self.reduce(loss_g), g_params, create_graph=consensus)
        if consensus:  # Mescheder et al. 2017: both gradients plus gamma grad (1/2) ||(grad_d, grad_g)||^2
            reg = 0.5 * sum(g.pow(2).sum() for g in (*grads_d, *grads_g))
            extra = torch.autograd.grad(reg, d_params + g_params, allow_unused=True)
            gamma = self.cfg.consensus_weight
            both = [g.detach() + (gamma * e if e is not None else 0.0) for g, e in zip((*grads_d, *grads_g), extra)]
            grads_d, grads_g = both[:len(grads_d)], both[len(grads_d):]
        for p, g in zip(d_params, grads_d):
            p.grad = g
        for p, g in zip(g_params, grads_g):
            p.grad = g
        self._record_d(x, fake, loss, pen, total, probe)
        self.last.loss_g = loss_g.detach()
        if probe:
            self.record_grad_norms("g")

    def iteration(self, probe: bool) -> None:
        """One G step and its n_dis D steps, each followed by the hooks (harness.hooks)."""
        simultaneous = self.cfg.update in SIMULTANEOUS
        n_d_only = self.cfg.n_dis - 1 if simultaneous else self.cfg.n_dis
        hooks = self.hooks
        for i in range(n_d_only):
            self.d_index = i
            self.d_step(probe and not simultaneous and i == n_d_only - 1)
            for hook in hooks:
                hook.after_d_step(self)
        if simultaneous:
            self.d_index = self.cfg.n_dis - 1
            self.simultaneous_step(probe)
            for hook in hooks:
                hook.after_d_step(self)
        else:
            self.g_step(probe)
        for hook in hooks:
            hook.after_g_step(self)

    def advance(self) -> tuple[bool, bool, bool]:
        """G step `self.step` (set by the loop) with its D steps, folded into the divergence monitor;
        returns whether this step probes, evaluates and writes a resume checkpoint (the last step
        does neither of the latter two: the final evaluation and finish follow it)."""
        cfg, step = self.cfg, self.step
        self.schedule_lr()
        probe = step % cfg.log_every == 0 or step == cfg.steps
        self.iteration(probe)
        self.check_finite()
        evaluate = bool(cfg.eval_every and step % cfg.eval_every == 0 and step != cfg.steps)
        checkpoint = bool(cfg.checkpoint_every and step % cfg.checkpoint_every == 0 and step != cfg.steps)
        return probe, evaluate, checkpoint

    def check_finite(self) -> None:
        """Fold this step's losses into the device-side divergence monitor (no host sync)."""
        if self.monitor is None:
            self.monitor = FiniteMonitor(self.cfg.explode_threshold, self.device)
        self.monitor.update(self.step, self.last.loss_d_total, self.last.loss_g)

    def raise_if_diverged(self) -> None:
        """Read the monitor back (one host sync): Diverged at the first step whose loss was
        non-finite or exploding, with that step's reason."""
        if self.monitor is not None:
            (found,) = self.monitor.read()
            if found is not None:
                raise Diverged(*found)

    def probe_record(self, t0: float) -> dict[str, Any]:
        last = self.last
        rec: dict[str, Any] = {"step": self.step, "wall_time_s": time.perf_counter() - t0,
                               "loss_d": float(last.loss_d), "loss_g": float(last.loss_g)}
        if last.penalty is not None:
            rec["penalty"] = float(last.penalty)
        rec.update(last.grad_g)
        rec.update(last.grad_d)
        last.grad_g, last.grad_d = {}, {}
        d_net, (x_in, fake_in) = unpacked(self.D, last.x, last.fake)  # per D input: per pack when packing
        rec.update(probes.input_gradient_stats(d_net, x_in, fake_in, self.streams["probe"]))
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
    signature_id: str | None = None  # the numeric signature this attempt runs under
    g_at_eval: dict[str, torch.Tensor] | None = None  # G's state at metrics_step (checkpointing runs only)
    start_step: int = 0  # the step a resumed run continues after
    resumed_at: list[int] = field(default_factory=list)  # the checkpoint steps of earlier attempts

    @property
    def cfg(self) -> Config:
        return self.state.cfg

    def generate(self, z: torch.Tensor) -> np.ndarray:
        return generate(self.state.eval_generator(), z, max(self.cfg.batch_size, 256), self.state.device)

    def evaluate(self, writer: runs.RunWriter) -> None:
        te = time.perf_counter()
        step = self.state.step
        samples = self.generate(self.z_eval)
        if not np.isfinite(samples).all():
            raise Diverged(step, "generator output is not finite")
        metrics, details = self.evaluator.evaluate_with_details(samples)
        self.metrics, self.metrics_step, self.samples = metrics, step, samples
        if self.cfg.checkpoint_every:  # what a resume needs to give back these samples
            self.g_at_eval = {k: v.detach().clone() for k, v in self.state.eval_generator().state_dict().items()}
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
            "budget": _budget(cfg),
            "eval_latent": f"{cfg.n_eval} x N(0, I_{cfg.z_dim}) from the run seed's 'eval' stream",
            "metric_versions": {m: METRICS.get(m).version for m in evaluator.metrics if m in METRICS}}


def _budget(cfg: Any) -> dict[str, Any]:
    """G steps and batch size, and the fixed training set's size when there is one (absent without,
    so the protocol of every run without it is as it was). Packing is not in it: it is part of the
    method under comparison (PacGAN2 vs GAN), recorded in the config like a loss."""
    out: dict[str, Any] = {"steps": cfg.steps, "batch_size": cfg.batch_size}
    if cfg.train_size:
        out["train_size"] = cfg.train_size
    return out


def run_protocol(spec: RunSpec) -> dict[str, Any]:
    """The protocol a run of `spec` will record in its summary (what a comparison requires to be
    equal), known before training: its data set and evaluator are built, nothing is trained."""
    data = make_dataset(spec.dataset, spec.config)
    return _protocol(spec.config, make_evaluator(data, spec.config, "cpu"))


def loop(run: _Run, writer: runs.RunWriter, progress: bool = False, t_loop: float | None = None) -> None:
    """All G steps (after `run.start_step`) with their probes, evaluations and resume checkpoints,
    then the final evaluation. Raises Diverged."""
    cfg, state = run.cfg, run.state
    t_loop = time.perf_counter() if t_loop is None else t_loop
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=cfg.steps, initial=run.start_step, desc=run.spec.run_id, unit="step", leave=False)
    try:
        for state.step in range(run.start_step + 1, cfg.steps + 1):
            probe, evaluate, checkpoint = state.advance()
            checkpoint = checkpoint and writer.path is not None
            if probe or evaluate or checkpoint:  # the only host syncs of the divergence check
                state.raise_if_diverged()
            if probe:
                writer.history(state.probe_record(run.t0))
            if evaluate:
                run.evaluate(writer)
            if checkpoint:
                writer.checkpoint(resume_state(run, t_loop))
            if bar is not None:
                bar.update(1)
        run.evaluate(writer)
    finally:
        if bar is not None:
            bar.close()


#: the engine's public names (docs/ENGINE.md): a run's training state and a run being trained
State = _State
Run = _Run


# ----------------------------------------------------------------------------- resume checkpoints
RESUME_FORMAT = "gan-harness-resume"
RESUME_FORMAT_VERSION = 1


def _plain(value: Any) -> Any:
    """A metric value as a Python int or float (numpy scalars are not loadable with weights_only)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    return value


def resume_state(run: _Run, t_loop: float) -> dict[str, Any]:
    """Everything the loop needs to continue after the current step exactly as if never stopped:
    G and D (spectral-norm u/v and batch-norm statistics are buffers in their state_dicts), both
    optimisers (moments, step counts and the scheduled learning rate), every named random stream,
    the last evaluation (metrics, and G as it was then, from which its samples are regenerated),
    the 2-D snapshots so far and the time spent. Tensors and plain containers only, so that
    ``torch.load(weights_only=True)`` reads it. The jsonl sizes are added by RunWriter.checkpoint."""
    state, now = run.state, time.perf_counter()
    snaps = run.snapshots
    return {"format": RESUME_FORMAT, "format_version": RESUME_FORMAT_VERSION,
            "harness_version": runs.harness_version(), "fingerprint": run.spec.fingerprint(),
            "signature_id": run.signature_id, "step": state.step,
            "G": state.G.state_dict(), "D": state.D.state_dict(),
            "opt_g": state.opt_g.state_dict(), "opt_d": state.opt_d.state_dict(),
            "rng": state.streams.get_state(),
            "metrics": {k: _plain(v) for k, v in run.metrics.items()}, "metrics_step": run.metrics_step,
            "g_at_eval": run.g_at_eval,
            "snapshots": {"steps": list(snaps.steps), "samples": [torch.from_numpy(a) for a in snaps.samples],
                          "d_grid": [torch.from_numpy(a) for a in snaps.d_grid]},
            "time": {"wall_s": now - run.t0, "loop_s": now - t_loop, "eval_s": run.eval_time},
            "resumed_at": list(run.resumed_at), "hooks": [_hook_state(h, state) for h in state.hooks]}


def _hook_state(hook: Hook, state: _State) -> dict[str, Any]:
    """A hook's part of a resume checkpoint: its own state, and its generator's weights if it has one."""
    g = hook.generator(state)
    return {"state": hook.state_dict(), "generator": None if g is None else g.state_dict()}


def read_resume(path: Path, spec: RunSpec, signature_id: str | None) -> dict[str, Any] | None:
    """The resume checkpoint of run directory `path` if there is one (None otherwise); HarnessError
    (one line) when it cannot be used: unreadable, another format or harness version, another
    config (fingerprint), another machine (numeric signature), or jsonl files shorter than it says."""
    file = Path(path) / runs.RESUME_FILE
    if not file.exists():
        return None
    try:
        ckpt = torch.load(file, weights_only=True, map_location="cpu")
    except Exception as exc:
        raise HarnessError(f"unreadable ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != RESUME_FORMAT:
        raise HarnessError("not a gan-harness resume checkpoint")
    if ckpt.get("format_version") != RESUME_FORMAT_VERSION:
        raise HarnessError(f"format version {ckpt.get('format_version')!r}, this harness reads {RESUME_FORMAT_VERSION}")
    if ckpt.get("harness_version") != runs.harness_version():
        raise HarnessError(f"written by gan-harness {ckpt.get('harness_version')}, this is {runs.harness_version()}")
    if ckpt.get("fingerprint") != spec.fingerprint():
        raise HarnessError(f"another config (fingerprint {ckpt.get('fingerprint')}, the run's is {spec.fingerprint()})")
    if ckpt.get("signature_id") != signature_id:
        raise HarnessError(f"written under another numeric signature ({ckpt.get('signature_id')}, "
                           f"now {signature_id}): resuming would not give the uninterrupted run's bits")
    step = ckpt.get("step")
    if not isinstance(step, int) or not 0 < step < spec.config.steps:
        raise HarnessError(f"step {step!r} outside 1..{spec.config.steps - 1}")
    offsets = ckpt.get("offsets")
    if not isinstance(offsets, dict) or set(offsets) != {"history.jsonl", "evaluations.jsonl"}:
        raise HarnessError("no jsonl offsets")
    for name, size in offsets.items():
        have = (Path(path) / name).stat().st_size if (Path(path) / name).exists() else -1
        if not isinstance(size, int) or have < size:
            raise HarnessError(f"{name} is shorter ({have} bytes) than the checkpoint's {size}")
    return ckpt


def restore(run: _Run, ckpt: dict[str, Any]) -> None:
    """Put a freshly set-up run into the state `ckpt` (from resume_state) describes."""
    state = run.state
    state.G.load_state_dict(ckpt["G"])
    state.D.load_state_dict(ckpt["D"])
    state.opt_g.load_state_dict(ckpt["opt_g"])
    state.opt_d.load_state_dict(ckpt["opt_d"])
    state.streams.set_state(ckpt["rng"])
    hooks = ckpt.get("hooks", [])
    if len(hooks) != len(state.hooks):
        raise HarnessError(f"holds the state of {len(hooks)} hook(s), the run has {len(state.hooks)}")
    for hook, saved in zip(state.hooks, hooks):
        hook.load_state_dict(saved["state"])
        g = hook.generator(state)
        if (g is None) != (saved["generator"] is None):
            raise HarnessError("a hook's generator does not match the checkpoint's")
        if g is not None:
            g.load_state_dict(saved["generator"])
    state.step = run.start_step = ckpt["step"]
    state.batches = state.step * real_batches_per_step(run.cfg)
    run.metrics, run.metrics_step = dict(ckpt["metrics"]), ckpt["metrics_step"]
    run.g_at_eval = ckpt["g_at_eval"]
    if run.metrics_step is not None:
        if run.g_at_eval is None:
            raise HarnessError("no generator state for the last evaluation")
        g = copy.deepcopy(state.eval_generator())
        g.load_state_dict(run.g_at_eval)
        run.samples = generate(g, run.z_eval, max(run.cfg.batch_size, 256), state.device)
    snaps = ckpt["snapshots"]
    run.snapshots.steps = list(snaps["steps"])
    run.snapshots.samples = [t.numpy() for t in snaps["samples"]]
    run.snapshots.d_grid = [t.numpy() for t in snaps["d_grid"]]
    run.resumed_at = [*ckpt["resumed_at"], ckpt["step"]]
    t = ckpt["time"]
    run.t0 -= t["wall_s"]  # wall time counts every attempt up to its last checkpoint
    run.eval_time = t["eval_s"]


def finish(run: _Run, writer: runs.RunWriter, status: str, reason: str | None, t_loop: float,
           others_s: float = 0.0) -> dict[str, Any]:
    """The summary (written last), samples, snapshots and final weights of a finished run.
    `others_s`: seconds since `t_loop` spent on other runs' evaluations (a vectorised group's other
    members), which are not this run's training time."""
    cfg, state = run.cfg, run.state
    noise = run.evaluation_noise() if status == "completed" else None
    # the loop alone, probes included
    train_time = max(time.perf_counter() - t_loop - run.eval_time - others_s, 1e-9)
    metrics = run.metrics or {m: math.nan for m in run.evaluator.metrics}
    summary = {"status": status, "step": state.step, "reason": reason, "wall_time_s": time.perf_counter() - run.t0,
               "eval_time_s": run.eval_time, "train_time_s": train_time, "g_steps_per_s": state.step / train_time,
               "g_steps": state.step, "d_steps": state.step * cfg.n_dis,
               "metrics": metrics, "metrics_step": run.metrics_step, "protocol": run.protocol,
               "run_id": run.spec.run_id, "fingerprint": run.spec.fingerprint()}
    if run.resumed_at:
        summary["resumed_at"] = list(run.resumed_at)
    if noise is not None:
        summary["eval_noise"] = noise
    weights = {"G": state.G.state_dict(), "D": state.D.state_dict(), "step": state.step}
    g_eval = state.eval_generator()
    if g_eval is not state.G:  # the generator evaluation scored (a hook's, e.g. EMA)
        weights["G_eval"] = g_eval.state_dict()
    writer.finish(summary, run.samples, run.snapshots.arrays(), weights)
    return summary


def train(spec: RunSpec, run_dir: str | Path | None = None, *, progress: bool = False,
          resume: bool = True) -> dict[str, Any]:
    """Train one run and return its summary; with `run_dir`, write the run directory as it goes.

    A NaN/Inf or exploding loss or gradient ends the run with status ``diverged`` (a result, not an
    error): its metrics are those of its last finite evaluation (``metrics_step`` says which; NaN
    when there was none). Any other exception marks the run ``failed`` in its directory and is
    re-raised.

    The process owns `run_dir` while it trains (harness.runs.run_lock; runs.RunBusy when another
    live process does). With `resume` and a resume checkpoint in `run_dir` (``checkpoint_every``),
    the run continues from it; a checkpoint that cannot be used (unreadable, another config,
    format, harness version or machine) is reported with a warning and the run starts afresh.
    """
    device = check_device(spec.device)
    path = Path(run_dir) if run_dir is not None else None
    with runs.run_lock(path) if path is not None else contextlib.nullcontext():
        writer = runs.RunWriter(path)
        with deterministic(device):
            environment = runs.environment(str(device))
            run, loop_s = begin(spec, device, writer, environment, resume=resume)
            t_loop = time.perf_counter() - loop_s
            status, reason = "completed", None
            try:
                loop(run, writer, progress, t_loop)
            except Diverged as exc:
                status, reason = "diverged", exc.reason
                run.state.step = exc.step  # the first bad step (FiniteMonitor), not the step it was read at
            except BaseException as exc:
                if not isinstance(exc, KeyboardInterrupt):
                    writer.fail(run.state.step, exc)
                raise
            return finish(run, writer, status, reason, t_loop)


def begin(spec: RunSpec, device: torch.device, writer: runs.RunWriter, environment: dict[str, Any], *,
          resume: bool = True, manifest_extra: dict[str, Any] | None = None) -> tuple[_Run, float]:
    """Set up the run of `spec`, restore it from the resume checkpoint in the writer's directory
    when there is a usable one (with `resume`; an unusable one is reported with a warning and the
    run starts afresh), and write its start (or resume) records. Returns the run and the loop
    seconds its earlier attempts spent (0 for a fresh start). Used by `train` and, for each
    member, by harness.vectorize."""
    run = setup(spec, device)
    run.signature_id = environment["numeric_signature"]["signature_id"]
    path, ckpt = writer.path, None
    if path is not None and resume:
        try:
            ckpt = read_resume(path, spec, run.signature_id)
            if ckpt is not None:
                restore(run, ckpt)
        except Exception as exc:  # noqa: BLE001 - any unusable checkpoint means: start afresh
            why = str(exc) if isinstance(exc, HarnessError) else f"{type(exc).__name__}: {exc}"
            warnings.warn(f"{path}: resume checkpoint not used ({why}); the run starts from scratch", stacklevel=3)
            if ckpt is not None:  # restore may have changed part of the state
                run = setup(spec, device)
                run.signature_id = environment["numeric_signature"]["signature_id"]
            ckpt = None
    started = _dt.datetime.now(_dt.timezone.utc).isoformat()
    if ckpt is not None:
        writer.resume(spec, ckpt["step"], ckpt["offsets"], {"step": ckpt["step"], "started": started,
                                                            "environment": environment, **(manifest_extra or {})})
        return run, float(ckpt["time"]["loop_s"])
    writer.start(spec, {"environment": environment, "dataset": run.state.data.describe(),
                        "protocol": run.protocol, "started": started, **(manifest_extra or {})})
    return run, 0.0
