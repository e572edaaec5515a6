"""Joint permutation test with Westfall & Young min-p step-down adjustment.

A regression check compares a *candidate* against a *baseline* on several rows (metrics), grouped
in independent *pairs* (different runs). Within one pair every row has ``n_c`` candidate seeds and
``n_b`` baseline seeds; values are *oriented* (larger is better) and may be ``±inf`` or ``NaN``
(a diverged run, ranked as the worst value, below ``-inf``).

Method
------
Row statistic. The ``n = n_c + n_b`` values of a row (the candidate's after adding the row's
``shift``) are pooled and given mid-ranks (ties share their average rank; the order is NaN, then
``-inf``, the finite values, ``+inf``; equal infinities tie, NaNs tie with each other). ``S`` is
the candidate's rank sum (the Wilcoxon–Mann–Whitney statistic). Its extremeness is ``T = -S`` for
a one-sided row (``sided="less"``: evidence when the candidate is worse) and
``T = |S - n_c (n + 1) / 2|`` for a two-sided row. Ranks are kept as integers (twice the
mid-rank), so the comparisons of ``T`` below are exact.

Permutations. Under H0 the ``n`` seeds of one pair are exchangeable. One relabelling of
candidate/baseline is applied to *all rows of a pair at once*, which keeps the correlation between
rows; pairs are relabelled independently of each other. A pair is enumerated exactly (all
``C(n, n_c)`` assignments) when that number is ``<= max_exact``; otherwise it gets a seeded
Monte-Carlo set: the identity (the observed labels) plus ``n_resamples`` uniformly random
assignments, drawn with ``numpy.random.default_rng(seed)`` (one generator, used by the
Monte-Carlo pairs in order of first appearance). Call the set of a pair ``Π_g`` and its size
``P_g``.

Marginal p. ``p_r(π)`` is the share of *all* ``C(n, n_c)`` assignments whose ``T_r`` is at
least ``T_r(π)``; the observed p is ``p_r(identity)``. For an enumerated pair it is counted in the
enumeration. For a Monte-Carlo pair it is not estimated either: it is read off the exact null law
of the rank sum with the row's own ties, counted by dynamic programming over subsets (0/1 knapsack
on doubled mid-ranks; float64 counts, exact up to ``n = 55``). So the marginal p's are always
exact, and the Monte Carlo only estimates the shares ``F`` below.

Min-p step-down (Westfall & Young 1993, *Resampling-Based Multiple Testing*, Wiley, §2.6, the
min-p step-down algorithm, their Algorithm 2.8), across all rows of all pairs. Order the rows by
observed p, ascending (ties keep input order; the order within ties does not change any result):
``r_1 .. r_R``. Step ``j`` uses the remaining set ``S_j = {r_j .. r_R}`` and
``q_j = min_{r ∈ S_j} p_r(π)`` for a joint assignment ``π``. Because the pairs are permuted
independently,

    P(q_j <= t) = 1 - prod_g (1 - F_gj(t)),
    F_gj(t) = share of π_g ∈ Π_g with min_{r ∈ S_j ∩ rows(g)} p_r(π_g) <= t

(``F_gj = 0`` for a pair with no row left in ``S_j``). No resampling across pairs is needed, and
the result is exact whenever every pair is enumerated exactly. Adjusted p:
``p~_1 = P(q_1 <= p_{r_1})``, ``p~_j = max(p~_{j-1}, P(q_j <= p_{r_j}), p_{r_j})``, capped at 1
(the ``p_{r_j}`` term never binds when exact, since ``P(q_j <= p_{r_j}) >= p_{r_j}``; it clamps
Monte-Carlo noise toward a known lower bound). p values are compared with a relative tolerance of
``1e-12`` (``c / P`` from integer counts is correctly rounded, so equal rationals are equal floats;
the tolerance guards the float sums of very large pairs).

Monte Carlo. ``F_gj`` of a Monte-Carlo pair is the share of its set ``Π_g`` (the identity and
``B = n_resamples`` random assignments): ``(1{identity} + X) / (1 + B)``. For a single row this is
the usual ``(1 + #{b : T(π_b) >= T_obs}) / (1 + B)``. It is a valid (conservative) permutation p,
not only an estimate of one (Phipson & Smyth 2010): the functions ``p_r(·)`` are fixed, and under
H0 the observed labels are exchangeable with the ``B`` random ones within each pair and
independent across pairs, so the observed joint assignment is a uniform draw from the product of
the sets over which ``P(q <= t)`` is computed. Error (``mc_error``): at a fixed threshold ``X`` is
exactly ``Binomial(B, F_gj)``; each ``F_gj`` gets the larger half of its 99% Clopper–Pearson
interval (``MC_CONFIDENCE``) around the share used; ``1 - prod_g (1 - F_g)`` moves by at most
``sum_g |ΔF_g|`` and a running maximum by at most the largest error of its terms, so
``mc_error(r_j) = min(1, max_{i <= j} sum_{g Monte Carlo} halfwidth(F_gi))``. Each interval holds
with 99%; all of them at once only with Bonferroni's ``1 - 0.01 × (number of intervals)``. The
caller can say "p_adjusted = X ± mc_error". It is 0 when every pair is exact; a row of an exactly
enumerated pair still carries the error of the Monte-Carlo pairs in its family.

Strong control of the family-wise error needs subset pivotality (Westfall & Young 1993, §2.6):
the joint law of the true-null rows' p values must not depend on the false nulls. With
relabelling of whole seeds that holds under the complete null; under partial nulls it is the
usual assumption of this method.

Floor (``p_floor``). For each row, ``P(q_1 <= p_r_min)``, where ``p_r_min`` is the row's smallest
achievable marginal p (the share of its most extreme assignments, ties included), evaluated at the
first step with the full set ``S_1``. It is the single-step min-p adjusted p the row would get at
its most extreme. A row with ``p_floor > alpha`` cannot reach ``p_adjusted <= alpha`` *at the
first step*; with step-down it still can when rows with smaller p come before it (the remaining
set shrinks), so "not judged" means "not judgeable on its own". When some pair is Monte Carlo,
the floor is the Monte-Carlo share clipped to ``[p_r_min, R p_r_min]`` (the true floor lies
there: each ``p_r(π)`` is super-uniform, so Bonferroni bounds it); it carries no error bound.

Helpers: :func:`min_marginal_p` (smallest achievable marginal p without ties) and
:func:`seeds_needed` (candidate seeds needed for a row family to be judgeable).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import stats

SIDES = ("less", "two-sided")
MC_CONFIDENCE = 0.99  # confidence of the Clopper–Pearson interval behind ``mc_error``
_CHUNK = 4096  # assignments per block (bounds the memory of the rank sums)
_RTOL = 1e-12  # relative tolerance when comparing p values (equal rationals may differ by an ulp)


@dataclass(frozen=True)
class RowInput:
    """One row (metric) of a check. Values are oriented: larger is better; NaN is the worst."""

    pair: Hashable  # which pair (independent group of runs) the row belongs to
    candidate: np.ndarray  # n_c values
    baseline: np.ndarray  # n_b values
    sided: str = "less"  # "less" (the candidate is worse) or "two-sided"
    shift: float = 0.0  # margin δ added to the candidate's values before ranking


@dataclass(frozen=True)
class RowResult:
    p: float  # observed marginal permutation p
    p_adjusted: float  # Westfall–Young min-p step-down adjusted p
    p_floor: float  # adjusted p at the first step if the row were at its most extreme
    statistic: float  # observed candidate rank sum S (mid-ranks)
    exact: bool  # whether the row's pair was enumerated exactly
    mc_error: float  # 0.0 when every pair is exact; else the 99% Clopper–Pearson bound on p_adjusted
    #: p_floor for untied values: the adjusted p at the first step if the row's observed p were
    #: min_marginal_p(n_c, n_b, sided). It depends on the seed counts, not on this row's ties: a row
    #: whose values all tie (both sides at 8/8 modes) is not "not judged", it shows no difference
    seeds_floor: float = math.nan


class SeedsNeeded(NamedTuple):
    bonferroni: int  # smallest k with n_rows * min_marginal_p(k, n_b) <= alpha (always judgeable)
    minimum: int  # smallest k with min_marginal_p(k, n_b) <= alpha (below it never judgeable)


@dataclass
class _Pair:
    rows: list[int]  # global row indices, in input order
    n_c: int
    n_b: int
    exact: bool = True
    size: int = 0  # P_g, the identity included
    p: np.ndarray | None = None  # (P_g, R_g): p_r(π) for every assignment π of the set
    p_min: np.ndarray | None = None  # (R_g,): smallest achievable marginal p
    sums2: np.ndarray | None = None  # (R_g,): twice the observed rank sums


def _check_sided(sided: str) -> None:
    if sided not in SIDES:
        raise ValueError(f"sided must be one of {SIDES}, not {sided!r}")


def _midranks2(values: np.ndarray) -> np.ndarray:
    """Twice the mid-ranks (int64) of ``values``: NaN lowest, then -inf, finite values, +inf."""
    nan = np.isnan(values)
    codes = np.zeros(values.shape, dtype=np.int64)
    if not nan.all():
        _, inverse = np.unique(values[~nan], return_inverse=True)
        codes[~nan] = inverse.reshape(-1) + 1
    counts = np.bincount(codes)
    before = np.concatenate(([0], np.cumsum(counts)[:-1]))
    # a tie group at positions a+1 .. a+c has mid-rank a + (c + 1) / 2
    return (2 * before + counts + 1)[codes]


def _extreme(sums2: np.ndarray, n_c: int, n: int, sided: str) -> np.ndarray:
    """T in doubled-rank units (integers): -2S one-sided, |2S - n_c (n + 1)| two-sided."""
    return -sums2 if sided == "less" else np.abs(sums2 - n_c * (n + 1))


def _assignments(n: int, n_c: int, max_exact: int, n_resamples: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """Candidate index sets (P × n_c); row 0 is the identity (0 .. n_c-1)."""
    total = math.comb(n, n_c)
    if total <= max_exact:
        idx = np.fromiter(itertools.combinations(range(n), n_c), dtype=np.dtype((np.intp, n_c)), count=total)
        return idx.reshape(total, n_c), True
    blocks = [np.arange(n_c, dtype=np.intp)[None, :]]
    base = np.arange(n, dtype=np.intp)
    for start in range(0, n_resamples, _CHUNK):
        m = min(_CHUNK, n_resamples - start)
        blocks.append(rng.permuted(np.tile(base, (m, 1)), axis=1)[:, :n_c])
    return np.concatenate(blocks), False


def _rank_sum_law(ranks2: np.ndarray, n_c: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact null law of the candidate's doubled rank sum: support and number of assignments.

    Counts the subsets of the smaller group's size by (size, sum) (a 0/1 knapsack) in float64,
    which is exact while the counts stay below 2**53 (C(n, n_c) < 9e15, i.e. n <= 55).
    """
    n = ranks2.size
    k = min(n_c, n - n_c)
    top = int(np.sort(ranks2)[::-1][:k].sum())
    table = np.zeros((k + 1, top + 1))
    table[0, 0] = 1.0
    for w in ranks2.tolist():
        table[1:, w:] = table[1:, w:] + table[:-1, :top + 1 - w]  # the right side is read before writing
    sums = np.flatnonzero(table[k])
    mass = table[k][sums]
    if k != n_c:  # the baseline was counted: the candidate has the rest
        sums = int(ranks2.sum()) - sums
    return sums, mass


