"""Image metrics on feature arrays, with known answers and independent cross-checks.

FID: analytic cases and scipy.linalg.sqrtm (float64) as an independent implementation; KID:
torchmetrics on the same features; precision/recall and density/coverage: a brute-force
transcription of the definitions, the mode-collapse pattern, the symmetry under swapping real and
fake, and Naeem et al.'s expected coverage; stacked mode metrics: exact and sampling-noise answers.
Known-broken implementations prove that the checks can fail.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch
from scipy.spatial.distance import cdist

from harness.errors import HarnessError
from harness.metrics import METRICS
from harness.metrics.cache import cached_arrays, key_hash
from harness.metrics.fid import feature_stats, fid, fid_from_stats, fid_infinity
from harness.metrics.kid import KIDReference, kid, mmd2_unbiased
from harness.metrics.prdc import density_coverage, knn_radii, prdc, precision_recall
from harness.metrics.stacked import mode_ids, stacked_mode_metrics


def gauss(n: int, d: int, seed: int, shift: float = 0.0, scale: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(shift, scale, size=(n, d))


# ----------------------------------------------------------------------------------------- FID
def test_fid_of_a_set_against_itself_is_zero():
    x = gauss(500, 20, 0) @ gauss(20, 20, 1)  # correlated features
    assert fid(x, x) == pytest.approx(0.0, abs=1e-6)


def test_fid_with_equal_covariances_is_the_squared_mean_difference():
    x = gauss(400, 16, 2) @ gauss(16, 16, 3)
    delta = np.linspace(-1.0, 2.0, 16)
    assert fid(x, x + delta) == pytest.approx(float(delta @ delta), rel=1e-6)


def scipy_fid(a: np.ndarray, b: np.ndarray) -> float:
    """Independent float64 reference: sample statistics by numpy, matrix square root by scipy."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    covmean = covmean.real if np.iscomplexobj(covmean) else covmean
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fid_matches_scipy_sqrtm(seed):
    a = gauss(300, 24, seed) @ gauss(24, 24, seed + 10)
    b = gauss(250, 24, seed + 20, shift=0.3, scale=1.5) @ gauss(24, 24, seed + 30)
    ref = scipy_fid(a, b)
    assert ref > 1.0
    assert fid(a, b) == pytest.approx(ref, rel=1e-6)


