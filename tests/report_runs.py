"""Synthetic run directories (docs/RUN_FORMAT.md) for the report tests, written with the run
store's own atomic writers: known values in, so the report's numbers can be checked exactly."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from harness.runs import append_jsonl, atomic_write_json, atomic_write_npy, atomic_write_npz

STEPS = 1000


def protocol(n_eval: int = 2500, steps: int = STEPS, n_dis: int | None = 1, **evaluator: Any) -> dict[str, Any]:
    """A trained run's summary protocol; n_dis=None: the current format (n_dis lives in spec.json
    config only), an int: the older format that kept it in the budget."""
    budget = {"steps": steps, "batch_size": 256, **({"n_dis": n_dis} if n_dis is not None else {})}
    return {"evaluator": {"n_eval": n_eval, "n_w1": 1000, "reference_seed": 0, **evaluator},
            "budget": budget,
            "eval_latent": f"{n_eval} x N(0, I_16) from the run seed's 'eval' stream",
            "metric_versions": {"modes_covered_k": "1", "modes_covered": "1", "hq_fraction": "1", "reverse_kl": "1",
                                "frechet_distance": "1", "w1": "1"}}


def point_label(grid: dict[str, Any]) -> str:
    return ",".join(f"{k}={grid[k]}" for k in sorted(grid))


def make_run(root: Path, variant: str, dataset: str, seed: int, metrics: dict[str, float], *,
             status: str = "completed", step: int | None = None, reason: str | None = None,
             history: list[dict] | None = None, evaluations: list[dict] | None = None,
             proto: dict | None = None, n_modes: int | None = 8, shape: tuple[int, ...] = (2,),
             samples: np.ndarray | None = None, snapshots: dict[str, np.ndarray] | None = None,
             write_summary: bool = True, grid: dict[str, Any] | None = None, config: dict[str, Any] | None = None,
             summary_extra: dict[str, Any] | None = None, wall_time: float = 1.0,
             dataset_extra: dict[str, Any] | None = None, setting: str | None = None) -> Path:
    """A trained run. grid: its grid point (the run lives under <variant>/<dataset>/<point>/);
    config: extra spec.json config fields (e.g. n_dis); summary_extra: extra summary.json fields
    (e.g. g_steps, d_steps, eval_noise)."""
    path = Path(root) / variant / dataset / (point_label(grid) if grid else "") / f"seed-{seed}"
    path.mkdir(parents=True, exist_ok=True)
    step = STEPS if step is None else step
    spec = {"variant": variant, "dataset": dataset, "seed": seed, "device": "cpu",
            "config": {"steps": STEPS, "batch_size": 256, **(config or {})}, "fingerprint": "f" * 16}
    if grid:
        spec["grid"] = grid
    if setting is not None:
        spec["setting"] = setting
    atomic_write_json(path / "spec.json", spec)
    data = {"name": dataset, "shape": list(shape), **(dataset_extra or {})}
    if n_modes:
        data["n_modes"] = n_modes
    proto = protocol() if proto is None else proto
    atomic_write_json(path / "manifest.json", {"environment": {}, "dataset": data, "protocol": proto,
                                               "started": "2024-01-01T00:00:00+00:00"})
    for rec in history if history is not None else default_history():
        append_jsonl(path / "history.jsonl", rec)
    for rec in evaluations if evaluations is not None else default_evaluations(metrics):
        append_jsonl(path / "evaluations.jsonl", rec)
    if samples is not None:
        atomic_write_npy(path / "samples.npy", samples)
    if snapshots is not None:
        atomic_write_npz(path / "snapshots.npz", **snapshots)
    if write_summary:
        atomic_write_json(path / "summary.json", {"status": status, "step": step, "reason": reason,
                                                  "wall_time_s": wall_time, "metrics": metrics, "protocol": proto,
                                                  "g_steps_per_s": 100.0, **(summary_extra or {})})
    atomic_write_json(path / "status.json", {"status": status, "step": step, "reason": reason})
    return path


def make_reference(root: Path, name: str, dataset: str, seed: int, metrics: dict[str, float], *,
                   proto: dict | None = None, n_modes: int | None = 8, shape: tuple[int, ...] = (2,),
                   wall_time: float = 0.5, dataset_extra: dict[str, Any] | None = None) -> Path:
    """A reference pseudo-run (real, null-gaussian, null-uniform) as the run store writes it: no
    history, evaluations, samples or checkpoint; its protocol is the evaluator and metric versions."""
    path = Path(root) / name / dataset / f"seed-{seed}"
    path.mkdir(parents=True, exist_ok=True)
    full = protocol() if proto is None else proto
    atomic_write_json(path / "spec.json", {"variant": name, "dataset": dataset, "seed": seed, "device": "cpu",
                                           "config": {"steps": STEPS, "batch_size": 256}, "fingerprint": "r" * 16,
                                           "reference": True})
    data = {"name": dataset, "shape": list(shape), **(dataset_extra or {})}
    if n_modes:
        data["n_modes"] = n_modes
    atomic_write_json(path / "manifest.json", {"environment": {}, "dataset": data})
    atomic_write_json(path / "summary.json", {"status": "completed", "step": 0, "reason": None, "reference": name,
                                              "metrics": metrics, "wall_time_s": wall_time,
                                              "protocol": {"evaluator": full["evaluator"],
                                                           "metric_versions": full["metric_versions"]}})
    atomic_write_json(path / "status.json", {"status": "completed", "step": 0, "reason": None})
    return path


def default_history(n: int = 10, grad_g: float = 0.5, loss_d: float = 1.2) -> list[dict]:
    return [{"step": (i + 1) * STEPS // n, "wall_time_s": 0.1 * i, "loss_d": loss_d, "loss_g": 0.7,
             "grad_norm_g": grad_g * (1 + 0.1 * math.sin(i)), "grad_norm_d": 2.0 + 0.1 * i,
             "input_grad_real": 0.3, "input_grad_fake": 0.4, "input_grad_interp": 0.35} for i in range(n)]


def default_evaluations(metrics: dict[str, float], n: int = 4) -> list[dict]:
    """n evaluations that end at the final metrics (a flat curve)."""
    return [{"step": (i + 1) * STEPS // n, "wall_time_s": 0.1 * i, **metrics} for i in range(n)]


def snapshot_arrays(steps: int = 3, m: int = 64, r: int = 16, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    gx = np.linspace(-3, 3, r, dtype=np.float32)
    gy = np.linspace(-3, 3, r, dtype=np.float32)
    xx, yy = np.meshgrid(gx, gy)
    return {"steps": np.arange(1, steps + 1) * 100, "samples": rng.normal(size=(steps, m, 2)).astype(np.float32),
            "real": rng.normal(size=(m, 2)).astype(np.float32), "grid_x": gx, "grid_y": gy,
            "d_grid": np.stack([np.sin(xx + k) * np.cos(yy) for k in range(steps)]).astype(np.float32)}


def mixture_metrics(modes: float, hq: float = 0.95, kl: float = 0.01, fd: float = 0.05, w1: float = 0.1) -> dict:
    return {"modes_covered": modes, "hq_fraction": hq, "reverse_kl": kl, "frechet_distance": fd, "w1": w1}
