"""Statistics across seeds: descriptive statistics, pairwise tests, Holm correction, effect sizes.

Everything here is a pure function of arrays of per-seed values, under one rule for values that
are not finite numbers:

- NaN (a run without a value, e.g. one that diverged before its first evaluation) is excluded
  from every statistic and counted (``Summary.n_nan``), so a table can say so; it is never
  averaged in.
- +inf (reverse KL when no sample is high quality) is a real outcome, the worst one for a
  lower-is-better metric: rank statistics (median, quartiles, the Mann-Whitney test, Cliff's
  delta, "best") order it by value; means and spreads cannot hold it, so they describe the finite
  values and ``Summary.n_inf`` says how many runs were infinite; ``Summary.location`` (the mean
  over every non-NaN value) is infinite as soon as one value is. Welch's t is undefined (n/a) for
  a sample holding an infinite value.

Sources: Mann & Whitney (1947) (no ties: :func:`scipy.stats.mannwhitneyu` with
``method="exact"``; ties: the exact conditional distribution over all assignments, counted here);
Welch (1947) via :func:`scipy.stats.ttest_ind` with ``equal_var=False``; Holm (1979), "A simple
sequentially rejective multiple test procedure"; Cliff (1993) for Cliff's delta; Cohen (1988) for
d with the pooled standard deviation; Student (1908) for the t interval of the mean.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from typing import Callable, Mapping, Sequence

import numpy as np
from scipy import stats as sps

TESTS = ("mannwhitney", "welch")
CONFIDENCE = 0.95
# Mann-Whitney with ties: the exact distribution is counted by dynamic programming over rank sums,
# O(n1 * N * N) work for N = n1 + n2 pooled values (about 7 ms at N = 40); beyond this N the
# normal approximation (tie-corrected, with continuity correction) is used instead.
EXACT_TIES_MAX_N = 100
MW_METHODS = {
    "exact": "exact (no ties: SciPy's exact null distribution of U)",
    "exact-ties": "exact with ties (all C(n1+n2, n1) assignments of the pooled values, counted by rank sum)",
    "normal": "normal approximation (tie-corrected, continuity-corrected; more than "
              f"{EXACT_TIES_MAX_N} pooled values with ties)",
}


def finite(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """The finite values of `values` as float64 (None, NaN and +-inf dropped)."""
    arr = not_nan(values)
    return arr[np.isfinite(arr)]


def not_nan(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """`values` as float64 without None and NaN, keeping +-inf: an infinite value (e.g. reverse KL with
    no high-quality sample) is a real, worst-possible outcome that a rank statistic can order."""
    arr = np.asarray([np.nan if v is None else v for v in np.asarray(values, dtype=object).ravel()], dtype=np.float64)
    return arr[~np.isnan(arr)]


def quantile(values: Sequence[float] | np.ndarray, q: float) -> float:
    """The q-quantile of the non-NaN values with linear interpolation between order statistics (numpy's
    default), where an infinite order statistic stays infinite instead of turning into NaN (inf - inf):
    the median of [1, inf, inf] is inf, of [1, 2, inf] is 2. NaN for no value."""
    x = np.sort(not_nan(values))
    if len(x) == 0:
        return math.nan
    h = (len(x) - 1) * q
    i = int(math.floor(h))
    frac = h - i
    lo, hi = float(x[i]), float(x[min(i + 1, len(x) - 1)])
    if frac == 0 or lo == hi:
        return lo
    if math.isinf(lo) and math.isinf(hi):
        return math.nan  # -inf and +inf
    if math.isinf(lo):
        return lo
    if math.isinf(hi):
        return hi
    return lo + frac * (hi - lo)


def location(values: Sequence[float] | np.ndarray) -> float:
    """The mean over every non-NaN value: infinite as soon as one value is (NaN for no value or for
    both signs of infinity). What orderings of cells use ("best point", "≈ null", null levels)."""
    x = not_nan(values)
    if len(x) == 0:
        return math.nan
    with np.errstate(invalid="ignore"):
        return float(np.mean(x))


# ----------------------------------------------------------------------------- descriptive
@dataclass(frozen=True)
class Summary:
    """Descriptive statistics of one cell (a row of the table x data set x metric).

    mean, std (ddof = 1), se and the t interval describe the `n` finite values; median and
    quartiles every non-NaN value (an infinite one included, as an order statistic); `location`
    the mean over every non-NaN value (infinite when one is). NaN where undefined: std, se and the
    interval need n >= 2."""

    n: int  # finite values
    n_inf: int  # infinite values (either sign)
    n_nan: int  # NaN values (runs without a value)
    n_total: int  # runs in the cell
    mean: float
    std: float  # sample standard deviation (ddof = 1)
    se: float  # std / sqrt(n)
    median: float
    q1: float
    q3: float
    iqr: float
    ci_low: float  # Student t interval of the mean
    ci_high: float
    location: float
    values: tuple[float, ...] = ()  # the per-seed values, in the order given (NaN and inf included)


def t_interval(x: Sequence[float] | np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Student t confidence interval of the mean, mean +- t_{(1+c)/2, n-1} s / sqrt(n), of finite
    values `x`; (NaN, NaN) for n < 2. Exact coverage for normal data at every n >= 2; see
    :func:`interval_coverage` and docs/REPORTS.md for skewed data."""
    x = np.asarray(x, np.float64)
    n = len(x)
    if n < 2:
        return math.nan, math.nan
    m, s = float(np.mean(x)), float(np.std(x, ddof=1))
    half = float(sps.t.ppf((1 + confidence) / 2, n - 1)) * s / math.sqrt(n)
    return m - half, m + half


