import itertools

import numpy as np
import pytest
import scipy.linalg

from harness.data import get_dataset
from harness.metrics.distances import frechet_distance, frechet_distance_samples, mean_cov, wasserstein1_exact
from harness.metrics.modes import mode_counts, mode_metrics, reverse_kl_uniform


@pytest.fixture(params=["ring8", "grid25"])
def mixture(request):
    return get_dataset(request.param)


def test_exact_mixture_samples_cover_all_modes_with_hq_near_0989(mixture):
    x = mixture.sample_exact(2500, seed=1)
    m = mode_metrics(x, mixture.centres, mixture.sigma)
    assert m["modes_covered"] == mixture.n_modes
    # P(chi_2 < 9) = 1 - exp(-4.5) = 0.98889; binomial sd at N=2500 is 0.0021
    assert abs(m["hq_fraction"] - (1 - np.exp(-4.5))) < 0.01
    assert m["reverse_kl"] < 0.02


def test_reverse_kl_floor_of_a_perfect_sampler_is_about_k_minus_1_over_2n(mixture):
    k, n = mixture.n_modes, 2500
    kls = [mode_metrics(mixture.sample_exact(n, seed=s), mixture.centres, mixture.sigma)["reverse_kl"] for s in range(20)]
    floor = (k - 1) / (2 * n * (1 - np.exp(-4.5)))  # only high-quality samples count
    assert abs(np.mean(kls) - floor) < 0.35 * floor


def test_samples_all_at_one_centre_cover_one_mode(mixture):
    x = np.repeat(mixture.centres[3:4], 2500, axis=0)
    m = mode_metrics(x, mixture.centres, mixture.sigma)
    assert m["modes_covered"] == 1
    assert m["hq_fraction"] == 1.0
    assert m["reverse_kl"] == pytest.approx(np.log(mixture.n_modes))


def test_uniform_noise_hq_fraction_is_the_disc_area_over_the_box_area(mixture):
    # High quality = within 3 sigma of the nearest centre. The K discs of radius 3 sigma are disjoint
    # and inside the box [-6, 6]^2, so for uniform noise on the box
    #   P(high quality) = K pi (3 sigma)^2 / 12^2   (ring8: 6.28e-4, grid25: 1.23e-2).
    half, r = 6.0, 3 * mixture.sigma
    c = mixture.centres
    gaps = np.linalg.norm(c[:, None] - c[None], axis=-1)[~np.eye(len(c), dtype=bool)]
    assert gaps.min() > 2 * r and np.abs(c).max() + r < half  # disjoint, inside the box
    p = mixture.n_modes * np.pi * r**2 / (2 * half) ** 2
    rng, n, chunk, hq = np.random.default_rng(0), 1_000_000, 100_000, 0
    for _ in range(n // chunk):
        m = mode_metrics(rng.uniform(-half, half, size=(chunk, 2)), mixture.centres, mixture.sigma)
        hq += round(m["hq_fraction"] * chunk)
    se = np.sqrt(p * (1 - p) / n)  # binomial standard error: 2.5e-5 (ring8), 1.1e-4 (grid25)
    assert abs(hq / n - p) < 4 * se


def test_high_quality_threshold_is_strict():
    centres = np.array([[0.0, 0.0], [10.0, 0.0]])
    x = np.array([[1.5, 0.0], [1.4999, 0.0]])  # exactly 3 sigma (1.5 / 0.5 == 3.0), just inside
    m = mode_metrics(x, centres, 0.5)
    assert m["hq_fraction"] == 0.5


def test_no_high_quality_sample_gives_infinite_kl_not_zero():
    m = mode_metrics(np.full((10, 2), 100.0), np.array([[0.0, 0.0], [1.0, 0.0]]), 0.1)
    assert m["modes_covered"] == 0 and m["hq_fraction"] == 0.0
    assert m["reverse_kl"] == float("inf")
    assert reverse_kl_uniform(np.array([5, 5])) == 0.0


def test_mode_counts_say_which_modes_and_agree_with_mode_metrics():
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    # 3 at mode 0, 1 at mode 2, one far sample (nearest mode 1 but not high quality)
    x = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, -0.1], [0.0, 10.2], [6.0, 0.0]])
    counts, hq = mode_counts(x, centres, 0.5)
    assert counts.tolist() == [3, 0, 1] and hq == 0.8
    m = mode_metrics(x, centres, 0.5)
    assert m["modes_covered"] == 2 and m["hq_fraction"] == 0.8
    assert m["reverse_kl"] == pytest.approx(reverse_kl_uniform(np.array([3, 0, 1])))


def test_frechet_of_a_translated_sample_is_the_squared_shift():
    x = np.random.default_rng(1).normal(size=(3000, 2)) * [1.0, 0.3]
    t = np.array([0.7, -1.2])
    assert frechet_distance_samples(x, x + t) == pytest.approx(t @ t, rel=1e-10)
    assert frechet_distance_samples(x, x) == pytest.approx(0.0, abs=1e-10)


def test_frechet_matches_an_independent_sqrtm_computation():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(500, 6)) @ rng.normal(size=(6, 6))
    b = rng.normal(size=(500, 6)) @ rng.normal(size=(6, 6)) + 0.5
    mu1, s1 = a.mean(0), np.cov(a, rowvar=False)
    mu2, s2 = b.mean(0), np.cov(b, rowvar=False)
    ref = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(ref, rel=1e-8)


