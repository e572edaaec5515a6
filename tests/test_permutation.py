"""harness.permutation: joint permutation test with Westfall–Young min-p step-down.

Every test compares against a known answer: scipy's exact Mann–Whitney p, a count by hand, a closed
form, or a brute-force enumeration of the product of all pairs' assignments written independently
of the module.
"""

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from harness.permutation import (RowInput, SeedsNeeded, joint_permutation_test, min_marginal_p,
                                 seeds_needed)

# --- brute force, independent of the module -------------------------------------------------------


def _bf_midranks(values):
    keys = [(0, 0.0) if math.isnan(v) else (1, v) for v in values]  # NaN below -inf; equal infinities tie
    return [sum(q < k for q in keys) + (sum(q == k for q in keys) + 1) / 2 for k in keys]


def _bf_pair(rows):
    """All assignments of one pair and p_r(π) for each row, by direct counting."""
    n_c, n_b = len(rows[0].candidate), len(rows[0].baseline)
    n = n_c + n_b
    assignments = list(itertools.combinations(range(n), n_c))  # the first one is the identity
    p_rows = []
    for row in rows:
        ranks = _bf_midranks([v + row.shift for v in row.candidate] + list(row.baseline))
        extreme = []
        for a in assignments:
            s = sum(ranks[i] for i in a)
            extreme.append(-s if row.sided == "less" else abs(s - n_c * (n + 1) / 2))
        p_rows.append([sum(t2 >= t - 1e-9 for t2 in extreme) / len(extreme) for t in extreme])
    return len(assignments), p_rows


def _bf_joint(rows):
    """Step-down adjusted p and first-step floors by enumerating the product of all pairs' assignments."""
    keys = list(dict.fromkeys(r.pair for r in rows))
    members = {k: [i for i, r in enumerate(rows) if r.pair == k] for k in keys}
    per_pair = {k: _bf_pair([rows[i] for i in members[k]]) for k in keys}
    joint = []  # p of every row at every joint assignment
    for combo in itertools.product(*[range(per_pair[k][0]) for k in keys]):
        p = [0.0] * len(rows)
        for k, a in zip(keys, combo):
            for local, i in enumerate(members[k]):
                p[i] = per_pair[k][1][local][a]
        joint.append(p)
    observed = joint[0]  # identity in every pair
    order = sorted(range(len(rows)), key=lambda i: observed[i])
    adjusted, running = [0.0] * len(rows), 0.0
    for j, i in enumerate(order):
        remaining = order[j:]
        share = sum(min(p[r] for r in remaining) <= observed[i] + 1e-12 for p in joint) / len(joint)
        running = max(running, share)
        adjusted[i] = min(1.0, running)
    floors = []
    for i in range(len(rows)):
        smallest = min(p[i] for p in joint)
        floors.append(sum(min(p) <= smallest + 1e-12 for p in joint) / len(joint))
    return observed, adjusted, floors


def _row(pair, cand, base, sided="less", shift=0.0):
    return RowInput(pair=pair, candidate=np.asarray(cand, float), baseline=np.asarray(base, float),
                    sided=sided, shift=shift)


# --- 1, 2: one row -------------------------------------------------------------------------------


@pytest.mark.parametrize("n_c,n_b,seed", [(5, 6, 0), (4, 4, 1), (3, 7, 2), (6, 5, 3), (7, 7, 4)])
def test_single_row_equals_exact_mann_whitney(n_c, n_b, seed):
    rng = np.random.default_rng(seed)
    cand, base = rng.normal(size=n_c), rng.normal(size=n_b) + 0.7
    for sided, alternative in (("less", "less"), ("two-sided", "two-sided")):
        [res] = joint_permutation_test([_row("g", cand, base, sided)])
        expected = stats.mannwhitneyu(cand, base, method="exact", alternative=alternative).pvalue
        assert res.p == pytest.approx(expected, rel=1e-12, abs=1e-15)
        assert res.p_adjusted == res.p  # one row: no adjustment
        assert res.exact and res.mc_error == 0.0
        assert res.statistic == float(sum(stats.rankdata(np.r_[cand, base])[:n_c]))


def test_perfect_separation_four_vs_four():
    [res] = joint_permutation_test([_row("g", [1, 2, 3, 4], [5, 6, 7, 8])])
    assert res.p == res.p_adjusted == res.p_floor == 1 / 70
    assert res.statistic == 10.0
    [better] = joint_permutation_test([_row("g", [5, 6, 7, 8], [1, 2, 3, 4])])
    assert better.p == 1.0  # one-sided: a better candidate is no evidence
    [two] = joint_permutation_test([_row("g", [5, 6, 7, 8], [1, 2, 3, 4], "two-sided")])
    assert two.p == 2 / 70


