"""KID (Binkowski et al. 2018): unbiased MMD^2 with the polynomial kernel k(x, y) = (x.y / d + 1)^3,
averaged over random subsets (100 subsets of 1,000 by default, as torchmetrics and torch-fidelity).

Per subset pair X, Y of size m:
  MMD^2 = sum_{i != j} k(x_i, x_j) / (m (m - 1)) + sum_{i != j} k(y_i, y_j) / (m (m - 1)) - 2 sum_{i, j} k(x_i, y_j) / m^2
(the cross term over all pairs, as the reference implementations). Float64 throughout.

Subsets are drawn without replacement, the real ones from ``default_rng([seed, 0])`` and the
generated ones from ``default_rng([seed, 1])``: the value is a pure function of the inputs and the
seed, and :class:`KIDReference` can keep the real-real sums of a fixed reference set between calls.
"""
from __future__ import annotations

import numpy as np

from ..errors import HarnessError


def polynomial_kernel(a: np.ndarray, b: np.ndarray, degree: int = 3, coef: float = 1.0) -> np.ndarray:
    k = a @ b.T
    k /= a.shape[1]
    k += coef
    return k * k * k if degree == 3 else k ** degree  # k*k*k: numpy's float ** 3 is ~8x slower


def _offdiag_sum(x: np.ndarray, degree: int, coef: float) -> float:
    k = polynomial_kernel(x, x, degree, coef)
    return float(k.sum() - np.trace(k))


def mmd2_unbiased(x: np.ndarray, y: np.ndarray, degree: int = 3, coef: float = 1.0) -> float:
    m = len(x)
    if m < 2 or len(y) != m:
        raise HarnessError(f"MMD^2 needs two subsets of one size >= 2, got {len(x)} and {len(y)}")
    kxy = polynomial_kernel(x, y, degree, coef).sum()
    return float((_offdiag_sum(x, degree, coef) + _offdiag_sum(y, degree, coef)) / (m * (m - 1)) - 2.0 * kxy / (m * m))


def _check(r: np.ndarray, f: np.ndarray) -> None:
    if r.ndim != 2 or f.ndim != 2 or r.shape[1] != f.shape[1]:
        raise HarnessError(f"KID needs (N, d) features of one width, got {r.shape} and {f.shape}")


class KIDReference:
    """KID against a fixed real feature set: the real subsets and their kernel sums are computed
    once (for a given subset size) and reused for every generated set."""

    def __init__(self, real_features: np.ndarray, subsets: int = 100, subset_size: int = 1000, seed: int = 0,
                 degree: int = 3, coef: float = 1.0):
        self.real = np.asarray(real_features, np.float64)
        self.subsets, self.subset_size, self.seed = int(subsets), int(subset_size), int(seed)
        self.degree, self.coef = int(degree), float(coef)
        self._m: int | None = None
        self._subsets: list[tuple[np.ndarray, float]] = []

    def _real_subsets(self, m: int) -> list[tuple[np.ndarray, float]]:
        if self._m != m:
            rng = np.random.default_rng([self.seed, 0])
            subs = [self.real[rng.choice(len(self.real), m, replace=False)] for _ in range(self.subsets)]
            self._subsets = [(x, _offdiag_sum(x, self.degree, self.coef)) for x in subs]
            self._m = m
        return self._subsets

    def score(self, fake_features: np.ndarray) -> tuple[float, float, int]:
        """(mean, standard deviation (ddof 0) over subsets, subset size used)."""
        f = np.asarray(fake_features, np.float64)
        _check(self.real, f)
        m = min(self.subset_size, len(self.real), len(f))
        if m < 2:
            raise HarnessError(f"KID needs at least 2 samples per set, got {len(self.real)} real and {len(f)} generated")
        rng = np.random.default_rng([self.seed, 1])
        vals = np.empty(self.subsets)
        for s, (x, sxx) in enumerate(self._real_subsets(m)):
            y = f[rng.choice(len(f), m, replace=False)]
            syy = _offdiag_sum(y, self.degree, self.coef)
            sxy = float(polynomial_kernel(x, y, self.degree, self.coef).sum())
            vals[s] = (sxx + syy) / (m * (m - 1)) - 2.0 * sxy / (m * m)
        return float(vals.mean()), float(vals.std()), m


def kid(real_features: np.ndarray, fake_features: np.ndarray, subsets: int = 100, subset_size: int = 1000,
        seed: int = 0, degree: int = 3, coef: float = 1.0) -> tuple[float, float, int]:
    """(mean, standard deviation (ddof 0) over subsets, subset size used); the subset size is
    min(subset_size, N_real, N_generated)."""
    return KIDReference(real_features, subsets, subset_size, seed, degree, coef).score(fake_features)