def test_fid_statistics_match_numpy_cov_and_fid_is_symmetric():
    a, b = gauss(300, 10, 5), gauss(300, 10, 6, shift=0.5)
    mu, sigma = feature_stats(a)
    np.testing.assert_allclose(sigma, np.cov(a, rowvar=False), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(mu, a.mean(0))
    assert fid(a, b) == pytest.approx(fid(b, a), rel=1e-9)


def test_fid_needs_more_samples_than_dimensions():
    with pytest.raises(HarnessError, match="N = 10 for d = 10"):
        fid(gauss(10, 10, 0), gauss(50, 10, 1))


def test_fid_barely_moves_with_the_network_batch_shape():
    """Features come from fixed chunks (bit-identical whatever the caller does, tests/test_features.py);
    even a different chunk, where kernels may differ in the last bits, moves FID only at float level."""
    from harness.data import get_dataset
    from harness.features import get_features

    data = get_dataset("stacked-digits")
    ext = get_features("digits-classifier")
    real = ext.features(data.reference(600))
    x = data.sample(400, torch.Generator().manual_seed(3)) * 0.9  # not the reference draw
    ext.chunk = 7
    small = ext.features(x)
    ext.chunk = 400
    large = ext.features(x)
    assert fid(real, small) == pytest.approx(fid(real, large), rel=1e-6)


def test_fid_infinity_extrapolates_the_small_sample_bias_away():
    d, n = 32, 8000
    mu_r, sigma_r = np.zeros(d), np.eye(d)  # exact real statistics; the population FID is 0
    fake = gauss(n, d, 11)
    fid_n = fid_from_stats(mu_r, sigma_r, *feature_stats(fake))
    inf, sizes, fids = fid_infinity(mu_r, sigma_r, fake, points=8, n_min=500)
    assert sizes[0] == 500 and sizes[-1] == n and len(sizes) == 8
    assert fids[0] > 0.4 and fids[0] > fids[3] > fids[-1] == fid_n  # biased upwards at small N
    assert fid_n > 0.03  # about d (d + 1) / (4 N) + d / (2 N) even at N = 8000
    assert abs(inf) < 0.025  # the extrapolation removes the bias


# ----------------------------------------------------------------------------------------- KID
def test_kid_matches_torchmetrics_on_the_same_features_exactly():
    from torchmetrics.image.kid import poly_mmd

    a, b = gauss(300, 12, 7), gauss(300, 12, 8, shift=0.2)
    # one subset of all samples: both estimators see the same pairs, so they must agree exactly
    ours = kid(a, b, subsets=1, subset_size=300)[0]
    ref = float(poly_mmd(torch.from_numpy(a), torch.from_numpy(b)))
    assert ours == pytest.approx(ref, rel=1e-10)
    assert mmd2_unbiased(a, b) == pytest.approx(ref, rel=1e-10)


@pytest.mark.slow
def test_kid_with_100_subsets_of_1000_agrees_with_torchmetrics_kid_metric():
    from harness.metrics.tm import ExtractorModule  # noqa: F401  (import check of the wrapper module)
    from torchmetrics.image.kid import KernelInceptionDistance

    a, b = gauss(1500, 16, 9), gauss(1500, 16, 10, shift=0.15)
    ours, ours_std, m = kid(a, b)
    assert m == 1000
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match="save all extracted features"):
        metric = KernelInceptionDistance(feature=torch.nn.Identity(), subsets=100, subset_size=1000)
    metric.update(torch.from_numpy(a), real=True)
    metric.update(torch.from_numpy(b), real=False)
    ref, ref_std = (float(v) for v in metric.compute())
    # different random subsets: agree within the subset noise (std / sqrt(100) each)
    assert abs(ours - ref) < 4 * max(ours_std, ref_std) / math.sqrt(100) * math.sqrt(2)
    assert ours > 10 * ours_std / math.sqrt(100)  # and the shift is detected


def direct_unbiased_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with the cubic kernel k(a, b) = (a.b / d + 1)^3, written out pair by pair
    (independent of the vectorised sums in harness.metrics.kid)."""
    m, d = len(x), x.shape[1]

    def k(a: np.ndarray, b: np.ndarray) -> float:
        return (sum(float(ai) * float(bi) for ai, bi in zip(a, b)) / d + 1.0) ** 3

    kxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    kyy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    kxy = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
    return kxx / (m * (m - 1)) + kyy / (m * (m - 1)) - 2.0 * kxy / (m * m)


def direct_kid(real: np.ndarray, fake: np.ndarray, subsets: int, subset_size: int, seed: int):
    """KID as the kid module's docstring specifies it: m = min(subset_size, N_real, N_fake); real
    subsets drawn without replacement from default_rng([seed, 0]), generated ones from
    default_rng([seed, 1]); mean and standard deviation (ddof 0) of the direct MMD^2 over subsets."""
    m = min(subset_size, len(real), len(fake))
    rng_r, rng_f = np.random.default_rng([seed, 0]), np.random.default_rng([seed, 1])
    real_idx = [rng_r.choice(len(real), m, replace=False) for _ in range(subsets)]
    vals = [direct_unbiased_mmd2(real[ri], fake[rng_f.choice(len(fake), m, replace=False)]) for ri in real_idx]
    return float(np.mean(vals)), float(np.std(vals)), m


def test_kid_reference_reuses_real_sums_and_matches_a_direct_computation():
    a, b, c, small = gauss(120, 6, 1), gauss(100, 6, 2), gauss(90, 6, 3, shift=1.0), gauss(30, 6, 5)
    ref = KIDReference(a, subsets=5, subset_size=40, seed=4)

    def check(fake: np.ndarray) -> None:
        mean, std, m = ref.score(fake)
        want_mean, want_std, want_m = direct_kid(a, fake, subsets=5, subset_size=40, seed=4)
        assert m == want_m
        assert mean == pytest.approx(want_mean, rel=1e-9, abs=1e-12)
        assert std == pytest.approx(want_std, rel=1e-9, abs=1e-12)

    check(b)
    check(c)  # the real sums kept from the first call are still right for another generated set
    check(small)  # 30 generated samples: the subset size drops to 30, the real subsets are redrawn
    check(b)  # and back to 40: not a stale cache of the size-30 subsets
    assert ref.score(c)[0] > 50 * abs(ref.score(b)[0])
    assert kid(a, c, subsets=5, subset_size=40, seed=4) == pytest.approx(direct_kid(a, c, 5, 40, 4), rel=1e-9)


def test_kid_of_one_distribution_is_near_zero_and_can_be_negative():
    vals = [kid(gauss(500, 8, s), gauss(500, 8, s + 100), subsets=20, subset_size=500)[0] for s in range(6)]
    assert max(abs(v) for v in vals) < 0.05
    assert min(vals) < 0 < max(vals)  # unbiased: not clipped at 0


def biased_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Known-broken KID: the V-statistic (diagonals included), biased upwards."""
    k = lambda a, b: (a @ b.T / a.shape[1] + 1) ** 3  # noqa: E731
    m = len(x)
    return float(k(x, x).sum() / m**2 + k(y, y).sum() / m**2 - 2 * k(x, y).sum() / m**2)