def test_mid_ranks_of_nan_and_infinities():
    # pooled order: NaN NaN | -inf -inf | 0 | 1 | inf inf  ->  1.5 1.5 3.5 3.5 5 6 7.5 7.5
    [res] = joint_permutation_test([_row("g", [np.nan, -np.inf, np.inf, 1.0], [-np.inf, np.inf, np.nan, 0.0])])
    assert res.statistic == 1.5 + 3.5 + 7.5 + 6


def test_constant_row_has_p_one():
    [res] = joint_permutation_test([_row("g", [2.0, 2.0, 2.0], [2.0, 2.0])])
    assert res.p == res.p_adjusted == res.p_floor == 1.0


# --- 3: brute force over the product of assignments ------------------------------------------


def _correlated_case(seed):
    rng = np.random.default_rng(seed)
    rows = []
    for pair, n_c, n_b, sided in (("A", 3, 3, ("less", "two-sided", "less")), ("B", 3, 2, ("less", "two-sided"))):
        z = rng.normal(size=n_c + n_b) + np.r_[-1.0 * np.ones(n_c), np.zeros(n_b)]
        for k, side in enumerate(sided):
            v = np.round(z + 0.6 * rng.normal(size=z.size), 0 if k == 2 else 1)  # coarse rounding: ties
            rows.append(_row(pair, v[:n_c], v[n_c:], side, shift=0.3 if k == 1 else 0.0))
    return rows


@pytest.mark.parametrize("seed", range(6))
def test_matches_brute_force_over_product_of_assignments(seed):
    rows = _correlated_case(seed)
    if seed == 0:  # diverged runs and infinities as well
        c, b = rows[0].candidate.copy(), rows[0].baseline.copy()
        c[0], b[1], b[2] = np.nan, np.inf, -np.inf
        rows[0] = _row("A", c, b)
    observed, adjusted, floors = _bf_joint(rows)
    results = joint_permutation_test(rows)
    for res, p, pa, fl in zip(results, observed, adjusted, floors):
        assert res.exact and res.mc_error == 0.0
        assert res.p == pytest.approx(p, abs=1e-12)
        assert res.p_adjusted == pytest.approx(pa, abs=1e-12)
        assert res.p_floor == pytest.approx(fl, abs=1e-12)


def test_brute_force_case_is_not_trivial():
    # guard for the test above: the adjustment must matter in these cases
    moved = 0
    for seed in range(6):
        observed, adjusted, _ = _bf_joint(_correlated_case(seed))
        moved += sum(pa > p + 1e-9 for p, pa in zip(observed, adjusted))
        assert min(observed) < 0.5
    assert moved >= 6


# --- 4: correlated and independent rows -------------------------------------------------------


def test_duplicate_rows_cost_nothing():
    rng = np.random.default_rng(5)
    cand, base = rng.normal(size=6) - 1.0, rng.normal(size=5)
    [single] = joint_permutation_test([_row("g", cand, base)])
    double = joint_permutation_test([_row("g", cand, base), _row("g", cand, base)])
    assert 0 < single.p < 0.5
    for res in double:
        assert res.p_adjusted == single.p  # min-p: no penalty for a perfect copy
    assert min(1.0, 2 * single.p) > single.p  # where Bonferroni would double it
    extreme = joint_permutation_test([_row("g", [1, 2, 3, 4], [5, 6, 7, 8])] * 3)
    assert [r.p_adjusted for r in extreme] == [1 / 70] * 3


def test_independent_pairs_combine_as_one_minus_product():
    rows = [_row("first", [1, 2, 3, 4], [5, 6, 7, 8]), _row("second", [0, 1, 2, 3], [10, 11, 12, 13])]
    expected = 1 - (1 - 1 / 70) ** 2
    for res in joint_permutation_test(rows):
        assert res.p == 1 / 70
        assert res.p_adjusted == pytest.approx(expected, abs=1e-15)
        assert res.p_floor == pytest.approx(expected, abs=1e-15)


