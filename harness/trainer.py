"""The one generic training loop, for every variant.

The loop composes the parts a run's config names (loss pair, penalty, constraint, optimiser,
number of D steps, update scheme); it never looks at a variant's name. Every random draw comes
from a named stream of the run seed (harness.rng), so that logging or evaluating more or less often
never changes the training trajectory, and the same spec gives the same numbers, bit for bit on CPU.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import math
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np
import torch
from torch import nn

from . import probes, runs
from .data import DATASETS, Dataset, get_dataset
from .errors import HarnessError
from .metrics import METRICS
from .nets import build_networks
from .parts import CONSTRAINTS, LOSSES, OPTIMIZERS, PENALTIES
from .rng import Streams, generator, normal, seeded_global
from .spec import Config, RunSpec, make_config
from .variant import get_variant

SNAPSHOT_POINTS = 512
SNAPSHOT_GRID = 64


class Diverged(Exception):
    def __init__(self, step: int, reason: str):
        super().__init__(f"diverged at step {step}: {reason}")
        self.step, self.reason = step, reason


# ----------------------------------------------------------------------------- resolving a run
def dataset_defaults(name: str) -> Mapping[str, Any]:
    """Config defaults a data set asks for (a ``defaults`` attribute on its factory)."""
    return getattr(DATASETS.get(name), "defaults", {}) or {}


def check_device(device: str) -> torch.device:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise HarnessError(f"unknown device {device!r}; use cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise HarnessError(f"device {device!r} requested but CUDA is not available (torch {torch.__version__})")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise HarnessError(f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s)")
    if dev.type not in ("cpu", "cuda"):
        raise HarnessError(f"unsupported device {device!r}; use cpu, cuda or cuda:N")
    return dev


def resolve_run(variant: str, dataset: str, seed: int, overrides: Mapping[str, Any] | None = None,
                device: str = "cpu", suite_overrides: Mapping[str, Any] | None = None) -> RunSpec:
    """Validate names and values and build the RunSpec (raises HarnessError before any work)."""
    v = get_variant(variant)
    ds_defaults = dataset_defaults(dataset)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise HarnessError(f"seed must be a non-negative integer, got {seed!r}")
    cfg = make_config(ds_defaults, v.defaults, suite_overrides or {}, overrides or {})
    check_device(device)
    return RunSpec(variant=variant, dataset=dataset, seed=int(seed), config=cfg, device=device)


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


# ----------------------------------------------------------------------------- run writer
class RunWriter:
    """Writes a run directory (or nothing, when path is None)."""

    def __init__(self, path: Path | None):
        self.path = Path(path) if path is not None else None

    def start(self, spec: RunSpec, manifest: dict[str, Any]) -> None:
        if self.path is None:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        for name in ("history.jsonl", "evaluations.jsonl", "summary.json", "samples.npy", "snapshots.npz",
                     "checkpoint.pt", "error.txt"):
            (self.path / name).unlink(missing_ok=True)  # a redo starts clean
        self.status("running", 0, None)
        runs.atomic_write_json(self.path / "spec.json", {**spec.to_dict(), "fingerprint": spec.fingerprint()})
        runs.atomic_write_json(self.path / "manifest.json", manifest)

    def status(self, status: str, step: int, reason: str | None) -> None:
        if self.path is not None:
            runs.atomic_write_json(self.path / "status.json", {"status": status, "step": step, "reason": reason})

    def history(self, record: dict[str, Any]) -> None:
        if self.path is not None:
            runs.append_jsonl(self.path / "history.jsonl", record)

    def evaluation(self, record: dict[str, Any]) -> None:
        if self.path is not None:
            runs.append_jsonl(self.path / "evaluations.jsonl", record)

    def finish(self, summary: dict[str, Any], samples: np.ndarray | None, snapshots: dict[str, np.ndarray] | None,
               checkpoint: dict[str, Any]) -> None:
        if self.path is None:
            return
        if samples is not None:
            runs.atomic_write_npy(self.path / "samples.npy", samples)
        if snapshots:
            runs.atomic_write_npz(self.path / "snapshots.npz", **snapshots)
        tmp = self.path / ".checkpoint.pt.tmp"
        torch.save(checkpoint, tmp)
        os.replace(tmp, self.path / "checkpoint.pt")
        runs.atomic_write_json(self.path / "summary.json", summary)
        self.status(summary["status"], summary["step"], summary["reason"])  # last: marks the run final

    def fail(self, step: int, exc: BaseException) -> None:
        if self.path is None:
            return
        runs.atomic_write_bytes(self.path / "error.txt", traceback.format_exc().encode())
        self.status("failed", step, f"{type(exc).__name__}: {exc}")


# ----------------------------------------------------------------------------- the loop
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
    last: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        cfg = self.cfg
        self.loss = LOSSES.get(cfg.loss)
        self.penalty = PENALTIES.get(cfg.penalty)
        self.constraint = CONSTRAINTS.get(cfg.constraint)

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
        self.last.update(x=x, fake=fake.detach(), loss_d=loss.detach(), loss_d_total=total.detach(),
                         penalty=None if pen is None else pen.detach())
        if probe:
            self.last["grad_d"] = probes.grad_norms(self.D, "grad_norm_d")

    def g_step(self, probe: bool) -> None:
        z = self.noise()
        self.D.requires_grad_(False)
        try:
            loss_g = self.loss.g(self.D(self.G(z)))
            self.opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
        finally:
            self.D.requires_grad_(True)
        self.last["loss_g"] = loss_g.detach()
        if probe:
            self.last["grad_g"] = probes.grad_norms(self.G, "grad_norm_g")
        self.opt_g.step()

    def simultaneous_step(self, probe: bool) -> None:
        """Both players step from the same point: one forward pass, both gradients, both updates."""
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
        self.last["loss_g"] = loss_g.detach()
        if probe:
            self.last["grad_g"] = probes.grad_norms(self.G, "grad_norm_g")
        self.opt_d.step()
        self.after_d_step()
        self.opt_g.step()

    def iteration(self, probe: bool) -> None:
        """One G step and its D steps."""
        simultaneous = self.cfg.update == "simultaneous"
        n_d_only = self.cfg.n_dis - 1 if simultaneous else self.cfg.n_dis
        for i in range(n_d_only):
            self.d_step(probe and not simultaneous and i == n_d_only - 1)
        if simultaneous:
            self.simultaneous_step(probe)
        else:
            self.g_step(probe)

    def check_finite(self) -> None:
        vals = torch.stack([self.last["loss_d_total"].double(), self.last["loss_g"].double()]).cpu().tolist()
        for name, v in zip(("loss_d", "loss_g"), vals):
            if not math.isfinite(v):
                raise Diverged(self.step, f"{name} is {v}")
            if abs(v) > self.cfg.explode_threshold:
                raise Diverged(self.step, f"|{name}| = {v:.3g} exceeds explode_threshold {self.cfg.explode_threshold:g}")

    def probe_record(self, t0: float) -> dict[str, Any]:
        last = self.last
        rec: dict[str, Any] = {"step": self.step, "wall_time_s": time.perf_counter() - t0,
                               "loss_d": float(last["loss_d"]), "loss_g": float(last["loss_g"])}
        if last.get("penalty") is not None:
            rec["penalty"] = float(last["penalty"])
        rec.update(last.pop("grad_g", {}))
        rec.update(last.pop("grad_d", {}))
        rec.update(probes.input_gradient_stats(self.D, last["x"], last["fake"], self.streams["probe"]))
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


class Snapshots:
    """For 2-D data: generated samples and D's output on a grid at each evaluation step."""

    def __init__(self, data: Dataset):
        self.enabled = tuple(data.shape) == (2,)
        self.steps: list[int] = []
        self.samples: list[np.ndarray] = []
        self.d_grid: list[np.ndarray] = []
        if self.enabled:
            self.real = data.sample(SNAPSHOT_POINTS, generator(0, f"{data.name}:snapshot")).numpy()
            lo, hi = self.real.min(0) - 1.0, self.real.max(0) + 1.0
            self.grid_x = np.linspace(lo[0], hi[0], SNAPSHOT_GRID, dtype=np.float32)
            self.grid_y = np.linspace(lo[1], hi[1], SNAPSHOT_GRID, dtype=np.float32)

    @torch.no_grad()
    def take(self, step: int, samples: np.ndarray, D: nn.Module, device: torch.device) -> None:
        if not self.enabled:
            return
        xx, yy = np.meshgrid(self.grid_x, self.grid_y)  # [j, i] = (x_i, y_j)
        pts = torch.as_tensor(np.stack([xx.ravel(), yy.ravel()], 1), device=device)
        was_training = D.training
        D.eval()
        try:
            values = D(pts).float().cpu().numpy().reshape(xx.shape)
        finally:
            D.train(was_training)
        self.steps.append(step)
        self.samples.append(samples[:SNAPSHOT_POINTS].astype(np.float32))
        self.d_grid.append(values)

    def arrays(self) -> dict[str, np.ndarray] | None:
        if not self.enabled or not self.steps:
            return None
        return {"steps": np.asarray(self.steps), "samples": np.stack(self.samples), "real": self.real,
                "grid_x": self.grid_x, "grid_y": self.grid_y, "d_grid": np.stack(self.d_grid)}


