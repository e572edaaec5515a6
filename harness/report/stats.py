"""Statistics across seeds: descriptive statistics, pairwise tests, Holm correction, effect sizes.

Everything here is a pure function of arrays of per-seed values. NaN (a diverged run) is excluded
from every statistic; +inf (reverse KL when no sample is high quality) is excluded from means,
spreads and Welch's t but kept by the rank test, where it is the worst possible value. Callers show
how many values were used (``n``) next to how many runs there were.

Sources: Mann & Whitney (1947) via :func:`scipy.stats.mannwhitneyu`; Welch (1947) via
:func:`scipy.stats.ttest_ind` with ``equal_var=False``; Holm (1979), "A simple sequentially
rejective multiple test procedure"; Cliff (1993) for Cliff's delta; Cohen (1988) for d with the
pooled standard deviation; Efron & Tibshirani (1993) for the percentile bootstrap, via
:func:`scipy.stats.bootstrap` with a fixed seed.
"""
from __future__ import annotations

import inspect
import math
import warnings
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from scipy import stats as sps

TESTS = ("mannwhitney", "welch")
EFFECT_NAMES = {"mannwhitney": "cliffs_delta", "welch": "cohens_d"}
BOOTSTRAP_RESAMPLES = 9999
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95
EXACT_LIMIT = 20_000  # exact Mann-Whitney p-values while C(n1 + n2, n1) is at most this