def _exact_marginal(ranks2: np.ndarray, n_c: int, sided: str, cache: dict) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values of T and the exact marginal p of each, from the full permutation law."""
    key = ranks2.tobytes()
    if key not in cache:
        cache[key] = _rank_sum_law(np.sort(ranks2), n_c)
    sums, mass = cache[key]
    extreme = _extreme(sums, n_c, ranks2.size, sided)
    values, where = np.unique(extreme, return_inverse=True)
    at = np.bincount(where.reshape(-1), weights=mass)
    tail = np.cumsum(at[::-1])[::-1]  # from the most extreme end: accurate small p
    return values, tail / mass.sum()


def _fill_pair(pair: _Pair, rows: Sequence[RowInput], values: list[np.ndarray], max_exact: int,
               n_resamples: int, rng: np.random.Generator) -> None:
    n_c, n = pair.n_c, pair.n_c + pair.n_b
    ranks2 = np.stack([_midranks2(values[i]) for i in pair.rows], axis=1)  # (n, R_g)
    idx, pair.exact = _assignments(n, n_c, max_exact, n_resamples, rng)
    size = len(idx)
    sums2 = np.empty((size, len(pair.rows)), dtype=np.int64)
    for start in range(0, size, _CHUNK):
        sums2[start:start + _CHUNK] = ranks2[idx[start:start + _CHUNK]].sum(axis=1)
    p = np.empty(sums2.shape)
    p_min = np.empty(len(pair.rows))
    cache: dict = {}
    for k, i in enumerate(pair.rows):
        extreme = _extreme(sums2[:, k], n_c, n, rows[i].sided)
        if pair.exact:  # the set is the whole permutation law: count in it
            counts = size - np.searchsorted(np.sort(extreme), extreme, side="left")
            p[:, k], p_min[k] = counts / size, counts.min() / size
        else:  # the sampled set only estimates F; p_r(π) itself is exact
            support, tail = _exact_marginal(ranks2[:, k], n_c, rows[i].sided, cache)
            p[:, k], p_min[k] = tail[np.searchsorted(support, extreme)], tail[-1]
    pair.size, pair.p, pair.p_min, pair.sums2 = size, p, p_min, sums2[0]


def _at_most(p: np.ndarray, t: float) -> np.ndarray:
    return p <= t * (1.0 + _RTOL)


def _clopper_pearson(k: int, n: int) -> tuple[float, float]:
    """Two-sided ``MC_CONFIDENCE`` Clopper–Pearson interval of a binomial proportion k / n."""
    a = (1.0 - MC_CONFIDENCE) / 2
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def _tail(pairs: list[_Pair], running: list[np.ndarray | None], t: float) -> tuple[float, float]:
    """P(q <= t) over independent pairs, given each pair's min p per assignment, and its MC error."""
    shares, error = [], 0.0
    for pair, mins in zip(pairs, running):
        if mins is None:
            continue
        hit = _at_most(mins, t)
        k = int(np.count_nonzero(hit))
        share = k / pair.size
        if share:
            shares.append(share)
        if not pair.exact:  # the B random assignments are Bernoulli(F) draws; the identity is not random
            lo, hi = _clopper_pearson(k - int(hit[0]), pair.size - 1)
            error += max(share - lo, hi - share)
    if len(shares) == 1:  # one pair: the share itself, without the rounding of 1 - (1 - F)
        return shares[0], error
    return 1.0 - float(np.prod([1.0 - f for f in shares])), error