def test_unbiased_mmd_matches_a_direct_computation_that_a_known_broken_v_statistic_fails():
    a, b = gauss(50, 12, 7), gauss(50, 12, 8)
    direct = direct_unbiased_mmd2(a, b)
    assert mmd2_unbiased(a, b) == pytest.approx(direct, rel=1e-9, abs=1e-12)
    assert kid(a, b, subsets=1, subset_size=50)[0] == pytest.approx(direct, rel=1e-9, abs=1e-12)
    # the same cross-check rejects the V-statistic (diagonal terms included): it has power
    assert biased_mmd2(a, b) - direct > 0.05
    with pytest.raises(AssertionError):
        assert biased_mmd2(a, b) == pytest.approx(direct, rel=1e-6)


# --------------------------------------------------------------------- precision/recall, density/coverage
def brute_force_prdc(real: np.ndarray, fake: np.ndarray, k_pr: int = 3, k_dc: int = 5) -> dict[str, float]:
    """The definitions of docs/IMAGES.md (Kynkaanniemi et al. 2019; Naeem et al. 2020), transcribed with explicit loops."""
    drr, dff, dfr = cdist(real, real), cdist(fake, fake), cdist(fake, real)

    def nnd(dmat: np.ndarray, i: int, k: int) -> float:
        others = np.delete(dmat[i], i)  # self excluded
        return float(np.sort(others)[k - 1])

    r_pr = [nnd(drr, i, k_pr) for i in range(len(real))]
    r_dc = [nnd(drr, i, k_dc) for i in range(len(real))]
    f_pr = [nnd(dff, j, k_pr) for j in range(len(fake))]
    precision = np.mean([any(dfr[j, i] <= r_pr[i] for i in range(len(real))) for j in range(len(fake))])
    recall = np.mean([any(dfr[j, i] <= f_pr[j] for j in range(len(fake))) for i in range(len(real))])
    density = sum(dfr[j, i] < r_dc[i] for j in range(len(fake)) for i in range(len(real))) / (k_dc * len(fake))
    coverage = np.mean([any(dfr[j, i] < r_dc[i] for j in range(len(fake))) for i in range(len(real))])
    return {"precision": precision, "recall": recall, "density": density, "coverage": coverage}