def test_step_down_can_judge_a_row_below_its_first_step_floor():
    # A: 5 vs 5 at its most extreme (p = 1/252); B: 3 vs 4 at its most extreme (p = 1/35).
    # 5-of-10 rank sums 15, 16, 17, 18 occur 1, 1, 2, 3 times: 7 assignments of A have p <= 1/35.
    rows = [_row("A", [1, 2, 3, 4, 5], [6, 7, 8, 9, 10]), _row("B", [1, 2, 3], [4, 5, 6, 7])]
    a, b = joint_permutation_test(rows)
    assert a.p_adjusted == pytest.approx(1 / 252, abs=1e-15)  # B cannot go below 1/35 > 1/252
    assert b.p_adjusted == pytest.approx(1 / 35, abs=1e-15)  # after A, only B remains
    assert b.p_floor == pytest.approx(1 - (1 - 7 / 252) * (1 - 1 / 35), abs=1e-15)  # = 1/18
    assert b.p_floor > 0.05 >= b.p_adjusted  # "not judged" is a first-step notion


# --- 5, 6: orientation and shift --------------------------------------------------------------


def test_nan_ranks_as_worst():
    rows = [_row("g", [np.nan] * 4, [-np.inf, -np.inf, 0.0, 1.0])]
    [res] = joint_permutation_test(rows)
    assert res.p == 1 / 70  # below even -inf
    mixed_row = _row("g", [np.nan, np.nan, 3.0, 4.0], [1.0, 2.0, 5.0, 6.0])
    [mixed] = joint_permutation_test([mixed_row])
    assert mixed.statistic == 1.5 + 1.5 + 5 + 6
    assert mixed.p == pytest.approx(_bf_pair([mixed_row])[1][0][0], abs=1e-15) == 11 / 70
    [one] = joint_permutation_test([_row("g", [np.nan, 0.6, 3.0, 4.0], [1.0, 2.0, 5.0, 6.0])])
    assert one.p == pytest.approx(stats.mannwhitneyu([0.5, 0.6, 3, 4], [1, 2, 5, 6], method="exact",
                                                     alternative="less").pvalue, abs=1e-15)
    [best] = joint_permutation_test([_row("g", [np.inf, 0.6, 3.0, 4.0], [1.0, 2.0, 5.0, 6.0])])
    assert best.p > one.p  # +inf is the best value, NaN the worst


def test_shift_lets_a_worse_candidate_pass():
    base = np.array([10.0, 11.0, 12.0, 13.0])
    cand = base - 5.0
    [worse] = joint_permutation_test([_row("g", cand, base)])
    assert worse.p == 1 / 70
    [shifted] = joint_permutation_test([_row("g", cand, base, shift=5.0)])
    assert shifted.p > 0.5
    assert shifted.statistic == 18.0  # every value ties with one baseline value: mean rank sum
    [half] = joint_permutation_test([_row("g", cand, base, shift=2.5)])
    assert worse.p < half.p < shifted.p


# --- 7: Monte Carlo ---------------------------------------------------------------------------


def _mc_case():
    rng = np.random.default_rng(13)
    rows = []
    for pair, n_c, n_b, shift in (("A", 6, 6, -1.2), ("B", 5, 4, -0.8)):
        z = rng.normal(size=n_c + n_b)
        z[:n_c] += shift
        for k, sided in enumerate(("less", "two-sided", "less")):
            v = z + 0.5 * rng.normal(size=z.size)
            rows.append(_row(pair, v[:n_c], v[n_c:], sided, shift=0.0 if k < 2 else 0.2))
    c, b = rows[2].candidate.round(0), rows[2].baseline.round(0)  # ties
    c[0], b[0] = np.nan, np.inf
    rows[2] = _row("A", c, b)
    return rows


def test_monte_carlo_agrees_with_exact_within_its_error():
    rows = _mc_case()  # C(12, 6) = 924 and C(9, 5) = 126 assignments
    exact = joint_permutation_test(rows)
    assert all(r.exact for r in exact) and min(r.p_adjusted for r in exact) < 0.1
    for seed in (3, 4):
        mc = joint_permutation_test(rows, max_exact=100, n_resamples=20_000, seed=seed)
        assert not any(r.exact for r in mc)
        for e, m in zip(exact, mc):
            assert m.p == pytest.approx(e.p, rel=1e-12)  # marginal p: exact law of the rank sum, ties included
            assert m.statistic == e.statistic
            assert 0 < m.mc_error < 0.02
            assert abs(m.p_adjusted - e.p_adjusted) <= m.mc_error
            assert m.p_adjusted >= m.p
        assert joint_permutation_test(rows, max_exact=100, n_resamples=20_000, seed=seed) == mc  # bit for bit
    assert joint_permutation_test(rows, max_exact=100, n_resamples=20_000, seed=5) != mc