def describe(values: Sequence[float] | np.ndarray, confidence: float = CONFIDENCE) -> Summary:
    raw = np.asarray([np.nan if v is None else float(v) for v in np.asarray(values, dtype=object).ravel()],
                     dtype=np.float64)
    x = raw[np.isfinite(raw)]
    n, n_nan = len(x), int(np.isnan(raw).sum())
    n_inf = int(np.isinf(raw).sum())
    nan = math.nan
    q1, med, q3 = (quantile(raw, q) for q in (0.25, 0.5, 0.75))
    with np.errstate(invalid="ignore"):
        iqr = q3 - q1  # NaN (n/a) when both quartiles are the same infinity
    mean = float(np.mean(x)) if n else nan
    std = float(np.std(x, ddof=1)) if n >= 2 else nan
    se = std / math.sqrt(n) if n >= 2 else nan
    lo, hi = t_interval(x, confidence)
    return Summary(n, n_inf, n_nan, len(raw), mean, std, se, med, q1, q3, iqr, lo, hi, location(raw),
                   tuple(float(v) for v in raw))


def clip_interval(s: Summary, lower: float, upper: float) -> Summary:
    """`s` with its interval clipped to the metric's range [lower, upper] (a t interval of 5
    values near 25 of 25 modes reaches past 25; one of fractions near 0 below 0). The clipped
    interval still holds the mean: the mean of values in the range lies in the range."""
    if math.isnan(s.ci_low):
        return s
    return replace(s, ci_low=min(max(s.ci_low, lower), upper), ci_high=max(min(s.ci_high, upper), lower))


def interval_coverage(draw: Callable[[np.random.Generator, tuple[int, int]], np.ndarray], true_mean: float,
                      n: int, reps: int, seed: int = 0, confidence: float = CONFIDENCE) -> float:
    """Fraction of `reps` simulated samples of size `n` (rows of ``draw(rng, (reps, n))``) whose
    :func:`t_interval` holds `true_mean`: the interval's actual coverage for that distribution."""
    x = np.asarray(draw(np.random.default_rng(seed), (reps, n)), np.float64)
    m, s = x.mean(axis=1), x.std(axis=1, ddof=1)
    half = float(sps.t.ppf((1 + confidence) / 2, n - 1)) * s / math.sqrt(n)
    return float(np.mean((m - half <= true_mean) & (true_mean <= m + half)))


