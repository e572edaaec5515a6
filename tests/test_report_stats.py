"""Statistics across seeds, checked against independent computations (scipy called directly, a
hand-coded Holm correction, hand enumeration of the exact Mann-Whitney distribution)."""
import itertools
import math
import statistics

import numpy as np
import pytest
from scipy import stats as sps

from harness.report import stats


def holm_by_hand(pvalues):
    """Holm (1979) written out independently: walk the sorted p-values, multiply by the number of
    hypotheses still standing, keep the running maximum."""
    valid = sorted((p, i) for i, p in enumerate(pvalues) if not math.isnan(p))
    m = len(valid)
    out = [math.nan] * len(pvalues)
    worst = 0.0
    for k, (p, i) in enumerate(valid):
        worst = max(worst, min(1.0, (m - k) * p))
        out[i] = worst
    return out


def exact_mw_pvalue_by_hand(a, b):
    """Two-sided exact p of U over every way to split the pooled values (ties included): twice the
    smaller one-sided tail, at most 1 (SciPy's convention for its exact and permutation tests)."""
    pooled = list(a) + list(b)
    n1 = len(a)

    def u(xs, ys):
        return sum((x > y) + 0.5 * (x == y) for x in xs for y in ys)

    observed = u(a, b)
    us = []
    for idx in itertools.combinations(range(len(pooled)), n1):
        xs = [pooled[i] for i in idx]
        ys = [pooled[i] for i in range(len(pooled)) if i not in idx]
        us.append(u(xs, ys))
    us = np.array(us)
    upper, lower = np.mean(us >= observed - 1e-12), np.mean(us <= observed + 1e-12)
    return min(1.0, 2 * min(upper, lower))


# ----------------------------------------------------------------------------- descriptive
def test_describe_known_values_excludes_nan_and_counts_it():
    s = stats.describe([1.0, 2.0, 4.0, float("nan")])
    assert (s.n, s.n_total) == (3, 4)
    assert s.mean == pytest.approx(7 / 3)
    assert s.std == pytest.approx(statistics.stdev([1.0, 2.0, 4.0]))
    assert s.se == pytest.approx(statistics.stdev([1.0, 2.0, 4.0]) / math.sqrt(3))
    assert s.median == 2.0
    assert (s.q1, s.q3, s.iqr) == pytest.approx((1.5, 3.0, 1.5))  # linear interpolation between order statistics
    assert 1.0 <= s.ci_low < s.mean < s.ci_high <= 4.0


def test_bootstrap_ci_is_the_percentile_interval_of_the_exact_bootstrap_distribution():
    # n = 5: all 5^5 = 3125 equally likely resamples enumerated give the exact bootstrap distribution of
    # the mean; its 2.5 % and 97.5 % quantiles are 1.0 and 10.4. bootstrap_ci draws 9,999 resamples, so its
    # percentiles carry Monte Carlo error: the empirical CDF at the 2.5 % point has a standard error of
    # sqrt(0.025 * 0.975 / 9999) = 0.0016, and the test allows levels 0.025 +- 0.008 (5 standard errors):
    # [0.8, 1.2] and [10.2, 10.6]. BCa (1.6, 11.8), the basic interval (0.0, 9.4) or a 90 % level
    # (1.4, 9.4) fall outside.
    x = np.array([0.0, 1.0, 3.0, 7.0, 15.0])
    means = np.array([x[list(idx)].mean() for idx in itertools.product(range(5), repeat=5)])
    band = 0.008
    lo, hi = stats.bootstrap_ci(x)
    assert np.quantile(means, 0.025 - band, method="lower") <= lo <= np.quantile(means, 0.025 + band, method="higher")
    assert np.quantile(means, 0.975 - band, method="lower") <= hi <= np.quantile(means, 0.975 + band, method="higher")
    assert (np.quantile(means, 0.025 - band, method="lower"), np.quantile(means, 0.975 + band, method="higher")) == \
        pytest.approx((0.8, 10.6))
    assert (lo, hi) == stats.bootstrap_ci(x)  # a fixed seed: the same interval every time
    # a constant sample: every resample has the same mean, the interval is that point
    assert stats.bootstrap_ci(np.full(4, 2.5)) == (2.5, 2.5)


def test_single_value_gives_nan_for_statistics_that_need_two():
    s = stats.describe([5.0])
    assert (s.n, s.mean, s.median) == (1, 5.0, 5.0)
    assert all(math.isnan(v) for v in (s.std, s.se, s.ci_low, s.ci_high))
    empty = stats.describe([float("nan"), float("inf")])
    assert empty.n == 0 and empty.n_total == 2 and math.isnan(empty.mean)


# ----------------------------------------------------------------------------- effect sizes, Holm
def test_effect_sizes_known_answers():
    assert stats.cliffs_delta([3, 4], [1, 2]) == 1.0
    assert stats.cliffs_delta([1, 2, 3], [2, 2, 2]) == 0.0
    assert stats.cliffs_delta([1, 5], [2, 3, 4]) == 0.0
    assert stats.cliffs_delta([1, 2], [3]) == -1.0
    assert stats.cohens_d([1, 2, 3], [3, 4, 5]) == pytest.approx(-2.0)
    assert math.isnan(stats.cohens_d([1], [2, 3]))


def test_holm_matches_hand_coded_procedure():
    p = [0.01, 0.04, 0.03, 0.005]
    assert list(stats.holm(p)) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert list(stats.holm(p)) == pytest.approx(holm_by_hand(p))
    rng = np.random.default_rng(3)
    for _ in range(20):
        q = list(rng.uniform(0, 0.2, size=7))
        q[2] = math.nan
        got, want = stats.holm(q), holm_by_hand(q)
        assert math.isnan(got[2]) and math.isnan(want[2])
        assert np.allclose(np.delete(got, 2), np.delete(want, 2))