@pytest.mark.parametrize("seed", range(6))
def test_monte_carlo_marginal_p_is_exact(seed):
    rows = _correlated_case(seed)  # ties; seed 0 also NaN and infinities
    if seed == 0:
        c, b = rows[0].candidate.copy(), rows[0].baseline.copy()
        c[0], b[1], b[2] = np.nan, np.inf, -np.inf
        rows[0] = _row("A", c, b)
    observed, _, _ = _bf_joint(rows)
    for res, p in zip(joint_permutation_test(rows, max_exact=1, n_resamples=50, seed=seed), observed):
        assert not res.exact
        assert res.p == pytest.approx(p, abs=1e-12)


def test_monte_carlo_single_row_error_is_clopper_pearson():
    rows = [_row("g", [0.1, 0.5, 0.9, 1.3, 2.0, 2.2], [1.0, 1.2, 1.6, 2.4, 2.6, 3.0])]
    [e] = joint_permutation_test(rows)
    unclamped = clamped = 0
    for seed in range(6):
        [m] = joint_permutation_test(rows, max_exact=10, n_resamples=5_000, seed=seed)
        assert m.p == pytest.approx(e.p, rel=1e-12)
        assert abs(m.p_adjusted - e.p) <= m.mc_error
        assert m.p_adjusted >= m.p
        if m.p_adjusted == m.p:  # the estimate fell below the exact p and was clamped to it
            clamped += 1
            continue
        unclamped += 1
        k = round(m.p_adjusted * 5_001)
        assert m.p_adjusted == k / 5_001  # (1 + count) / (1 + B), the identity included
        lo, hi = stats.binomtest(k - 1, 5_000).proportion_ci(0.99, method="exact")  # the B random draws
        assert m.mc_error == pytest.approx(max(m.p_adjusted - lo, hi - m.p_adjusted), rel=1e-9)
    assert unclamped >= 2 and clamped >= 1


def test_exact_pair_with_monte_carlo_neighbour_carries_its_error():
    rows = [_row("small", [1, 2, 3], [4, 5]), _row("big", np.arange(8.0), np.arange(8.0) + 0.5)]
    small, big = joint_permutation_test(rows, max_exact=100, n_resamples=2_000)
    assert small.exact and not big.exact
    assert small.mc_error > 0 and big.mc_error > 0


def test_twenty_two_vs_twenty_two_uses_monte_carlo():  # ~0.2 s on an idle core (timing: benchmarks, not tests)
    rng = np.random.default_rng(0)
    rows = [_row("g", rng.normal(size=22) - 0.4, rng.normal(size=22), "two-sided") for _ in range(20)]
    out = joint_permutation_test(rows)
    assert not out[0].exact
    assert all(0 < r.p <= r.p_adjusted <= 1 for r in out)
    smallest = min_marginal_p(22, 22, "two-sided")  # 2 / C(44, 22): untied values
    assert all(smallest <= r.p_floor <= 20 * smallest for r in out)  # Bonferroni range of the true floor


# --- 8: family-wise error under H0 --------------------------------------------------------------


def _null_tries(n_tries=300, seed=2024):
    rng = np.random.default_rng(seed)
    for _ in range(n_tries):
        z = rng.normal(size=10)
        rows = []
        for sided in ("less", "less", "two-sided"):
            v = z + 1.5 * rng.normal(size=10)  # rows correlated through z (rho ~ 0.3)
            rows.append(_row("g", v[:5], v[5:], sided))
        yield joint_permutation_test(rows)


def test_family_wise_error_under_null():
    tries = list(_null_tries())
    any_hit = np.mean([min(r.p_adjusted for r in res) <= 0.05 for res in tries])
    raw_hit = np.mean([min(r.p for r in res) <= 0.05 for res in tries])
    bound = 0.05 + 3 * math.sqrt(0.05 * 0.95 / len(tries))
    assert any_hit <= bound
    assert raw_hit > any_hit  # the unadjusted family would reject more often
    for res in tries:
        ranked = sorted(res, key=lambda r: r.p)
        adj = [r.p_adjusted for r in ranked]
        assert adj == sorted(adj)  # step-down: monotone in the order of observed p
        assert all(r.p <= r.p_adjusted <= min(1.0, 3 * r.p) + 1e-12 for r in res)  # between raw and Bonferroni


# --- 9: floors and seeds ----------------------------------------------------------------------


def test_floor_of_two_vs_two():
    [res] = joint_permutation_test([_row("g", [0.3, 0.9], [0.5, 0.7])])
    assert res.p_floor == 1 / 6 > 0.05
    assert res.p == 4 / 6  # ranks 1, 4 -> S = 5; S <= 5 in {1,2},{1,3},{1,4},{2,3}