def finite(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """The finite values of `values` as float64 (None, NaN and +-inf dropped)."""
    arr = not_nan(values)
    return arr[np.isfinite(arr)]


def not_nan(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """`values` as float64 without None and NaN, keeping +-inf: an infinite value (e.g. reverse KL with
    no high-quality sample) is a real, worst-possible outcome that a rank test can order."""
    arr = np.asarray([np.nan if v is None else v for v in np.asarray(values, dtype=object).ravel()], dtype=np.float64)
    return arr[~np.isnan(arr)]


# ----------------------------------------------------------------------------- descriptive
@dataclass(frozen=True)
class Summary:
    """Descriptive statistics of one cell (variant x data set x metric). NaN where undefined:
    std, se and the confidence interval need n >= 2; everything needs n >= 1."""

    n: int  # finite values used
    n_total: int  # runs in the cell, finite or not
    mean: float
    std: float  # sample standard deviation (ddof = 1)
    se: float  # std / sqrt(n)
    median: float
    q1: float
    q3: float
    iqr: float
    ci_low: float  # percentile bootstrap CI of the mean
    ci_high: float


def bootstrap_ci(x: np.ndarray, confidence: float = CONFIDENCE, n_resamples: int = BOOTSTRAP_RESAMPLES,
                 seed: int = BOOTSTRAP_SEED) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean, deterministic (fixed seed)."""
    x = np.asarray(x, np.float64)
    if len(x) < 2:
        return math.nan, math.nan
    if np.all(x == x[0]):
        return float(x[0]), float(x[0])
    kwargs = _rng_kwarg(np.random.default_rng(seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sps.bootstrap((x,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                            method="percentile", vectorized=True, **kwargs)
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def _rng_kwarg(rng: np.random.Generator) -> dict[str, np.random.Generator]:
    # SciPy >= 1.15 calls it `rng`; older releases `random_state`
    return {"rng": rng} if "rng" in inspect.signature(sps.bootstrap).parameters else {"random_state": rng}


def describe(values: Sequence[float] | np.ndarray, confidence: float = CONFIDENCE,
             n_resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED) -> Summary:
    raw = np.asarray(values, dtype=object).ravel()
    x = finite(raw)
    n = len(x)
    nan = math.nan
    if n == 0:
        return Summary(0, len(raw), nan, nan, nan, nan, nan, nan, nan, nan, nan)
    q1, med, q3 = (float(v) for v in np.percentile(x, [25, 50, 75]))
    std = float(np.std(x, ddof=1)) if n >= 2 else nan
    se = std / math.sqrt(n) if n >= 2 else nan
    lo, hi = bootstrap_ci(x, confidence, n_resamples, seed)
    return Summary(n, len(raw), float(np.mean(x)), std, se, med, q1, q3, q3 - q1, lo, hi)


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
    """(mean A - mean B) / pooled sd (ddof = 1) (Cohen 1988). NaN if n < 2 or the pooled sd is 0."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
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


def test_pvalue(a: np.ndarray, b: np.ndarray, test: str = "mannwhitney") -> tuple[float, float]:
    """(statistic, two-sided p) of `test` on finite samples a, b; NaN when it is undefined
    (either sample has fewer than 2 values, or Welch's t with both variances 0)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 2 or len(b) < 2:
        return math.nan, math.nan
    if test == "mannwhitney":
        res = sps.mannwhitneyu(a, b, alternative="two-sided", method=_mw_method(len(a), len(b)))
    elif test == "welch":
        if np.var(a) == 0 and np.var(b) == 0:
            return math.nan, math.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = sps.ttest_ind(a, b, equal_var=False)
    else:
        raise ValueError(f"unknown test {test!r}; known: {', '.join(TESTS)}")
    return float(res.statistic), float(res.pvalue)


def _mw_method(n1: int, n2: int) -> object:
    # Exact over all C(n1 + n2, n1) assignments (ties handled exactly, as a permutation test) when
    # that is cheap; SciPy's "auto" would switch to the normal approximation as soon as there is a
    # tie, which is anti-conservative at n = 3 (p = 0.047 where the exact p is 0.1).
    if math.comb(n1 + n2, n1) <= EXACT_LIMIT:
        return sps.PermutationMethod(n_resamples=np.inf)
    return "auto"


def effect_size(a: np.ndarray, b: np.ndarray, test: str = "mannwhitney") -> float:
    """Cliff's delta for the rank test, Cohen's d for Welch's t (positive: A larger)."""
    return cliffs_delta(a, b) if test == "mannwhitney" else cohens_d(a, b)


def min_pvalue_mannwhitney(n1: int, n2: int) -> float:
    """Smallest two-sided p the Mann-Whitney test used here can return for sizes n1, n2. Exact:
    both extreme orders out of C(n1 + n2, n1) equally likely ones, so 2 / C(n1 + n2, n1); beyond
    EXACT_LIMIT, the p of two completely separated samples."""
    if n1 < 1 or n2 < 1:
        return 1.0
    if math.comb(n1 + n2, n1) <= EXACT_LIMIT:
        return min(1.0, 2.0 / math.comb(n1 + n2, n1))
    return float(sps.mannwhitneyu(np.arange(n1), np.arange(n1, n1 + n2), alternative="two-sided").pvalue)


def seeds_needed(n_comparisons: int, level: float, limit: int = 50) -> int | None:
    """Smallest equal number of seeds per variant for which an exact two-sided Mann-Whitney test,
    Holm-corrected over `n_comparisons`, can reach `level` at all (None above `limit`)."""
    for n in range(2, limit + 1):
        if max(n_comparisons, 1) * min_pvalue_mannwhitney(n, n) < level:
            return n
    return None


@dataclass(frozen=True)
class Comparison:
    """One pairwise comparison of variants `a` and `b` on one data set and metric."""

    dataset: str
    metric: str
    a: str
    b: str
    n_a: int
    n_b: int
    test: str
    statistic: float
    p: float
    p_holm: float  # Holm-adjusted over the comparisons of this data set and metric (the family)
    effect: float  # Cliff's delta (Mann-Whitney) or Cohen's d (Welch); positive: a larger
    cliffs_delta: float
    cohens_d: float
    significant: bool  # p_holm < level
    better: str | None  # the significantly better variant, or None (a tie or untestable)


def _direction(a: np.ndarray, b: np.ndarray, test: str) -> float:
    if test == "mannwhitney":
        return cliffs_delta(a, b)
    return float(np.mean(a) - np.mean(b)) if len(a) and len(b) else math.nan


def pairwise(groups: Mapping[str, Sequence[float]], higher_is_better: bool, *, test: str = "mannwhitney",
             level: float = 0.05, dataset: str = "", metric: str = "") -> list[Comparison]:
    """All pairs of `groups` (variant -> per-seed values), in the order of `groups`, one family:
    Holm's correction runs over these comparisons only."""
    names = list(groups)
    keep = not_nan if test == "mannwhitney" else finite  # ranks order +-inf; means cannot
    data = {k: keep(v) for k, v in groups.items()}
    pairs = [(names[i], names[j]) for i in range(len(names)) for j in range(i + 1, len(names))]
    raw = [test_pvalue(data[a], data[b], test) for a, b in pairs]
    adjusted = holm([p for _, p in raw])
    out = []
    for (a, b), (stat, p), padj in zip(pairs, raw, adjusted):
        xa, xb = data[a], data[b]
        significant = bool(np.isfinite(padj) and padj < level)
        better = None
        if significant:
            d = _direction(xa, xb, test)
            if d != 0 and np.isfinite(d):
                better = a if (d > 0) == higher_is_better else b
            else:
                significant = False
        out.append(Comparison(dataset, metric, a, b, len(xa), len(xb), test, stat, p, float(padj),
                              effect_size(xa, xb, test), cliffs_delta(xa, xb), cohens_d(finite(xa), finite(xb)),
                              significant, better))
    return out


def best_variant(comparisons: Sequence[Comparison], variants: Sequence[str]) -> str | None:
    """The variant significantly better than every other one, else None (ties stay ties)."""
    if len(variants) < 2:
        return None
    for v in variants:
        mine = [c for c in comparisons if v in (c.a, c.b)]
        if len(mine) == len(variants) - 1 and all(c.better == v for c in mine):
            return v
    return None


def outcome(c: Comparison, row: str) -> str:
    """'better', 'worse', 'tie' or 'n/a' for variant `row` in comparison `c`."""
    if not np.isfinite(c.p_holm):
        return "n/a"
    if c.better is None:
        return "tie"
    return "better" if c.better == row else "worse"


def significance_reachable(sizes: Sequence[int], level: float, test: str = "mannwhitney") -> bool:
    """Whether any Holm-corrected comparison among groups of these sizes can fall below `level`.

    Holm's smallest adjusted p is m * p_(1), so a family of m exact Mann-Whitney tests needs
    m * min_p < level for its most extreme pair. Welch's t has no such floor (returns True)."""
    usable = [n for n in sizes if n >= 2]
    m = len(usable) * (len(usable) - 1) // 2
    if m == 0:
        return False
    if test != "mannwhitney":
        return True
    floor = min(min_pvalue_mannwhitney(x, y) for i, x in enumerate(usable) for y in usable[i + 1:])
    return m * floor < level
