import numpy as np
import pytest
import torch

from harness.data import get_dataset
from harness.data.toy import grid_centres, ring_centres


def test_ring8_has_8_distinct_centres_on_radius_2():
    c = get_dataset("ring8").centres
    assert c.shape == (8, 2)
    assert len(np.unique(np.round(c, 9), axis=0)) == 8  # linspace(0, 2pi, 8) would give 7
    np.testing.assert_allclose(np.linalg.norm(c, axis=1), 2.0)
    angles = np.sort(np.mod(np.arctan2(c[:, 1], c[:, 0]), 2 * np.pi))
    np.testing.assert_allclose(angles, 2 * np.pi * np.arange(8) / 8, atol=1e-12)
    assert get_dataset("ring8").sigma == 0.02


def test_grid25_is_the_5x5_grid():
    data = get_dataset("grid25")
    assert data.centres.shape == (25, 2)
    assert len(np.unique(data.centres, axis=0)) == 25
    assert set(np.unique(data.centres)) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    assert data.sigma == 0.05


def test_sampling_is_driven_by_the_generator_only():
    data = get_dataset("ring8")
    a = data.sample(100, torch.Generator().manual_seed(3))
    torch.manual_seed(123)  # global RNG must not matter
    b = data.sample(100, torch.Generator().manual_seed(3))
    c = data.sample(100, torch.Generator().manual_seed(4))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_samples_are_equally_weighted_gaussians_around_centres():
    data = get_dataset("grid25")
    x = data.sample(50_000, torch.Generator().manual_seed(0)).double().numpy()
    idx = np.argmin(((x[:, None, :] - data.centres[None]) ** 2).sum(-1), axis=1)
    counts = np.bincount(idx, minlength=25)
    assert counts.min() > 1700 and counts.max() < 2300  # 2000 expected each
    resid = x - data.centres[idx]
    assert abs(resid.std() - 0.05) < 0.002


def test_helpers():
    assert len(ring_centres(5)) == 5
    assert grid_centres(3, 1.0).tolist() == [[-1, -1], [-1, 0], [-1, 1], [0, -1], [0, 0], [0, 1], [1, -1], [1, 0], [1, 1]]


def test_mixture_sample_shape():
    with pytest.raises(Exception):
        get_dataset("ring9")