@pytest.mark.parametrize("n_c,n_b", [(1, 1), (1, 4), (2, 2), (3, 5), (4, 4), (6, 3)])
def test_min_marginal_p_matches_enumeration(n_c, n_b):
    # no ties: the most extreme candidate (all below the baseline) reaches the smallest p
    total = math.comb(n_c + n_b, n_c)
    cand, base = np.arange(n_c, dtype=float), np.arange(n_c, n_c + n_b, dtype=float)
    assert min_marginal_p(n_c, n_b, "less") == 1 / total
    assert min_marginal_p(n_c, n_b, "two-sided") == min(1.0, 2 / total)  # n_c != n_b too: symmetric rank sums
    for sided in ("less", "two-sided"):
        [res] = joint_permutation_test([_row("g", cand, base, sided)])
        assert res.p == min_marginal_p(n_c, n_b, sided)


def test_seeds_needed_by_hand():
    # n_b = 4: C(k + 4, 4) = 5, 15, 35, 70, 126, 210, 330, 495 for k = 1 .. 8
    assert seeds_needed(4, 1, 0.05, "less") == SeedsNeeded(bonferroni=3, minimum=3)  # 35 >= 20
    assert seeds_needed(4, 10, 0.05, "less") == (6, 3)  # 210 >= 200
    assert seeds_needed(4, 10, 0.05, "two-sided") == (8, 4)  # 495 >= 400; 70 >= 40
    # n_b = 1: C(k + 1, 1) = k + 1
    assert seeds_needed(1, 1, 0.05, "less") == (19, 19)
    assert seeds_needed(1, 1, 0.05, "two-sided") == (39, 39)
    assert seeds_needed(1, 3, 0.01, "less") == (299, 99)
    for n_b, n_rows, sided in ((3, 7, "less"), (5, 20, "two-sided"), (2, 1, "two-sided")):
        k, low = seeds_needed(n_b, n_rows, 0.05, sided)
        assert n_rows * min_marginal_p(k, n_b, sided) <= 0.05 < n_rows * min_marginal_p(k - 1, n_b, sided)
        assert min_marginal_p(low, n_b, sided) <= 0.05 < (min_marginal_p(low - 1, n_b, sided) if low > 1 else 1)


# --- 10: errors ---------------------------------------------------------------------------------


def test_errors():
    with pytest.raises(ValueError, match="pair"):
        joint_permutation_test([_row("g", [1, 2, 3], [4, 5]), _row("g", [1, 2], [3, 4, 5])])
    with pytest.raises(ValueError, match="pair"):
        joint_permutation_test([_row("g", [1, 2, 3], [4, 5]), _row("g", [1, 2, 3], [4, 5, 6])])
    joint_permutation_test([_row("g", [1, 2, 3], [4, 5]), _row("h", [1, 2], [3, 4, 5])])  # other pairs may differ
    with pytest.raises(ValueError, match="sided"):
        joint_permutation_test([_row("g", [1, 2], [3, 4], sided="greater")])
    with pytest.raises(ValueError, match="sided"):
        min_marginal_p(2, 2, "both")
    with pytest.raises(ValueError, match="sided"):
        seeds_needed(4, 3, 0.05, "two_sided")
    with pytest.raises(ValueError):
        joint_permutation_test([_row("g", [], [1.0])])
    with pytest.raises(ValueError):
        joint_permutation_test([_row("g", [1.0], [2.0], shift=math.nan)])
    with pytest.raises(ValueError):
        seeds_needed(4, 3, 0.0)
    assert joint_permutation_test([]) == []


def test_seeds_floor_depends_on_seed_counts_not_on_ties():
    # a row whose values all tie has p = 1 and its own floor 1, but its seeds could judge it: the
    # floor for untied values is min_marginal_p (one row, one pair: no adjustment)
    tied = RowInput("g", np.full(4, 8.0), np.full(4, 8.0))
    [r] = joint_permutation_test([tied])
    assert r.p == 1.0 and r.p_floor == 1.0
    assert r.seeds_floor == pytest.approx(1 / 70)
    # 2 vs 2: no assignment reaches 0.05, whatever the values
    [r2] = joint_permutation_test([RowInput("g", np.array([1.0, 2.0]), np.array([3.0, 4.0]))])
    assert r2.seeds_floor == pytest.approx(1 / 6)
    # two independent pairs with one untied row each: 1 - (1 - 1/70)^2
    rows = [RowInput("a", np.arange(4.0), np.arange(4.0) + 10), RowInput("b", np.arange(4.0) + 3, np.arange(4.0) - 10)]
    res = joint_permutation_test(rows)
    assert res[0].seeds_floor == pytest.approx(1 - (1 - 1 / 70) ** 2, rel=1e-12)