def test_frechet_of_gaussians_closed_form():
    # 1-D: (m1 - m2)^2 + (s1 - s2)^2 with standard deviations s
    assert frechet_distance([0.0], [[4.0]], [1.0], [[1.0]], clip=False) == pytest.approx(1.0 + 1.0, rel=1e-12)
    # diagonal: ||m1 - m2||^2 + sum_i (s1_i - s2_i)^2 = (1 + 0 + 4) + (1 + 1 + 0.25) = 7.25
    mu1, var1 = np.array([0.0, 1.0, -2.0]), np.array([4.0, 9.0, 0.25])
    mu2, var2 = np.array([1.0, 1.0, 0.0]), np.array([1.0, 16.0, 1.0])
    assert frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2), clip=False) == pytest.approx(7.25, rel=1e-12)
    assert frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2)) == pytest.approx(7.25, rel=1e-12)
    # equal Gaussians: 0 to rounding on either side
    assert abs(frechet_distance(mu1, np.diag(var1), mu1, np.diag(var1), clip=False)) < 1e-12


def test_unclipped_frechet_self_distance_is_zero_to_rounding_and_the_public_value_its_clip():
    # The public value is max(raw, 0), so a self-distance test on it passes for any raw value <= 0;
    # the raw value must itself be within rounding of 0.
    x = np.random.default_rng(1).normal(size=(3000, 2)) * [1.0, 0.3]
    rng = np.random.default_rng(2)
    y = rng.normal(size=(500, 6)) @ (np.eye(6) + 0.3 * rng.normal(size=(6, 6)))  # correlated, well conditioned
    for a in (x, y):
        raw = frechet_distance_samples(a, a, clip=False)
        assert abs(raw) < 1e-10
        assert frechet_distance_samples(a, a) == max(raw, 0.0)


def test_mean_cov_uses_n_minus_1():
    x = np.array([[0.0], [2.0]])
    mu, cov = mean_cov(x)
    assert mu[0] == 1.0 and cov[0, 0] == 2.0


def test_w1_of_a_translated_sample_is_the_shift_length():
    x = np.random.default_rng(3).normal(size=(300, 2))
    t = np.array([0.3, 0.4])
    assert wasserstein1_exact(x, x + t) == pytest.approx(0.5, rel=1e-9)
    assert wasserstein1_exact(x, x[::-1]) == pytest.approx(0.0, abs=1e-12)


def test_w1_matches_brute_force_over_all_matchings():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    best = min(np.mean(np.linalg.norm(a - b[list(p)], axis=1)) for p in itertools.permutations(range(6)))
    assert wasserstein1_exact(a, b) == pytest.approx(best, rel=1e-12)
    assert wasserstein1_exact(b, a) == pytest.approx(best, rel=1e-12)


def test_w1_needs_equal_sizes():
    with pytest.raises(Exception, match="equal-size"):
        wasserstein1_exact(np.zeros((3, 2)), np.zeros((4, 2)))


def test_evaluator_is_independent_of_the_run_and_of_sample_order(mixture):
    ev = mixture.evaluator(1000, n_w1=1000)
    x = mixture.sample_exact(1000, seed=5)
    a = ev.evaluate(x)
    b = mixture.evaluator(1000, n_w1=1000).evaluate(x[::-1].copy())
    for k in ("modes_covered", "hq_fraction", "reverse_kl", "frechet_distance", "w1"):
        assert a[k] == pytest.approx(b[k], rel=1e-9)
    assert a["w1"] < 0.35 and a["frechet_distance"] < 0.05  # sampling noise of two draws


def test_modes_covered_k_needs_a_tenth_of_a_perfect_share_per_mode():
    from harness.metrics.modes import min_count

    ring = get_dataset("ring8")
    assert min_count(2500, 8) == 32 and min_count(2500, 25) == 10 and min_count(80, 8) == 1
    # 2,500 samples: mode 0 holds exactly k = 32 HQ samples, mode 1 holds 31, mode 2 holds 2437; the rest none
    x = np.concatenate([np.repeat(ring.centres[0:1], 32, 0), np.repeat(ring.centres[1:2], 31, 0),
                        np.repeat(ring.centres[2:3], 2437, 0)])
    m = mode_metrics(x, ring.centres, ring.sigma)
    assert m["modes_covered"] == 3 and m["modes_covered_k"] == 2
    # a sample just outside 3 sigma is not high quality, so it does not count towards k
    far = ring.centres[0] + np.array([3.0001 * ring.sigma, 0.0])
    y = x.copy()
    y[0] = far
    assert mode_metrics(y, ring.centres, ring.sigma)["modes_covered_k"] == 1


def test_uniform_noise_covers_most_grid25_modes_by_veegan_count_but_none_with_k():
    grid = get_dataset("grid25")
    lo, hi = grid.centres.min(0) - 3 * grid.sigma, grid.centres.max(0) + 3 * grid.sigma
    u = np.random.default_rng(0).uniform(lo, hi, (2500, 2))
    m = mode_metrics(u, grid.centres, grid.sigma)
    assert m["modes_covered"] >= 15 and m["modes_covered_k"] == 0