def _validate(rows: Sequence[RowInput]) -> list[np.ndarray]:
    values = []
    for i, row in enumerate(rows):
        _check_sided(row.sided)
        cand = np.asarray(row.candidate, dtype=float)
        base = np.asarray(row.baseline, dtype=float)
        if cand.ndim != 1 or base.ndim != 1:
            raise ValueError(f"row {i}: candidate and baseline must be 1-D")
        if cand.size < 1 or base.size < 1:
            raise ValueError(f"row {i}: need at least one candidate and one baseline value")
        shift = float(row.shift)
        if not math.isfinite(shift):
            raise ValueError(f"row {i}: shift must be finite, not {row.shift!r}")
        values.append(np.concatenate([cand + shift, base]))
    return values


def joint_permutation_test(rows: Sequence[RowInput], *, max_exact: int = 50_000, n_resamples: int = 20_000,
                           seed: int = 0) -> list[RowResult]:
    """Westfall–Young min-p step-down permutation test over all rows of all pairs.

    Returns one :class:`RowResult` per row, in input order. A pair is enumerated exactly when
    ``C(n_c + n_b, n_c) <= max_exact``, otherwise it gets the identity plus ``n_resamples``
    random assignments from ``numpy.random.default_rng(seed)`` (shared by the Monte-Carlo pairs,
    in order of first appearance). Raises ``ValueError`` for an unknown ``sided``, empty or
    non-1-D values, a non-finite shift, or rows of one pair whose ``n_c`` or ``n_b`` differ.
    """
    if n_resamples < 1:
        raise ValueError("n_resamples must be >= 1")
    values = _validate(rows)
    pairs: list[_Pair] = []
    where: dict[Hashable, int] = {}
    pair_of, local = [], []
    for i, row in enumerate(rows):
        n_c, n_b = np.size(row.candidate), np.size(row.baseline)
        g = where.setdefault(row.pair, len(pairs))
        if g == len(pairs):
            pairs.append(_Pair(rows=[], n_c=n_c, n_b=n_b))
        pair = pairs[g]
        if (n_c, n_b) != (pair.n_c, pair.n_b):
            raise ValueError(f"row {i}: pair {row.pair!r} has {pair.n_c} candidate and {pair.n_b} baseline "
                             f"values in its other rows, this row {n_c} and {n_b}")
        pair_of.append(g)
        local.append(len(pair.rows))
        pair.rows.append(i)
    rng = np.random.default_rng(seed)
    for pair in pairs:
        _fill_pair(pair, rows, values, max_exact, n_resamples, rng)

    n_rows = len(rows)
    observed = [float(pairs[pair_of[i]].p[0, local[i]]) for i in range(n_rows)]
    order = sorted(range(n_rows), key=lambda i: observed[i])  # stable; the order within ties does not matter
    step_p, step_err = np.empty(n_rows), np.empty(n_rows)
    running: list[np.ndarray | None] = [None] * len(pairs)
    for j in range(n_rows - 1, -1, -1):  # S_j grows by r_j going backwards
        i = order[j]
        g = pair_of[i]
        column = pairs[g].p[:, local[i]]
        running[g] = column.copy() if running[g] is None else np.minimum(running[g], column)
        step_p[j], step_err[j] = _tail(pairs, running, observed[i])
        step_p[j] = max(step_p[j], observed[i])  # exact: P(q_j <= p_rj) >= p_rj; clamps rounding and MC noise
    adjusted = np.minimum(1.0, np.maximum.accumulate(step_p))
    errors = np.minimum(1.0, np.maximum.accumulate(step_err))

    all_exact = all(pair.exact for pair in pairs)
    results: list[RowResult | None] = [None] * n_rows
    for j, i in enumerate(order):
        pair = pairs[pair_of[i]]
        smallest = float(pair.p_min[local[i]])
        floor, _ = _tail(pairs, running, smallest)  # running now holds S_1
        untied = min_marginal_p(pair.n_c, pair.n_b, rows[i].sided)
        seeds_floor, _ = _tail(pairs, running, untied)
        if not all_exact:  # an estimate: clip it to where the true floor lies
            floor = min(max(floor, smallest), n_rows * smallest)
            seeds_floor = min(max(seeds_floor, untied), n_rows * untied)
        results[i] = RowResult(p=observed[i], p_adjusted=float(adjusted[j]), p_floor=min(1.0, floor),
                               statistic=float(pair.sums2[local[i]]) / 2, exact=pair.exact,
                               mc_error=float(errors[j]), seeds_floor=min(1.0, max(seeds_floor, untied)))
    return results  # type: ignore[return-value]


