"""FID on any feature space, and FID-infinity (Chong & Forsyth 2020).

FID = ||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^{1/2}) with (n - 1) covariances, computed in
float64 by :func:`harness.metrics.distances.frechet_distance` (the trace term as the sum of square
roots of the eigenvalues of S_r S_g). FID is biased in N: record N, compare only at equal N.
"""
from __future__ import annotations

import numpy as np

from ..errors import HarnessError
from .distances import frechet_distance


def check_size(n: int, d: int, what: str = "samples") -> None:
    """FID needs N > d, or the covariance estimate is singular by construction."""
    if n <= d:
        raise HarnessError(f"FID needs more {what} than feature dimensions: got N = {n} for d = {d} (use N > {d})")


def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (n - 1) covariance of (N, d) features, float64 (one centred matrix product)."""
    f = np.asarray(features, np.float64)
    if f.ndim != 2:
        raise HarnessError(f"features must be an (N, d) array, got shape {f.shape}")
    check_size(len(f), f.shape[1])
    mu = f.mean(axis=0)
    c = f - mu
    return mu, (c.T @ c) / (len(f) - 1)


def fid_from_stats(mu_r: np.ndarray, sigma_r: np.ndarray, mu_g: np.ndarray, sigma_g: np.ndarray) -> float:
    return frechet_distance(mu_r, sigma_r, mu_g, sigma_g)


def fid(real_features: np.ndarray, fake_features: np.ndarray) -> float:
    """FID between two feature arrays (N_r, d) and (N_g, d)."""
    return frechet_distance(*feature_stats(real_features), *feature_stats(fake_features))


def fid_infinity(mu_r: np.ndarray, sigma_r: np.ndarray, fake_features: np.ndarray, points: int = 5,
                 n_min: int | None = None, seed: int = 0) -> tuple[float, list[int], list[float]]:
    """FID extrapolated to infinitely many generated samples.

    FID is computed on `points` random subsets (without replacement, from `seed`) of the generated
    features, of sizes evenly spaced in 1/N between `n_min` (default max(d + 2, N / 5)) and N (the
    full set); a least-squares line of FID against 1/N is read at 1/N = 0. Returns
    (FID_inf, sizes, FIDs). The real statistics stay fixed (as in Chong & Forsyth's code).
    """
    f = np.asarray(fake_features, np.float64)
    n, d = f.shape
    check_size(n, d)
    if points < 2:
        raise HarnessError(f"fid_infinity needs at least 2 points, got {points}")
    lo = max(d + 2, n // 5) if n_min is None else int(n_min)
    lo = min(max(lo, d + 1), n)
    inv = np.linspace(1.0 / lo, 1.0 / n, points)
    sizes = sorted({int(round(1.0 / v)) for v in inv})
    if len(sizes) < 2:
        raise HarnessError(f"fid_infinity: N = {n} is too small for a fit at d = {d}")
    rng = np.random.default_rng(seed)
    fids = []
    for m in sizes:
        sub = f if m == n else f[rng.choice(n, m, replace=False)]
        fids.append(frechet_distance(mu_r, sigma_r, *feature_stats(sub)))
    slope, intercept = np.polyfit(1.0 / np.asarray(sizes, np.float64), np.asarray(fids), 1)
    return float(intercept), sizes, fids