# ----------------------------------------------------------------------------- effect sizes
def cliffs_delta(a: np.ndarray, b: np.ndarray) -> float:
    """P(A > B) - P(A < B) over all pairs, in [-1, 1] (Cliff 1993). NaN if either is empty."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) == 0 or len(b) == 0:
        return math.nan
    with np.errstate(invalid="ignore"):  # inf - inf is NaN: a tie, counted in neither direction
        diff = a[:, None] - b[None, :]
    return float((np.sum(diff > 0) - np.sum(diff < 0)) / diff.size)


def cohens_d(a: np.ndarray, b: np.ndarray) -> float:
    """(mean A - mean B) / pooled sd (ddof = 1) (Cohen 1988). NaN if n < 2, a value is infinite or
    the pooled sd is 0."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    na, nb = len(a), len(b)
    if na < 2 or nb < 2 or not (np.isfinite(a).all() and np.isfinite(b).all()):
        return math.nan
    pooled = math.sqrt(((na - 1) * np.var(a, ddof=1) + (nb - 1) * np.var(b, ddof=1)) / (na + nb - 2))
    if pooled == 0:
        return math.nan
    return float((np.mean(a) - np.mean(b)) / pooled)


# ----------------------------------------------------------------------------- tests
def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (Holm 1979). NaN entries stay NaN and do not count in m.

    With the m p-values sorted ascending, p_(1) <= ... <= p_(m), the adjusted value of p_(i) is
    max_{j <= i} min(1, (m - j + 1) p_(j)); reject H_(i) when its adjusted value is < level.
    """
    p = np.asarray(pvalues, np.float64)
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(~np.isnan(p))
    m = len(idx)
    running = 0.0
    for rank, i in enumerate(idx[np.argsort(p[idx], kind="stable")]):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


ALTERNATIVES = ("two-sided", "less", "greater")


def _exact_ties_pvalue(a: np.ndarray, b: np.ndarray, alternative: str = "two-sided") -> float:
    """p of the rank-sum (Mann-Whitney) test from its exact distribution given the pooled
    values, ties included: under the null every one of the C(N, n1) ways to pick A's n1 values out
    of the N pooled ones is equally likely. Doubled mid-ranks are integers, so the number of ways to
    reach each rank sum of A is counted by dynamic programming (a subset-sum count over the ranks)
    instead of enumerating the assignments. Two-sided: twice the smaller tail, at most 1 (SciPy's
    convention for its exact and permutation tests); ``"less"``: P(rank sum of A <= observed), A
    tends to be smaller; ``"greater"``: P(rank sum of A >= observed)."""
    pooled = np.concatenate([a, b])
    n1, big_n = len(a), len(pooled)
    r2 = np.rint(2 * sps.rankdata(pooled)).astype(np.int64)
    top = int(np.sort(r2)[-n1:].sum())
    ways = np.zeros((n1 + 1, top + 1))  # ways[k, s]: subsets of k values with doubled-rank sum s
    ways[0, 0] = 1.0
    for r in r2:
        ways[1:, r:] = ways[1:, r:] + ways[:-1, : top + 1 - r]  # the right side is read before writing
    dist = ways[n1] / math.comb(big_n, n1)
    observed = int(r2[:n1].sum())
    upper, lower = float(dist[observed:].sum()), float(dist[: observed + 1].sum())
    if alternative == "less":
        return min(1.0, lower)
    if alternative == "greater":
        return min(1.0, upper)
    return min(1.0, 2.0 * min(upper, lower))


def mannwhitney(a: np.ndarray, b: np.ndarray, alternative: str = "two-sided") -> tuple[float, float, str]:
    """(U of `a`, p, method) of the Mann-Whitney U test; `alternative` as in SciPy: "two-sided"
    (default), "less" (A tends to be smaller than B) or "greater". The method (a key of MW_METHODS):

    - no tie among the pooled values: ``"exact"``, SciPy's exact null distribution (any size);
    - ties and at most EXACT_TIES_MAX_N pooled values: ``"exact-ties"``, the exact distribution given
      the tied values (:func:`_exact_ties_pvalue`), what a permutation test over every assignment gives;
    - ties and more values: ``"normal"``, the tie-corrected normal approximation.

    Infinite values are ranked like any other (+inf above every finite value; equal infinities tie)."""
    if alternative not in ALTERNATIVES:
        raise ValueError(f"unknown alternative {alternative!r}; known: {', '.join(ALTERNATIVES)}")
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    pooled = np.concatenate([a, b])
    ties = len(np.unique(pooled)) < len(pooled)
    if not ties:
        res = sps.mannwhitneyu(a, b, alternative=alternative, method="exact")
        return float(res.statistic), float(res.pvalue), "exact"
    if len(pooled) <= EXACT_TIES_MAX_N:
        u = float(sps.rankdata(pooled)[: len(a)].sum() - len(a) * (len(a) + 1) / 2)
        return u, _exact_ties_pvalue(a, b, alternative), "exact-ties"
    res = sps.mannwhitneyu(a, b, alternative=alternative, method="asymptotic")
    return float(res.statistic), float(res.pvalue), "normal"


def welch_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """(mean A - mean B, its standard error sqrt(s_A^2/n_A + s_B^2/n_B), Welch-Satterthwaite
    degrees of freedom) of finite samples with at least 2 values each (Welch 1947): the pieces of
    Welch's t test (:func:`test_pvalue` with ``"welch"``) and of a confidence bound for the
    difference, mean difference -+ t_{df} * se. The degrees of freedom are NaN when both variances
    are 0 (the difference is then known exactly: se = 0). Vectorised over leading axes: the seeds
    are the last axis of `a` and `b` (many simulated samples at once); floats for 1-D input."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    na, nb = a.shape[-1], b.shape[-1]
    if na < 2 or nb < 2:
        raise ValueError("Welch's t needs at least 2 values on each side")
    va, vb = np.var(a, axis=-1, ddof=1) / na, np.var(b, axis=-1, ddof=1) / nb
    se2 = va + vb
    denom = va ** 2 / (na - 1) + vb ** 2 / (nb - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        df = np.where(denom > 0, se2 ** 2 / np.where(denom > 0, denom, 1.0), np.nan)
    diff = np.mean(a, axis=-1) - np.mean(b, axis=-1)
    if a.ndim == 1 and b.ndim == 1:
        return float(diff), math.sqrt(float(se2)), float(df)
    return diff, np.sqrt(se2), df


def test_pvalue(a: np.ndarray, b: np.ndarray, test: str = "mannwhitney") -> tuple[float, float, str]:
    """(statistic, two-sided p, method) of `test` on non-NaN samples a, b; NaN and an "n/a: ..."
    method when it is undefined (either sample has fewer than 2 values; for Welch's t also an
    infinite value, or both variances 0)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 2 or len(b) < 2:
        return math.nan, math.nan, "n/a: fewer than 2 values"
    if test == "mannwhitney":
        return mannwhitney(a, b)
    if test == "welch":
        if not (np.isfinite(a).all() and np.isfinite(b).all()):
            return math.nan, math.nan, "n/a: infinite value"
        if np.var(a) == 0 and np.var(b) == 0:
            return math.nan, math.nan, "n/a: no variance"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = sps.ttest_ind(a, b, equal_var=False)
        return float(res.statistic), float(res.pvalue), "welch"
    raise ValueError(f"unknown test {test!r}; known: {', '.join(TESTS)}")


def effect_size(a: np.ndarray, b: np.ndarray, test: str = "mannwhitney") -> float:
    """Cliff's delta for the rank test, Cohen's d for Welch's t (positive: A larger)."""
    return cliffs_delta(a, b) if test == "mannwhitney" else cohens_d(a, b)


def min_pvalue_mannwhitney(n1: int, n2: int, alternative: str = "two-sided") -> float:
    """Smallest p the Mann-Whitney test used here can return for sizes n1, n2: the extreme orders
    out of C(n1 + n2, n1) equally likely ones; two-sided both, 2 / C(n1 + n2, n1) (the p of two
    completely separated samples, which have no tie and so take the exact method), one-sided
    ("less" or "greater") one, 1 / C(n1 + n2, n1)."""
    if n1 < 1 or n2 < 1:
        return 1.0
    return min(1.0, (2.0 if alternative == "two-sided" else 1.0) / math.comb(n1 + n2, n1))


def seeds_needed(n_comparisons: int, level: float, limit: int = 50) -> int | None:
    """Smallest equal number of seeds per variant for which an exact two-sided Mann-Whitney test,
    Holm-corrected over `n_comparisons`, can reach `level` at all (None above `limit`)."""
    for n in range(2, limit + 1):
        if max(n_comparisons, 1) * min_pvalue_mannwhitney(n, n) < level:
            return n
    return None


@dataclass(frozen=True)
class Comparison:
    """One pairwise comparison of rows `a` and `b` on one data set and metric."""

    dataset: str
    metric: str
    a: str
    b: str
    n_a: int  # values the test used (non-NaN; the rank test keeps infinite ones)
    n_b: int
    test: str
    method: str  # how p was computed: a key of MW_METHODS, "welch", or "n/a: <why>"
    statistic: float
    p: float
    p_holm: float  # Holm-adjusted over the comparisons of this data set and metric (the family)
    effect: float  # Cliff's delta (Mann-Whitney) or Cohen's d (Welch); positive: a larger
    cliffs_delta: float
    cohens_d: float
    significant: bool  # p_holm < level
    better: str | None  # the significantly better row, or None (a tie or untestable)


def _direction(a: np.ndarray, b: np.ndarray, test: str) -> float:
    if test == "mannwhitney":
        return cliffs_delta(a, b)
    return float(np.mean(a) - np.mean(b)) if len(a) and len(b) else math.nan


def pairwise(groups: Mapping[str, Sequence[float]], higher_is_better: bool, *, test: str = "mannwhitney",
             level: float = 0.05, dataset: str = "", metric: str = "") -> list[Comparison]:
    """All pairs of `groups` (row -> per-seed values), in the order of `groups`, one family: Holm's
    correction runs over these comparisons only. NaN values are left out (n_a, n_b say how many
    values were used); infinite values are kept (see the module docstring)."""
    names = list(groups)
    data = {k: not_nan(v) for k, v in groups.items()}
    pairs = [(names[i], names[j]) for i in range(len(names)) for j in range(i + 1, len(names))]
    raw = [test_pvalue(data[a], data[b], test) for a, b in pairs]
    adjusted = holm([p for _, p, _ in raw])
    out = []
    for (a, b), (stat, p, method), padj in zip(pairs, raw, adjusted):
        xa, xb = data[a], data[b]
        significant = bool(np.isfinite(padj) and padj < level)
        better = None
        if significant:
            d = _direction(xa, xb, test)
            if d != 0 and np.isfinite(d):
                better = a if (d > 0) == higher_is_better else b
            else:
                significant = False
        out.append(Comparison(dataset, metric, a, b, len(xa), len(xb), test, method, stat, p, float(padj),
                              effect_size(xa, xb, test), cliffs_delta(xa, xb), cohens_d(xa, xb), significant, better))
    return out


def best_variant(comparisons: Sequence[Comparison], variants: Sequence[str]) -> str | None:
    """The row significantly better than every other one, else None (ties stay ties)."""
    if len(variants) < 2:
        return None
    for v in variants:
        mine = [c for c in comparisons if v in (c.a, c.b)]
        if len(mine) == len(variants) - 1 and all(c.better == v for c in mine):
            return v
    return None


def outcome(c: Comparison, row: str) -> str:
    """'better', 'worse', 'tie' or 'n/a' for row `row` in comparison `c`."""
    if not np.isfinite(c.p_holm):
        return "n/a"
    if c.better is None:
        return "tie"
    return "better" if c.better == row else "worse"


@dataclass(frozen=True)
class Reach:
    """Whether a family of comparisons can reach the level at all, from the sizes its tests used."""

    reachable: bool
    m: int  # comparisons with a p-value (Holm's family size)
    floor: float  # the smallest p any of them can return (Mann-Whitney; 0 for Welch; NaN with none)
    sizes: tuple[tuple[int, int], ...]  # (n_a, n_b) of the comparisons with a p-value


def reachability(comparisons: Sequence[Comparison], level: float) -> Reach:
    """Holm's smallest adjusted p is m * p_(1), so a family of m Mann-Whitney tests can reach `level`
    only if m * (the smallest possible p of its most extreme pair) < level. The sizes are those the
    tests used (NaN left out, infinite values kept), so this never contradicts the tests themselves.
    Welch's t has no such floor: any family with a testable pair can reach it."""
    usable = [c for c in comparisons if np.isfinite(c.p)]
    sizes = tuple((c.n_a, c.n_b) for c in usable)
    m = len(usable)
    if m == 0:
        return Reach(False, 0, math.nan, sizes)
    if usable[0].test != "mannwhitney":
        return Reach(True, m, 0.0, sizes)
    floor = min(min_pvalue_mannwhitney(a, b) for a, b in sizes)
    return Reach(m * floor < level, m, floor, sizes)


# ----------------------------------------------------------------------------- reference rows
def spread(*cells: Summary) -> float:
    """The larger standard deviation of `cells` (finite ones only; 0 when none has one)."""
    sds = [c.std for c in cells if math.isfinite(c.std)]
    return max(sds) if sds else 0.0


def near_null(cell: Summary, null: Summary, higher_is_better: bool) -> bool:
    """True when `cell` is not better than the `null` row by more than the larger of their standard
    deviations: (cell - null) in the better direction <= max(std cell, std null). Compares the
    locations (means over non-NaN values, infinite when a value is), so a worse, equal or infinitely
    bad cell is "≈ null". False when either has no value."""
    a, b = cell.location, null.location
    if math.isnan(a) or math.isnan(b):
        return False
    with np.errstate(invalid="ignore"):
        gain = (a - b) if higher_is_better else (b - a)
    return not gain > spread(cell, null)  # inf - inf (both infinitely bad) is NaN: not better


def worse_than_null(cell: Summary, null: Summary, higher_is_better: bool) -> bool:
    """True when the `null` row is better than `cell` by more than the larger of their standard
    deviations (the mirror of :func:`near_null`), or `cell` is infinitely bad and the null row is
    not: a trained row that a reference model with no training beats. Such a cell is also
    "≈ null"; reports mark it apart ("< null"). False when either has no value."""
    a, b = cell.location, null.location
    if math.isnan(a) or math.isnan(b):
        return False
    with np.errstate(invalid="ignore"):
        loss = (b - a) if higher_is_better else (a - b)
    return bool(loss > spread(cell, null))  # inf - inf (both infinitely bad) is NaN: not worse


def best_of(cells: Mapping[str, Summary], higher_is_better: bool) -> str | None:
    """The key of the cell with the best location (ties: the first key); None without a value."""
    scored = [(k, c.location) for k, c in cells.items() if not math.isnan(c.location)]
    if not scored:
        return None
    return (max if higher_is_better else min)(scored, key=lambda kv: kv[1])[0]


@dataclass(frozen=True)
class Difference:
    """A row against a named reference row on one metric: what a table shows where no test can
    reach significance (few seeds) instead of a matrix of ties."""

    a: str
    b: str  # the reference row
    n_a: int
    n_b: int
    diff: float  # mean A - mean B of the finite values; NaN when either side has an infinite value
    low: float  # Welch interval of the difference (CONFIDENCE); NaN when undefined
    high: float
    cliffs_delta: float  # all non-NaN values, infinite ones included; positive: A larger


def difference(a: str, b: str, values_a: Sequence[float], values_b: Sequence[float],
               confidence: float = CONFIDENCE) -> Difference:
    """Mean difference A - B with its Welch interval, mean difference -+ t_{df, (1+c)/2} * se
    (:func:`welch_difference`; exact when both sides have no spread), and Cliff's delta. NaN runs
    are left out; an infinite value leaves the difference and interval NaN (Cliff's delta ranks it)."""
    xa, xb = not_nan(values_a), not_nan(values_b)
    delta = cliffs_delta(xa, xb)
    if not (np.isfinite(xa).all() and np.isfinite(xb).all()) or len(xa) == 0 or len(xb) == 0:
        return Difference(a, b, len(xa), len(xb), math.nan, math.nan, math.nan, delta)
    diff = float(np.mean(xa) - np.mean(xb))
    if len(xa) < 2 or len(xb) < 2:
        return Difference(a, b, len(xa), len(xb), diff, math.nan, math.nan, delta)
    _, se, df = welch_difference(xa, xb)
    half = 0.0 if se == 0 else float(sps.t.ppf((1 + confidence) / 2, df)) * se
    return Difference(a, b, len(xa), len(xb), diff, diff - half, diff + half, delta)