def min_marginal_p(n_c: int, n_b: int, sided: str = "less") -> float:
    """Smallest achievable marginal p of one row with ``n_c`` vs ``n_b`` untied values.

    One-sided: ``1 / C(n, n_c)`` (the single most extreme assignment). Two-sided:
    ``2 / C(n, n_c)``: the rank-sum distribution is symmetric about ``n_c (n + 1) / 2`` for any
    ``n_c, n_b`` (``S_min`` and ``S_max`` are both ``n_c n_b / 2`` away from it), so the lowest and
    the highest rank sums are both maximally extreme, whether or not ``n_c == n_b``. (1 vs 1 gives
    1.)
    """
    _check_sided(sided)
    if n_c < 1 or n_b < 1:
        raise ValueError("n_c and n_b must be >= 1")
    total = math.comb(n_c + n_b, n_c)
    return 1.0 / total if sided == "less" else min(1.0, 2.0 / total)


def seeds_needed(n_b: int, n_rows: int, alpha: float = 0.05, sided: str = "less") -> SeedsNeeded:
    """Candidate seeds ``k`` needed against ``n_b`` baseline seeds, for ``n_rows`` rows at ``alpha``.

    ``bonferroni``: the smallest ``k`` with ``n_rows * min_marginal_p(k, n_b, sided) <= alpha``;
    since min-p adjustment never exceeds Bonferroni, a row at its most extreme is then judgeable
    whatever the correlation between rows. ``minimum``: the smallest ``k`` with
    ``min_marginal_p(k, n_b, sided) <= alpha``; with fewer seeds no row can ever be judged.
    """
    _check_sided(sided)
    if n_b < 1 or n_rows < 1:
        raise ValueError("n_b and n_rows must be >= 1")
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1], not {alpha!r}")

    def smallest(rows: int) -> int:
        def ok(k: int) -> bool:
            return rows * min_marginal_p(k, n_b, sided) <= alpha

        hi = 1
        while not ok(hi):  # C(k + n_b, k) >= k + 1, so this ends
            hi *= 2
        lo = hi // 2 + 1 if hi > 1 else 1
        while lo < hi:  # ok() is monotone in k
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if ok(mid) else (mid + 1, hi)
        return hi

    return SeedsNeeded(bonferroni=smallest(n_rows), minimum=smallest(1))