# ----------------------------------------------------------------------------- tests
def test_mannwhitney_pvalues_match_scipy_exact_without_ties():
    a, b = [0.1, 0.5, 0.9, 1.7, 2.0], [0.3, 1.1, 1.2, 2.4, 2.6, 3.0]
    _, p = stats.test_pvalue(np.array(a), np.array(b), "mannwhitney")
    assert p == pytest.approx(sps.mannwhitneyu(a, b, alternative="two-sided", method="exact").pvalue)


def test_mannwhitney_with_ties_is_exact_not_the_normal_approximation():
    a, b = [8.0, 8.0, 8.0], [3.0, 3.0, 3.0]
    _, p = stats.test_pvalue(np.array(a), np.array(b))
    assert p == pytest.approx(0.1)  # 2 of the 20 equally likely splits; the normal approximation says 0.047
    a, b = [8.0, 7.0, 8.0, 6.0], [7.0, 5.0, 6.0, 6.0, 4.0]
    assert stats.test_pvalue(np.array(a), np.array(b))[1] == pytest.approx(exact_mw_pvalue_by_hand(a, b))


def test_welch_matches_scipy():
    a, b = np.array([1.0, 2.5, 3.1, 4.0]), np.array([2.0, 4.5, 5.9, 7.7, 8.1])
    _, p = stats.test_pvalue(a, b, "welch")
    assert p == pytest.approx(sps.ttest_ind(a, b, equal_var=False).pvalue)
    assert math.isnan(stats.test_pvalue(np.array([1.0, 1.0]), np.array([2.0, 2.0]), "welch")[1])


def test_minimum_pvalue_and_reachability():
    assert stats.min_pvalue_mannwhitney(3, 3) == pytest.approx(0.1)
    assert stats.min_pvalue_mannwhitney(5, 5) == pytest.approx(2 / 252)
    assert not stats.significance_reachable([3, 3, 3, 3], 0.05)
    assert not stats.significance_reachable([4, 4, 4, 4], 0.05)  # 6 * 2/70 = 0.17
    assert stats.significance_reachable([5, 5, 5, 5], 0.05)  # 6 * 2/252 = 0.048
    assert stats.seeds_needed(6, 0.05) == 5
    assert stats.seeds_needed(1, 0.05) == 4


# ----------------------------------------------------------------------------- pairwise and best
def _groups(n):
    base = np.arange(n, dtype=float)
    return {"a": base + 10, "b": base, "c": base + 20}


def _independent_family(groups, hib):
    names = list(groups)
    pairs = [(x, y) for i, x in enumerate(names) for y in names[i + 1:]]
    raw = [sps.mannwhitneyu(groups[x], groups[y], alternative="two-sided", method="exact").pvalue for x, y in pairs]
    return pairs, raw, holm_by_hand(raw)


@pytest.mark.parametrize("hib, winner", [(True, "c"), (False, "b")])
def test_best_is_marked_only_when_significantly_better_than_every_other(hib, winner):
    g = _groups(6)
    comps = stats.pairwise(g, hib, level=0.05)
    pairs, raw, adj = _independent_family(g, hib)
    assert [(c.a, c.b) for c in comps] == pairs
    assert [c.p for c in comps] == pytest.approx(raw)
    assert [c.p_holm for c in comps] == pytest.approx(adj)
    assert all(p < 0.05 for p in adj)
    assert stats.best_variant(comps, list(g)) == winner


def test_no_best_with_three_seeds_even_when_perfectly_separated():
    g = _groups(3)
    comps = stats.pairwise(g, True, level=0.05)
    assert [c.p for c in comps] == pytest.approx([0.1, 0.1, 0.1])
    assert stats.best_variant(comps, list(g)) is None
    assert {stats.outcome(c, c.a) for c in comps} == {"tie"}


def test_no_best_when_one_comparison_is_a_tie():
    g = {"a": np.array([10.0, 11, 12, 13, 14, 15]), "b": np.arange(6.0),
         "c": np.array([9.5, 11.5, 12.5, 13.5, 15.5, 16])}  # c's mean is highest, but c vs a is not significant
    comps = stats.pairwise(g, True, level=0.05)
    by_pair = {(c.a, c.b): c for c in comps}
    assert by_pair[("a", "c")].better is None and by_pair[("b", "c")].better == "c"
    assert stats.best_variant(comps, list(g)) is None


def test_pairwise_excludes_nan_and_reports_n():
    g = {"a": [1.0, 2.0, float("nan"), 3.0], "b": [4.0, 5.0, 6.0]}
    (c,) = stats.pairwise(g, True)
    assert (c.n_a, c.n_b) == (3, 3)
    assert c.p == pytest.approx(0.1)
    (single,) = stats.pairwise({"a": [1.0], "b": [2.0, 3.0]}, True)
    assert math.isnan(single.p) and stats.outcome(single, "a") == "n/a"


def test_infinite_values_are_the_worst_rank_in_the_rank_test():
    from harness.report.stats import pairwise

    # reverse KL (lower is better): B's runs found no high-quality sample at all
    groups = {"A": [0.01, 0.02, 0.015, 0.012, 0.018], "B": [float("inf")] * 5}
    (c,) = pairwise(groups, higher_is_better=False, test="mannwhitney", level=0.05)
    assert c.n_b == 5 and c.better == "A" and c.significant