def make_dataset(name: str, config: Config) -> Dataset:
    return get_dataset(name, config=config)


def make_evaluator(data: Dataset, config: Config, device: str = "cpu"):
    """The data set's evaluator under the config's evaluation options (one place for train and evaluate)."""
    return data.evaluator(config.n_eval, n_w1=config.n_w1, features=config.features,
                          feature_weights=config.feature_weights, device=device)


def train(spec: RunSpec, run_dir: str | Path | None = None, *, progress: bool = False) -> dict[str, Any]:
    """Train one run and return its summary; with `run_dir`, write the run directory as it goes.

    A NaN/Inf or exploding loss or gradient ends the run with status ``diverged`` (a result, not an
    error). Any other exception marks the run ``failed`` in its directory and is re-raised.
    """
    cfg = spec.config
    device = check_device(spec.device)
    writer = RunWriter(Path(run_dir) if run_dir is not None else None)
    t0 = time.perf_counter()
    with deterministic(device):
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
        protocol = {"evaluator": evaluator.protocol(),
                    "budget": {"steps": cfg.steps, "batch_size": cfg.batch_size, "n_dis": cfg.n_dis},
                    "eval_latent": f"{cfg.n_eval} x N(0, I_{cfg.z_dim}) from the run seed's 'eval' stream",
                    "metric_versions": {m: METRICS.get(m).version for m in evaluator.metrics if m in METRICS}}
        writer.start(spec, {"environment": runs.environment(str(device)), "dataset": data.describe(),
                            "protocol": protocol, "started": _dt.datetime.now(_dt.timezone.utc).isoformat()})
        snapshots = Snapshots(data)
        metrics: dict[str, float] = {}
        eval_time = 0.0
        status, reason, samples = "completed", None, None

        def evaluate() -> None:
            nonlocal metrics, samples, eval_time
            te = time.perf_counter()
            samples = generate(G, z_eval, max(cfg.batch_size, 256), device)
            if not np.isfinite(samples).all():
                raise Diverged(state.step, "generator output is not finite")
            metrics = evaluator.evaluate(samples)
            snapshots.take(state.step, samples, D, device)
            eval_time += time.perf_counter() - te
            writer.evaluation({"step": state.step, "wall_time_s": time.perf_counter() - t0, **metrics})

        steps = range(1, cfg.steps + 1)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=cfg.steps, desc=spec.run_id, unit="step", leave=False)
        t_loop = time.perf_counter()
        try:
            for state.step in steps:
                probe = state.step % cfg.log_every == 0 or state.step == cfg.steps
                state.iteration(probe)
                state.check_finite()
                if probe:
                    writer.history(state.probe_record(t0))
                if cfg.eval_every and state.step % cfg.eval_every == 0 and state.step != cfg.steps:
                    evaluate()
                if bar is not None:
                    bar.update(1)
            evaluate()
        except Diverged as exc:
            status, reason = "diverged", exc.reason
            metrics = {m: float("nan") for m in evaluator.metrics}
            samples = samples if samples is not None and np.isfinite(samples).all() else None
        except BaseException as exc:
            if not isinstance(exc, KeyboardInterrupt):
                writer.fail(state.step, exc)
            raise
        finally:
            if bar is not None:
                bar.close()
        wall = time.perf_counter() - t0
        train_time = max(time.perf_counter() - t_loop - eval_time, 1e-9)  # the loop alone, probes included
        summary = {"status": status, "step": state.step, "reason": reason, "wall_time_s": wall,
                   "eval_time_s": eval_time, "train_time_s": train_time, "g_steps_per_s": state.step / train_time,
                   "metrics": metrics, "protocol": protocol, "run_id": spec.run_id, "fingerprint": spec.fingerprint()}
        writer.finish(summary, samples, snapshots.arrays(),
                      {"G": G.state_dict(), "D": D.state_dict(), "step": state.step})
    return summary