def test_prdc_equals_a_brute_force_transcription_of_the_definitions():
    real = gauss(70, 5, 1)
    fake = np.concatenate([gauss(40, 5, 2, shift=0.4, scale=0.6), gauss(20, 5, 3, scale=2.0)])
    ours, ref = prdc(real, fake), brute_force_prdc(real, fake)
    assert ours == pytest.approx(ref, abs=1e-12)
    assert 0 < ours["precision"] < 1 and 0 < ours["recall"] < 1 and 0 < ours["coverage"] < 1
    assert precision_recall(real, fake) == pytest.approx((ref["precision"], ref["recall"]), abs=1e-12)
    assert density_coverage(real, fake) == pytest.approx((ref["density"], ref["coverage"]), abs=1e-12)


def test_knn_radii_exclude_the_point_itself_and_count_duplicates():
    x = np.array([[0.0], [0.0], [1.0], [3.0], [7.0]])
    np.testing.assert_allclose(knn_radii(x, 1), [0, 0, 1, 2, 4])
    np.testing.assert_allclose(knn_radii(x, 2), [1, 1, 1, 3, 6])


def col(*values: float) -> np.ndarray:
    """1-D points as an (N, 1) feature array. Small integers: every squared distance is exact in
    float64, so the ties below are exact ties."""
    return np.array(values, dtype=np.float64)[:, None]


def test_precision_counts_a_generated_point_exactly_on_a_real_ball_boundary():
    # Kynkaanniemi et al. 2019, k = 3: y is inside if ||y - x_i|| <= NND_3(x_i) for some real x_i.
    # real R = 0, 0, 1, 4 (0 twice: the other copy is a neighbour at distance 0, self excluded)
    #   NND_3(0) : others 0, 1, 4   -> distances 0, 1, 4 -> 4   (both copies)
    #   NND_3(1) : others 0, 0, 4   -> distances 1, 1, 3 -> 3
    #   NND_3(4) : others 0, 0, 1   -> distances 4, 4, 3 -> 4
    # generated F = 8, -4, 2, 9
    #   8 : |8 - 4| = 4 = NND_3(4)        tie      (|8 - 1| = 7 > 3, |8 - 0| = 8 > 4)
    #  -4 : |-4 - 0| = 4 = NND_3(0)       tie      (|-4 - 1| = 5 > 3, |-4 - 4| = 8 > 4)
    #   2 : |2 - 1| = 1 < 3               strictly inside
    #   9 : |9 - 4| = 5 > 4, |9 - 1| = 8 > 3, |9 - 0| = 9 > 4: outside
    # precision = 3/4 with <= (the protocol); a strict < would give 1/4.
    # F's own NND_3: 8 -> {1, 6, 12} 12; -4 -> {6, 12, 13} 13; 2 -> {6, 6, 7} 7; 9 -> {1, 7, 13} 13:
    # every real point is strictly inside a generated ball (0 and 1 within 12 of 8, 4 within 12 of 8),
    # recall = 1 either way.
    real, fake = col(0, 0, 1, 4), col(8, -4, 2, 9)
    precision, recall = precision_recall(real, fake, k=3)
    assert precision == 0.75
    assert recall == 1.0
    np.testing.assert_array_equal(knn_radii(real, 3), [4, 4, 3, 4])


def test_recall_counts_a_real_point_on_a_zero_radius_ball_of_duplicates():
    # generated F = 4, 4, 4, 4, 10: each 4 has three other copies at distance 0, so NND_3(4) = 0;
    #   NND_3(10): distances 6, 6, 6, 6 -> 6.
    # real R = 0, 0, 1, 4:
    #   4 : |4 - 4| = 0 <= NND_3(4) = 0   tie: inside the zero-radius ball of the duplicates
    #   0 : |0 - 4| = 4 > 0, |0 - 10| = 10 > 6: outside;  1 : 3 > 0, 9 > 6: outside
    # recall = 1/4 with <= (the protocol); a strict < would give 0.
    # precision (real NND_3 = 4, 4, 3, 4 as above): each 4 is at distance 0 < 4 of the real 4 (inside),
    # 10 is at 10, 10, 9, 6 from 0, 0, 1, 4 (radii 4, 4, 3, 4): outside -> 4/5 either way.
    real, fake = col(0, 0, 1, 4), col(4, 4, 4, 4, 10)
    precision, recall = precision_recall(real, fake, k=3)
    assert recall == 0.25
    assert precision == 0.8
    np.testing.assert_array_equal(knn_radii(fake, 3), [0, 0, 0, 0, 6])


