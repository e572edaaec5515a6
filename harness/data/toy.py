"""Toy 2-D Gaussian mixtures for mode-collapse studies (geometry and sources: README, "Data sets").

- ring8: 8 centres on a circle of radius 2 at angles 2 pi k / 8, k = 0..7, sigma 0.02 (Unrolled GAN).
- grid25: the 5 x 5 grid {-4, -2, 0, 2, 4}^2, sigma 0.05 (VEEGAN, PacGAN).
Components are equally likely.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ..errors import HarnessError
from ..metrics.distances import frechet_distance_samples, wasserstein1_exact
from ..metrics.modes import HQ_THRESHOLD, mode_metrics, nearest_centres
from ..rng import generator
from .base import DATASETS, Dataset, Evaluator

REFERENCE_SEED = 0  # the real reference sample every evaluator compares against


def ring_centres(k: int = 8, radius: float = 2.0) -> np.ndarray:
    # arange, not linspace(0, 2 pi, k): linspace includes the end point and duplicates a mode
    angles = 2 * math.pi * np.arange(k) / k
    return np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)


def grid_centres(side: int = 5, spacing: float = 2.0) -> np.ndarray:
    coords = (np.arange(side) - (side - 1) / 2) * spacing
    xx, yy = np.meshgrid(coords, coords, indexing="ij")
    return np.stack([xx.ravel(), yy.ravel()], axis=1)


class Mixture(Dataset):
    evaluator_options = ("n_w1",)

    def __init__(self, name: str, centres: np.ndarray, sigma: float, source: str = ""):
        self.name = name
        self.centres = np.asarray(centres, dtype=np.float64)
        self.sigma = float(sigma)
        self.source = source
        self.shape = (self.centres.shape[1],)
        self._centres_t = torch.as_tensor(self.centres, dtype=torch.float32)

    @property
    def n_modes(self) -> int:
        return len(self.centres)

    def sample(self, n: int, gen: torch.Generator) -> torch.Tensor:
        idx = torch.randint(self.n_modes, (n,), generator=gen)
        noise = torch.randn((n, self.shape[0]), generator=gen)
        return self._centres_t[idx] + self.sigma * noise

    def null_models(self) -> dict[str, Any]:
        """``real``; ``null-gaussian``: one Gaussian with the mixture's mean and covariance;
        ``null-uniform``: uniform over the centres' bounding box widened on every side by half the
        median distance between neighbouring centres."""
        mean = self.centres.mean(axis=0)
        cov = np.cov(self.centres, rowvar=False, bias=True).reshape(self.shape * 2) + self.sigma ** 2 * np.eye(self.shape[0])
        chol = torch.as_tensor(np.linalg.cholesky(cov), dtype=torch.float64)
        lo, hi = self.uniform_box()

        def gaussian(n: int, gen: torch.Generator) -> torch.Tensor:
            z = torch.randn((n, self.shape[0]), generator=gen, dtype=torch.float64)
            return torch.as_tensor(mean) + z @ chol.T

        def uniform(n: int, gen: torch.Generator) -> torch.Tensor:
            u = torch.rand((n, self.shape[0]), generator=gen, dtype=torch.float64)
            return torch.as_tensor(lo) + u * torch.as_tensor(hi - lo)

        return {"real": self.sample, "null-gaussian": gaussian, "null-uniform": uniform}

    def uniform_box(self) -> tuple[np.ndarray, np.ndarray]:
        d = np.linalg.norm(self.centres[:, None] - self.centres[None], axis=-1)
        np.fill_diagonal(d, np.inf)
        margin = 0.5 * float(np.median(d.min(axis=1))) if self.n_modes > 1 else 3 * self.sigma
        return self.centres.min(axis=0) - margin, self.centres.max(axis=0) + margin

    def sample_exact(self, n: int, seed: int) -> np.ndarray:
        return self.sample(n, generator(seed, f"{self.name}:exact")).double().numpy()

    def evaluator(self, n_eval: int, *, device: str = "cpu", n_w1: int = 1000) -> "MixtureEvaluator":
        """`device` is accepted for the common interface: the metric math runs on the CPU in float64."""
        return MixtureEvaluator(self, n_eval, n_w1)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "n_modes": self.n_modes, "sigma": self.sigma,
                "centres": self.centres.tolist(), "source": self.source}


class MixtureEvaluator(Evaluator):
    metrics = ("modes_covered", "hq_fraction", "reverse_kl", "frechet_distance", "w1")

    def __init__(self, data: Mixture, n_eval: int, n_w1: int):
        self.data = data
        self.n_eval = int(n_eval)
        self.n_w1 = int(min(n_w1, n_eval))
        ref_gen = generator(REFERENCE_SEED, f"{data.name}:reference")
        self.reference = data.sample(self.n_eval, ref_gen).double().numpy()

    def check_samples(self, samples: Any) -> np.ndarray:
        arr = np.asarray(samples.detach().cpu() if isinstance(samples, torch.Tensor) else samples)
        if arr.ndim != 2 or arr.shape[1] != self.data.shape[0]:
            raise HarnessError(f"samples for {self.data.name} must have shape (N, {self.data.shape[0]}), got {tuple(arr.shape)}")
        if arr.shape[0] < 2:
            raise HarnessError(f"need at least 2 samples, got {arr.shape[0]}")
        if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
            raise HarnessError(f"samples must be real numbers, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
        if not np.isfinite(arr).all():
            raise HarnessError(f"samples contain {int((~np.isfinite(arr)).sum())} NaN/Inf values")
        return arr

    def evaluate(self, samples: Any) -> dict[str, float]:
        return self.evaluate_with_details(samples)[0]

    def evaluate_with_details(self, samples: Any) -> tuple[dict[str, float], dict[str, Any]]:
        """The metrics, and per mode the number of high-quality samples whose nearest centre it is
        (``mode_counts``: which modes are covered, not only how many)."""
        x = self.check_samples(samples)
        out = mode_metrics(x, self.data.centres, self.data.sigma)
        idx, dist = nearest_centres(x, self.data.centres, self.data.sigma)
        counts = np.bincount(idx[dist < HQ_THRESHOLD], minlength=self.data.n_modes)
        ref = self.reference if len(x) == self.n_eval else self._reference(len(x))
        out["frechet_distance"] = frechet_distance_samples(ref, x)
        n = min(self.n_w1, len(x))
        out["w1"] = wasserstein1_exact(ref[:n], x[:n])
        return out, {"mode_counts": [int(c) for c in counts]}

    def _reference(self, n: int) -> np.ndarray:
        return self.data.sample(n, generator(REFERENCE_SEED, f"{self.data.name}:reference")).double().numpy()

    def protocol(self) -> dict[str, Any]:
        return {"n_eval": self.n_eval, "n_w1": self.n_w1, "reference_seed": REFERENCE_SEED,
                "hq_threshold_sigma": HQ_THRESHOLD, "mode_metrics": "VEEGAN (Srivastava et al. 2017)"}


def _ring8(**_: Any) -> Mixture:
    """8 Gaussians on a circle of radius 2, sigma 0.02 (Unrolled GAN)"""
    return Mixture("ring8", ring_centres(8, 2.0), 0.02, "Unrolled GAN (Metz et al. 2017)")


def _grid25(**_: Any) -> Mixture:
    """5 x 5 grid of Gaussians {-4,-2,0,2,4}^2, sigma 0.05 (VEEGAN, PacGAN)"""
    return Mixture("grid25", grid_centres(5, 2.0), 0.05, "VEEGAN (Srivastava et al. 2017), PacGAN (Lin et al. 2018)")


DATASETS.register("ring8", _ring8)
DATASETS.register("grid25", _grid25)
