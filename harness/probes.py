"""Training diagnostics: parameter-gradient norms, input-gradient norms, singular values.

Probes never change training: they draw from their own random stream, and any D forward they do
runs with D's buffers (spectral-norm vectors, batch-norm statistics) saved and restored.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import numpy as np
import torch
from torch import nn

from .nets.pack import Packed
from .parts.penalties import input_gradients, interpolates
from .rng import generator

SNAPSHOT_POINTS = 512
SNAPSHOT_GRID = 64

Tensor = torch.Tensor


def layer_name(param_name: str) -> str:
    """'net.0.weight' -> 'net.0'; spectral-norm parametrised 'net.0.parametrizations.weight.original' -> 'net.0'."""
    if ".parametrizations." in param_name:
        return param_name.split(".parametrizations.")[0]
    return param_name.rsplit(".", 1)[0] if "." in param_name else param_name


def grad_norms(module: nn.Module, prefix: str) -> dict[str, float]:
    """Total and per-layer L2 norms of the current parameter gradients (call before the optimiser
    step and before any clipping). Keys: ``{prefix}`` and ``{prefix}/{layer}``."""
    names, norms = [], []
    for name, p in module.named_parameters():
        if p.grad is not None:
            names.append(layer_name(name))
            norms.append(p.grad.detach().norm(2))
    if not norms:
        return {}
    values = torch.stack(norms).double().pow(2).cpu().tolist()  # one device sync
    per_layer: dict[str, float] = {}
    for n, v in zip(names, values):
        per_layer[n] = per_layer.get(n, 0.0) + v
    out = {prefix: sum(per_layer.values()) ** 0.5}
    out.update({f"{prefix}/{k}": v ** 0.5 for k, v in per_layer.items()})
    return out


@contextlib.contextmanager
def preserved_buffers(module: nn.Module) -> Iterator[None]:
    """Restore every buffer (spectral-norm u/v, batch-norm running stats) on exit."""
    saved = {k: b.detach().clone() for k, b in module.named_buffers()}
    try:
        yield
    finally:
        with torch.no_grad():
            for k, b in module.named_buffers():
                b.copy_(saved[k])


def input_gradient_stats(d: nn.Module, real: Tensor, fake: Tensor, gen: torch.Generator) -> dict[str, float]:
    """Mean ||grad_x D(x)|| and the fraction above 1 on real, generated and interpolated points
    (x_hat = a x_r + (1 - a) x_g, a ~ U[0,1] from the probe stream); mean D outputs and the critic gap."""
    out: dict[str, Tensor] = {}
    params = [p.requires_grad for p in d.parameters()]
    with preserved_buffers(d):
        for p in d.parameters():
            p.requires_grad_(False)
        try:
            for name, x in (("real", real), ("fake", fake), ("interp", interpolates(real, fake, gen))):
                value, grad = input_gradients(d, x, create_graph=False)
                norms = grad.detach().flatten(1).norm(2, dim=1)
                out[f"input_grad_{name}"] = norms.mean()
                out[f"input_grad_frac_gt1_{name}"] = (norms > 1).double().mean()
                if name in ("real", "fake"):
                    out[f"d_{name}"] = value.detach().mean()
        finally:
            for p, flag in zip(d.parameters(), params):
                p.requires_grad_(flag)
    keys = list(out)
    values = torch.stack([out[k].double() for k in keys]).cpu().tolist()
    stats = dict(zip(keys, values))
    stats["critic_gap"] = stats["d_real"] - stats["d_fake"]
    return stats


@torch.no_grad()
def singular_values(d: nn.Module) -> dict[str, float]:
    """Exact largest singular value of each D weight as D uses it (after spectral norm, if any),
    reshaped to (out, -1). Computed in eval mode so no power iteration runs."""
    was_training = d.training
    d.eval()
    try:
        out = {}
        for name, m in d.named_modules():
            if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d)):
                w = m.weight.detach()
                if isinstance(m, nn.ConvTranspose2d):
                    w = w.transpose(0, 1)
                out[f"sigma_max/{name}"] = torch.linalg.matrix_norm(w.reshape(w.shape[0], -1).double(), ord=2)
        keys = list(out)
        return dict(zip(keys, torch.stack([out[k] for k in keys]).cpu().tolist())) if keys else {}
    finally:
        d.train(was_training)


class Snapshots:
    """For 2-D data: generated samples and D's output on a grid at each evaluation step."""

    def __init__(self, data: Any):
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
        dtype = next(D.parameters()).dtype  # float32 normally; D's own dtype in a float64 comparison
        pts = torch.as_tensor(np.stack([xx.ravel(), yy.ravel()], 1), device=device, dtype=dtype)
        was_training = D.training
        D.eval()
        try:
            # a packed D (PacGAN) judges packs: its map is D on the pack of m copies of each point
            if isinstance(D, Packed):
                pts = pts.repeat(D.pack, 1)
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
