"""Mode metrics for mixtures (VEEGAN's definitions, Srivastava et al. 2017, reused by PacGAN).

For each sample, the nearest centre by sigma-normalised distance d = ||x - mu|| / sigma; the sample
is high quality if d < 3 (strict). modes covered = centres that are the nearest centre of at least
one high-quality sample; hq_fraction = high-quality / N; reverse_kl = KL(p_hat || uniform over K)
with p_hat the histogram of high-quality samples over modes. With no high-quality sample the KL is
undefined and reported as +inf (hq_fraction = 0 flags it), never 0.

VEEGAN's count is weak evidence on a dense grid: uniform noise over grid25's box puts one or two
high-quality samples near most centres and "covers" about 22 of 25 modes at N = 2,500. So beside it
the harness reports ``modes_covered_k``: the modes that hold at least k high-quality samples, with
k = ceil(KEEP_FRACTION x N / K), a tenth of what a perfect sampler puts in each mode (k = 32 for
ring8, 10 for grid25 at N = 2,500). A uniform sampler reaches that count in no grid25 mode.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.spatial.distance import cdist
from scipy.special import rel_entr

HQ_THRESHOLD = 3.0
#: modes_covered_k counts a mode when it holds >= KEEP_FRACTION x N / K high-quality samples
KEEP_FRACTION = 0.1


def min_count(n: int, n_modes: int, fraction: float = KEEP_FRACTION) -> int:
    """k of modes_covered_k: ceil(fraction x n / n_modes), at least 1."""
    return max(1, math.ceil(fraction * n / n_modes - 1e-9))


def nearest_centres(x: np.ndarray, centres: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """(index of nearest centre, sigma-normalised distance to it) for each sample."""
    d = cdist(np.asarray(x, np.float64), np.asarray(centres, np.float64))
    idx = d.argmin(axis=1)
    return idx, d[np.arange(len(x)), idx] / sigma


def reverse_kl_uniform(counts: np.ndarray) -> float:
    """KL(p_hat || uniform) for a histogram of counts; +inf for an empty histogram."""
    counts = np.asarray(counts, np.float64)
    total = counts.sum()
    if total == 0:
        return float("inf")
    p = counts / total
    return float(rel_entr(p, np.full_like(p, 1.0 / len(p))).sum())


def mode_counts(x: np.ndarray, centres: np.ndarray, sigma: float,
                threshold: float = HQ_THRESHOLD) -> tuple[np.ndarray, float]:
    """(high-quality samples per mode, fraction of samples that are high quality).

    The counts are what evaluations.jsonl stores as "mode_counts": a mode is covered when its
    count is > 0, so modes_covered == (counts > 0).sum() and the counts also say *which* modes."""
    idx, dist = nearest_centres(x, centres, sigma)
    hq = dist < threshold
    return np.bincount(idx[hq], minlength=len(centres)), float(hq.mean())


def mode_metrics(x: np.ndarray, centres: np.ndarray, sigma: float, threshold: float = HQ_THRESHOLD) -> dict[str, float]:
    counts, hq_fraction = mode_counts(x, centres, sigma, threshold)
    return {
        "modes_covered_k": int((counts >= min_count(len(x), len(centres))).sum()),
        "modes_covered": int((counts > 0).sum()),
        "hq_fraction": hq_fraction,
        "reverse_kl": reverse_kl_uniform(counts),
    }