def test_density_and_coverage_exclude_generated_points_exactly_on_a_real_ball_boundary():
    # Naeem et al. 2020, k = 5, strict: y counts for x_i if ||y - x_i|| < NND_5(x_i).
    # real R = 0, 1, 2, 3, 4, 5:
    #   NND_5(0) = 5 (1..5);  NND_5(1): 1, 1, 2, 3, 4 -> 4;  NND_5(2): 1, 1, 2, 2, 3 -> 3;
    #   NND_5(3): 1, 1, 2, 2, 3 -> 3;  NND_5(4): 1, 1, 2, 3, 4 -> 4;  NND_5(5) = 5
    # generated F = 10, -5, 7, 30:
    #   10 : |10 - 5| = 5 = NND_5(5) tie, |10 - 4| = 6 > 4, the rest further: in no ball (strict)
    #   -5 : |-5 - 0| = 5 = NND_5(0) tie, |-5 - 1| = 6 > 4, the rest further: in no ball (strict)
    #    7 : |7 - 5| = 2 < 5 and |7 - 4| = 3 < 4 (in 2 balls); |7 - 3| = 4 > 3, |7 - 2| = 5 > 3,
    #        |7 - 1| = 6 > 4, |7 - 0| = 7 > 5
    #   30 : in no ball
    # density  = (0 + 0 + 2 + 0) / (k M) = 2 / 20 = 0.1     (with <=: (1 + 1 + 2 + 0) / 20 = 0.2)
    # coverage = real points with a generated point strictly inside their ball: 4 and 5 -> 2/6
    #                                                        (with <=: 0 as well -> 3/6)
    real, fake = col(0, 1, 2, 3, 4, 5), col(10, -5, 7, 30)
    np.testing.assert_array_equal(knn_radii(real, 5), [5, 4, 3, 3, 4, 5])
    out = prdc(real, fake, k_pr=3, k_dc=5)
    assert out["density"] == pytest.approx(0.1, abs=1e-15)
    assert out["coverage"] == pytest.approx(2 / 6, abs=1e-15)


