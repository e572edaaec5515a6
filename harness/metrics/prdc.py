"""Improved precision & recall (Kynkaanniemi et al. 2019) and density & coverage (Naeem et al. 2020),
on feature arrays, float64, exactly as docs/IMAGES.md defines them (Kynkaanniemi et al. 2019; Naeem et al. 2020).

NND_k(x): distance from x to its k-th nearest neighbour in its own set, x itself excluded.
- precision = fraction of generated y with ||y - x_i|| <= NND_k(x_i) for some real x_i   (k = 3)
- recall    = fraction of real x with ||x - y_j|| <= NND_k(y_j) for some generated y_j  (k = 3)
- density   = 1/(k M) sum_j sum_i 1[||y_j - x_i|| < NND_k(x_i)]                          (k = 5, strict)
- coverage  = 1/N sum_i 1[exists j: ||y_j - x_i|| < NND_k(x_i)]                           (k = 5, strict)
with N real and M generated points. Distances are compared squared (the same order), computed in
row blocks (memory O(block * N)); the generated-vs-real matrix is computed once for all four.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from ..errors import HarnessError

BLOCK = 1024


def _sq_norms(x: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", x, x)


def _sq_dist_blocks(a: np.ndarray, b: np.ndarray, block: int = BLOCK) -> Iterator[tuple[slice, np.ndarray]]:
    """Squared Euclidean distances ||a_i - b_j||^2 (>= 0), one block of rows of a at a time."""
    nb = _sq_norms(b)
    for start in range(0, len(a), block):
        sl = slice(start, min(start + block, len(a)))
        blk = a[sl]
        sq = blk @ b.T
        sq *= -2.0
        sq += _sq_norms(blk)[:, None]
        sq += nb[None, :]
        np.maximum(sq, 0.0, out=sq)
        yield sl, sq


def _as_features(x: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x, np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise HarnessError(f"{what} must be an (N >= 2, d) feature array, got shape {x.shape}")
    return x


def knn_sq_radii(x: np.ndarray, ks: tuple[int, ...]) -> np.ndarray:
    """Squared NND_k for each point and each k in `ks` (self excluded): array (len(ks), N)."""
    x = _as_features(x, "points")
    if min(ks) < 1 or max(ks) >= len(x):
        raise HarnessError(f"k-NN radii need 1 <= k < N, got k = {ks} for N = {len(x)}")
    out = np.empty((len(ks), len(x)))
    for sl, d in _sq_dist_blocks(x, x):
        d[np.arange(d.shape[0]), np.arange(sl.start, sl.stop)] = np.inf  # exclude self
        part = np.partition(d, [k - 1 for k in ks], axis=1)
        for a, k in enumerate(ks):
            out[a, sl] = part[:, k - 1]
    return out


def knn_radii(x: np.ndarray, k: int | tuple[int, ...]) -> np.ndarray:
    """NND_k (a distance) for each point; several k give an array (len(k), N)."""
    ks = (k,) if isinstance(k, int) else tuple(k)
    r = np.sqrt(knn_sq_radii(x, ks))
    return r[0] if isinstance(k, int) else r


def prdc(real: np.ndarray, fake: np.ndarray, k_pr: int = 3, k_dc: int = 5,
         real_sq_radii: dict[int, np.ndarray] | None = None) -> dict[str, float]:
    """precision, recall (k_pr), density, coverage (k_dc). `real_sq_radii` ({k: squared NND_k of
    the real points}) may come from a cache of the real features."""
    real, fake = _as_features(real, "real features"), _as_features(fake, "generated features")
    if real.shape[1] != fake.shape[1]:
        raise HarnessError(f"real and generated features differ in width: {real.shape[1]} vs {fake.shape[1]}")
    if real_sq_radii is None or k_pr not in real_sq_radii or k_dc not in real_sq_radii:
        rr = knn_sq_radii(real, (k_pr, k_dc))
        real_sq_radii = {k_pr: rr[0], k_dc: rr[1]}
    r_pr, r_dc = real_sq_radii[k_pr][None, :], real_sq_radii[k_dc][None, :]
    f_pr = knn_sq_radii(fake, (k_pr,))[0]
    precise = np.zeros(len(fake), bool)
    recalled = np.zeros(len(real), bool)
    nearest = np.full(len(real), np.inf)
    density_count = 0
    for sl, d in _sq_dist_blocks(fake, real):  # rows: generated, columns: real
        precise[sl] = (d <= r_pr).any(axis=1)
        density_count += int(np.count_nonzero(d < r_dc))
        recalled |= (d <= f_pr[sl, None]).any(axis=0)
        np.minimum(nearest, d.min(axis=0), out=nearest)
    return {"precision": float(precise.mean()), "recall": float(recalled.mean()),
            "density": density_count / (k_dc * len(fake)), "coverage": float((nearest < r_dc[0]).mean())}


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    out = prdc(real, fake, k_pr=k, k_dc=k)
    return out["precision"], out["recall"]


def density_coverage(real: np.ndarray, fake: np.ndarray, k: int = 5) -> tuple[float, float]:
    out = prdc(real, fake, k_pr=k, k_dc=k)
    return out["density"], out["coverage"]
