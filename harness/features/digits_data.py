"""scikit-learn's bundled 8x8 digits (no download) and the fixed train/test split that the
digits classifier is trained and evaluated on; the ``digits`` data sets sample from the same arrays."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from ..rng import generator

DIGITS_TEST_FRACTION = 0.2
DIGITS_SPLIT_SEED = 0


def load_sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled digits: float32 (1797, 1, 8, 8) in [-1, 1] (pixel values 0..16) and labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images.astype(np.float32) / 8.0 - 1.0)[:, None]
    return np.ascontiguousarray(x), d.target.astype(np.int64)


def digits_split(labels: np.ndarray, test_fraction: float = DIGITS_TEST_FRACTION,
                 seed: int = DIGITS_SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """Fixed stratified split: per class, a seeded permutation; the first round(f * n_c) are test."""
    g = generator(seed, "digits:split")
    train, test = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        perm = idx[torch.randperm(len(idx), generator=g).numpy()]
        n_test = int(round(test_fraction * len(idx)))
        test.append(perm[:n_test])
        train.append(perm[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


@lru_cache(maxsize=1)
def digits_arrays() -> dict[str, np.ndarray]:
    x, y = load_sklearn_digits()
    tr, te = digits_split(y)
    return {"x_train": x[tr], "y_train": y[tr], "x_test": x[te], "y_test": y[te]}