def mixture(n: int, modes: int, d: int, seed: int, only: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = 10.0 * np.random.default_rng(99).normal(size=(modes, d))  # shared, well separated
    k = rng.integers(modes, size=n) if only is None else np.full(n, only)
    return centres[k] + rng.normal(size=(n, d))


def check_mode_collapse(pr: callable) -> None:
    """A generator that covers 1 of 10 modes: high precision, low recall."""
    real, collapsed = mixture(1000, 10, 4, 0), mixture(1000, 10, 4, 1, only=3)
    precision, recall = pr(real, collapsed)
    assert precision > 0.85  # k-NN precision of a perfect sampler is below 1 (manifold boundary)
    assert recall < 0.2


def test_mode_collapse_gives_high_precision_low_recall_and_low_coverage():
    check_mode_collapse(precision_recall)
    real, collapsed = mixture(1000, 10, 4, 0), mixture(1000, 10, 4, 1, only=3)
    density, coverage = density_coverage(real, collapsed)
    assert 0.05 < coverage < 0.2  # one mode of ten
    assert density > 0.7


def test_a_known_broken_precision_recall_with_swapped_outputs_fails_the_collapse_check():
    def swapped(real, fake):  # the bug one public implementation shipped for years
        p, r = precision_recall(real, fake)
        return r, p

    with pytest.raises(AssertionError):
        check_mode_collapse(swapped)


def test_swapping_real_and_fake_swaps_precision_and_recall():
    a, b = mixture(600, 10, 8, 2), mixture(500, 10, 8, 3, only=1)
    p, r = precision_recall(a, b)
    p2, r2 = precision_recall(b, a)
    assert (p2, r2) == pytest.approx((r, p), abs=1e-12)
    assert p != pytest.approx(r, abs=0.1)  # a non-trivial case


def expected_coverage(n: int, m: int, k: int) -> float:
    """Naeem et al. 2020: E[coverage] = 1 - prod_{i=1..k} (N - i) / (M + N - i) for one distribution."""
    return 1.0 - math.prod((n - i) / (m + n - i) for i in range(1, k + 1))


def test_two_samples_of_one_distribution_have_coverage_1_minus_2_pow_minus_5_and_density_1():
    real, fake = gauss(2000, 8, 21), gauss(2000, 8, 22)
    density, coverage = density_coverage(real, fake, k=5)
    assert expected_coverage(2000, 2000, 5) == pytest.approx(1 - 2**-5, abs=1e-3)
    assert coverage == pytest.approx(expected_coverage(2000, 2000, 5), abs=0.012)
    assert density == pytest.approx(1.0, abs=0.05)


# -------------------------------------------------------------------------------------- stacked modes
def test_a_perfect_stacked_sampler_covers_1000_modes_with_kl_about_0_019():
    labels = np.random.default_rng(0).integers(0, 10, size=(26000, 3))
    out = stacked_mode_metrics(labels)
    assert out["modes_covered"] == 1000
    assert (1000 - 1) / (2 * 26000) == pytest.approx(0.0192, abs=1e-4)
    assert out["reverse_kl"] == pytest.approx(0.0192, abs=0.003)


def test_stacked_mode_metrics_exact_cases():
    every = np.array([[a, b, c] for a in range(10) for b in range(10) for c in range(10)] * 26)
    assert stacked_mode_metrics(every) == {"modes_covered": 1000, "reverse_kl": pytest.approx(0.0, abs=1e-12)}
    one = np.tile([[1, 2, 3]], (500, 1))
    assert stacked_mode_metrics(one) == {"modes_covered": 1, "reverse_kl": pytest.approx(math.log(1000))}
    assert mode_ids(np.array([[1, 2, 3]]))[0] == 321
    plain = stacked_mode_metrics(np.arange(10).repeat(3))  # 1 channel: 10 modes
    assert plain["modes_covered"] == 10 and plain["reverse_kl"] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(HarnessError):
        stacked_mode_metrics(np.array([[10, 0, 0]]))


# ------------------------------------------------------------------------------------- registry, cache
def test_every_image_metric_is_registered_with_its_direction():
    expected = {"fid": False, "fid_inf": False, "kid": False, "precision": True, "recall": True,
                "density": True, "coverage": True, "modes_covered": True, "reverse_kl": False}
    for name, hib in expected.items():
        assert METRICS.get(name).higher_is_better is hib, name


def test_cache_writes_atomically_and_reads_back(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_HARNESS_CACHE", str(tmp_path))
    calls = []

    def compute():
        calls.append(1)
        return {"a": np.arange(3.0)}

    key = {"what": "test", "n": 3}
    first = cached_arrays("reference", key, compute)
    second = cached_arrays("reference", key, compute)
    assert len(calls) == 1
    np.testing.assert_array_equal(first["a"], second["a"])
    files = list((tmp_path / "reference").iterdir())
    assert [f.name for f in files] == [f"{key_hash(key)}.npz"]  # no temporary file left behind
    files[0].write_bytes(b"truncated")  # a damaged file is recomputed and replaced
    cached_arrays("reference", key, compute)
    assert len(calls) == 2
    cached_arrays("reference", {**key, "n": 4}, compute)  # another key: another file
    assert len(calls) == 3 and len(list((tmp_path / "reference").iterdir())) == 2
