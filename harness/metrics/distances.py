"""Sample distances: Frechet distance between Gaussian fits, exact Wasserstein-1 by assignment."""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from ..errors import HarnessError


def mean_cov(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased (n - 1) covariance in float64."""
    x = np.asarray(x, np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise HarnessError(f"need an (N >= 2, d) array for a covariance, got shape {x.shape}")
    return x.mean(axis=0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     clip: bool = True) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2}), in float64.

    Tr((S1 S2)^{1/2}) = sum_i sqrt(lambda_i(S1 S2)): S1 S2 is similar to the PSD matrix
    S1^{1/2} S2 S1^{1/2}, so its eigenvalues are real and >= 0 up to rounding, which is clipped.
    This is what torchmetrics >= 1.0 and torch-fidelity 0.4 do; it avoids scipy's slower sqrtm.

    Why the public value is clipped at 0 (``clip=True``): the Frechet distance is a squared
    distance, >= 0 by definition, but for (nearly) identical statistics the formula is a difference
    of large equal terms and rounding leaves about -1e-15 * Tr(S1 + S2). A negative "distance" in a
    table, a log-scale plot or a ratio is nonsense, so reports get max(value, 0). The clip hides only
    rounding, never a real error, as long as the unclipped value is right: ``clip=False`` returns it
    as computed, which is what tests check (a self-distance within rounding of 0 on both sides).
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    eig = np.linalg.eigvals(s1 @ s2)
    tr_sqrt = np.sqrt(np.clip(eig.real, 0.0, None)).sum()
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt)
    return max(value, 0.0) if clip else value


def frechet_distance_samples(a: np.ndarray, b: np.ndarray, clip: bool = True) -> float:
    """Frechet distance between the Gaussian fits (mean, n - 1 covariance) of two samples."""
    return frechet_distance(*mean_cov(a), *mean_cov(b), clip=clip)


def wasserstein1_exact(a: np.ndarray, b: np.ndarray) -> float:
    """Exact W1 between two equal-size empirical measures: the optimal assignment under Euclidean
    cost (Hungarian algorithm via scipy), averaged over points. O(n^3): keep n to a few thousand."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise HarnessError(f"W1 needs equal-size samples, got {a.shape} and {b.shape}")
    cost = cdist(a, b)
    rows, cols = linear_sum_assignment(cost)
    return float(cost[rows, cols].mean())
