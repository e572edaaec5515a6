"""The statistical tests of a check and their decisions: Welch's bounds and margins (the "mean"
statistic) with their simulated false-alarm rates, the rank statistic's Mann-Whitney rows
(Bonferroni over the check), the joint permutation test (Westfall-Young, harness.permutation), and
:func:`_decide_rows`, which decides every row of a check at once.

Tests set PERMUTATION_MAX_EXACT, PERMUTATION_RESAMPLES and PERMUTATION_SEED here (this module reads
them), not on the harness.check package, which only re-exports them."""
from __future__ import annotations

import functools
import math
from typing import Any, Sequence

import numpy as np

from .options import DEFAULT_ALPHA, DEFAULT_MARGIN_SDS, DEFAULT_STATISTIC, DEFAULT_TEST
from .result import (BETTER, DIVERGED_ROW, NA, NOT_EQUIVALENT, PASS, PENDING, PROBE_PREFIX, REGRESSION, Row,
                     _fmt_alpha)

#: the seed of the Monte-Carlo permutations (pairs with more than PERMUTATION_MAX_EXACT label
#: assignments; fewer are enumerated exactly), so that a check repeats bit for bit
PERMUTATION_SEED = 0
PERMUTATION_MAX_EXACT = 50_000
PERMUTATION_RESAMPLES = 20_000
#: absolute floor of the sd a margin is made from (a baseline whose seeds all agree)
SD_FLOOR = 1e-12
#: seeds per side the t test needs
MIN_SEEDS = 2


def welch_bounds(candidate: np.ndarray, baseline: np.ndarray, alpha: float = DEFAULT_ALPHA,
                 test: str = DEFAULT_TEST) -> tuple[Any, Any, Any]:
    """(Δ̂, low, high) of Δ = mean(candidate) - mean(baseline) from Welch's t (seeds on the last axis;
    vectorised over leading axes for simulation): non-inferiority the one-sided lower (1 - α)
    bound (high = +inf), equivalence the two-sided (1 - 2α) interval; both are Δ̂ -+ t_{1-α, df} se.
    With both variances 0 the difference is exact: low = high = Δ̂ (one-sided: high = +inf)."""
    from scipy import stats as sps

    from ..report.stats import welch_difference

    diff, se, df = welch_difference(candidate, baseline)
    diff, se, df = np.asarray(diff, np.float64), np.asarray(se, np.float64), np.asarray(df, np.float64)
    with np.errstate(invalid="ignore"):
        q = np.where(se > 0, sps.t.ppf(1 - alpha, np.where(se > 0, df, 1.0)), 0.0)
    low = diff - q * se
    high = diff + q * se if test == "equivalence" else np.full_like(diff, np.inf)
    if diff.ndim == 0:
        return float(diff), float(low), float(high)
    return diff, low, high


def margin_from_sd(seed_sd: Any, noise_sd: Any, margin_sds: float = DEFAULT_MARGIN_SDS) -> Any:
    """δ = margin_sds × max(seed sd, evaluation-noise sd, SD_FLOOR), NaN inputs ignored
    (vectorised)."""
    s = np.fmax(np.fmax(np.asarray(seed_sd, np.float64), np.asarray(noise_sd, np.float64)), SD_FLOOR)
    return margin_sds * s if s.ndim else float(margin_sds * s)


def t_decision(low: Any, high: Any, margin: Any, test: str = DEFAULT_TEST) -> Any:
    """The decision from Welch's bounds (vectorised): non-inferiority REGRESSION iff low <= -δ,
    better iff low > δ, else pass; equivalence pass iff -δ < low and high < δ."""
    low, high, margin = (np.asarray(x, np.float64) for x in (low, high, margin))
    if test == "equivalence":
        out = np.where((low > -margin) & (high < margin), PASS, NOT_EQUIVALENT)
    else:
        out = np.where(low > -margin, np.where(low > margin, BETTER, PASS), REGRESSION)
    return str(out) if out.ndim == 0 else out


def simulate_noninferiority(n_candidate: int, n_baseline: int, shift: float = 0.0, *,
                            margin_sds: float = DEFAULT_MARGIN_SDS, alpha: float = DEFAULT_ALPHA,
                            tries: int = 20000, seed: int = 0) -> float:
    """Share of `tries` simulated checks that call a REGRESSION with the default test, when the
    baseline's seeds are N(0, 1) and the candidate's N(-shift, 1) (shift > 0: truly worse by `shift`
    seed sds): the false-alarm rate at shift 0, the power otherwise. The margin comes from the
    baseline's own simulated seeds (its sd estimated from them), as in a real check; the bound and
    the decision are the functions a real check uses (:func:`welch_bounds`, :func:`margin_from_sd`,
    :func:`t_decision`)."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(tries, n_baseline))
    cand = rng.normal(size=(tries, n_candidate)) - shift
    _, low, high = welch_bounds(cand, base, alpha, DEFAULT_TEST)
    margin = margin_from_sd(base.std(axis=1, ddof=1), np.nan, margin_sds)
    return float(np.mean(t_decision(low, high, margin, DEFAULT_TEST) == REGRESSION))


@functools.lru_cache(maxsize=256)
def row_false_alarm(n_candidate: int, n_baseline: int, test: str = DEFAULT_TEST, margin_sds: float = DEFAULT_MARGIN_SDS,
                    alpha: float = DEFAULT_ALPHA, tries: int = 20000) -> float:
    """The share of one row's checks that fail when candidate and baseline seeds come from one
    normal distribution (the margin from the baseline's own seeds, as in a real check): the row's
    false-alarm rate under normal theory, for `test` "noninferiority" or "equivalence"
    (simulated with a fixed seed, so the same arguments give the same number)."""
    rng = np.random.default_rng(20240)
    base = rng.normal(size=(tries, n_baseline))
    cand = rng.normal(size=(tries, n_candidate))
    _, low, high = welch_bounds(cand, base, alpha, test)
    margin = margin_from_sd(base.std(axis=1, ddof=1), np.nan, margin_sds)
    decision = t_decision(low, high, margin, test)
    return float(np.mean((decision == REGRESSION) | (decision == NOT_EQUIVALENT)))


def family_false_alarm(rows: Sequence[Row], test: str, margin_sds: float, alpha: float) -> tuple[float, int]:
    """(the sum of the per-row false-alarm rates of the rows judged by a t test, their number): an
    upper bound, under normal theory, on the share of checks of a candidate that behaves exactly
    like the baseline that fail at least one of these rows (rows are correlated, so the true share
    is lower)."""
    total, n = 0.0, 0
    for r in rows:
        if not r.test.startswith(("Welch", "behaviour")) or r.decision == NA:
            continue
        row_test = "equivalence" if r.metric.startswith(PROBE_PREFIX) else test
        total += row_false_alarm(r.n_candidate, r.n_baseline, row_test, margin_sds, alpha)
        n += 1
    return min(total, 1.0), n


def _seeds_for_rank_test(n_c: int, n_b: int, alpha: float) -> tuple[int, int]:
    """(candidate seeds needed against n_b, baseline seeds needed against n_c) for the exact
    one-sided Mann-Whitney test to reach p < alpha at all: 1 / C(n_c + n_b, n_c) < alpha."""
    need_c = next(n for n in range(max(n_c, 1), 10_000) if 1 / math.comb(n + n_b, n) < alpha)
    need_b = next(n for n in range(max(n_b, 1), 10_000) if 1 / math.comb(n + n_c, n) < alpha)
    return need_c, need_b


class _Options:
    def __init__(self, test: str, alpha: float, margin_sds: float, margins: dict[str, float],
                 statistic: str = DEFAULT_STATISTIC):
        self.test, self.alpha, self.margin_sds, self.margins = test, alpha, margin_sds, margins
        self.statistic = statistic
        #: permutation statistic: (row label, metric) -> the row's oriented values, until the check
        #: decides all rows at once (:func:`_decide_permutation_rows`)
        self.permutation_inputs: dict[tuple[str, str], Any] = {}

    def pending_permutation_row(self, common: dict, c: np.ndarray, b: np.ndarray, sided: str, shift: float = 0.0,
                                detail: str = "") -> Row:
        """A row of the permutation statistic before its decision; `c` and `b` oriented (NaN: worst)."""
        from ..permutation import RowInput
        from ..report.stats import quantile

        cf, bf = c[~np.isnan(c)], b[~np.isnan(b)]
        with np.errstate(invalid="ignore"):
            med = quantile(cf, 0.5) - quantile(bf, 0.5) if len(cf) and len(bf) else math.nan
        what = "one-sided" if sided == "less" else "two-sided"
        row = Row(**{"n_candidate_finite": int(len(cf)), "n_baseline_finite": int(len(bf)), **common},
                  delta_hat=float(med), low=math.nan, high=math.nan, p=math.nan, decision=PENDING,
                  test=f"joint permutation, rank sum, {what}", detail=detail)
        self.permutation_inputs[(row.label, row.metric)] = RowInput(row.label, c, b, sided, shift)
        return row


def _rank_row(common: dict, c: np.ndarray, b: np.ndarray, margin: float, test: str, detail: str = "") -> Row:
    """A row of the rank statistic before its decision: the exact Mann-Whitney p of "candidate worse
    than the baseline by more than δ" (oriented values, candidate shifted by +δ; equivalence: the
    smaller of the two one-sided p's of a shift beyond ±δ, doubled). The decision comes once the
    check knows how many rows it judges (:func:`_decide_rank_rows`)."""
    from ..report.stats import mannwhitney, quantile

    with np.errstate(invalid="ignore"):
        med = quantile(c, 0.5) - quantile(b, 0.5)
    if math.isnan(med):  # inf - inf
        med = 0.0
    _, p_worse, method = mannwhitney(c + margin, b, "less")
    if test == "equivalence":
        _, p_better, _ = mannwhitney(c - margin, b, "greater")
        p = min(1.0, 2 * min(p_worse, p_better))
        what = f"exact Mann-Whitney, two one-sided ({method})"
    else:
        p = p_worse
        what = f"exact Mann-Whitney, one-sided ({method})"
    return Row(**common, delta_hat=float(med), low=math.nan, high=math.nan, p=float(p), decision=PENDING,
               test=what, detail=detail)


def _decide_rank_rows(rows: list[Row], alpha: float) -> tuple[list[Row], int]:
    """Decide the rank rows of a whole check at once: Bonferroni, each row at alpha / m with m the
    number of rank rows that can reach that level at all (a row whose smallest possible p is above
    it is "n/a", with the seeds it would need)."""
    from dataclasses import replace

    from ..report.stats import min_pvalue_mannwhitney

    pending = [r for r in rows if r.decision == PENDING]
    m = len(pending)
    out = []
    for r in rows:
        if r.decision != PENDING:
            out.append(r)
            continue
        two = r.metric.startswith(PROBE_PREFIX) or "two one-sided" in r.test
        level = alpha / max(m, 1)
        floor = min_pvalue_mannwhitney(r.n_candidate_finite, r.n_baseline_finite, "two-sided" if two else "less")
        if floor >= level:
            need = next(n for n in range(r.n_candidate_finite, 10_000)
                        if min_pvalue_mannwhitney(n, r.n_baseline_finite, "two-sided" if two else "less") < level)
            out.append(replace(r, decision=NA, seeds_needed=need, detail=(r.detail + "; " if r.detail else "") +
                               f"not judged: its smallest p with {r.n_candidate_finite} candidate and "
                               f"{r.n_baseline_finite} baseline seeds is {floor:.2g}, not < α/m = {level:.2g} "
                               f"(m = {m} rows); it needs {need} candidate seeds against these"))
            continue
        failed = r.p < level
        decision = (NOT_EQUIVALENT if two else REGRESSION) if failed else PASS
        out.append(replace(r, decision=decision, detail=(r.detail + "; " if r.detail else "") +
                           f"p = {r.p:.3g} vs α/m = {level:.2g}"))
    return out, m


def _decide_permutation_rows(rows: list[Row], opts: _Options) -> list[Row]:
    """Decide the permutation rows of a whole check at once: one joint permutation test over all
    of them (harness.permutation: labels permuted per matched pair, all its rows at once; pairs
    independent), Westfall-Young min-p step-down adjusted p <= alpha fails the row. A row that could
    not reach alpha with these seed counts even at its most extreme (its ``seeds_floor``) and did not
    fail is "n/a", with the candidate seeds that would judge it."""
    from dataclasses import replace

    from ..permutation import joint_permutation_test, seeds_needed

    pending = [r for r in rows if r.decision == PENDING]
    if not pending:
        return rows
    inputs = [opts.permutation_inputs[(r.label, r.metric)] for r in pending]
    results = dict(zip(((r.label, r.metric) for r in pending),
                       joint_permutation_test(inputs, max_exact=PERMUTATION_MAX_EXACT,
                                              n_resamples=PERMUTATION_RESAMPLES, seed=PERMUTATION_SEED)))
    m, a = len(pending), opts.alpha
    out = []
    for r in rows:
        if r.decision != PENDING:
            out.append(r)
            continue
        res, inp = results[(r.label, r.metric)], opts.permutation_inputs[(r.label, r.metric)]
        two = inp.sided == "two-sided"
        mc = f" ± {res.mc_error:.2g} (Monte Carlo)" if res.mc_error > 0 else ""
        where = (r.detail + "; " if r.detail else "")
        if res.p_adjusted <= a:
            decision = NOT_EQUIVALENT if two else REGRESSION
            text = f"p = {res.p:.3g}, adjusted {res.p_adjusted:.3g}{mc} ≤ α = {_fmt_alpha(a)} (min-p over {m} rows)"
            out.append(replace(r, decision=decision, p=res.p, p_adjusted=res.p_adjusted, detail=where + text))
        elif res.seeds_floor > a:
            n_c, n_b = len(inp.candidate), len(inp.baseline)
            need = seeds_needed(n_b, m, a, inp.sided)
            text = (f"not judged: at its most extreme this row's adjusted p would be {res.seeds_floor:.2g} > α = "
                    f"{_fmt_alpha(a)} with {n_c} candidate and {n_b} baseline seeds ({m} rows); {need.bonferroni} "
                    f"candidate seeds against these judge it whatever the rows' correlation (fewer than "
                    f"{need.minimum} never do)")
            out.append(replace(r, decision=NA, p=res.p, p_adjusted=res.p_adjusted, seeds_needed=need.bonferroni,
                               detail=where + text))
        else:
            text = f"p = {res.p:.3g}, adjusted {res.p_adjusted:.3g}{mc} > α = {_fmt_alpha(a)}"
            out.append(replace(r, decision=PASS, p=res.p, p_adjusted=res.p_adjusted, detail=where + text))
    return out


def _decide_rows(rows: list[Row], opts: _Options) -> list[Row]:
    """The decisions a check takes once it has every row (rank: Bonferroni; permutation: joint)."""
    if opts.statistic == "rank":
        return _decide_rank_rows(rows, opts.alpha)[0]
    if opts.statistic == "permutation":
        return _decide_permutation_rows(rows, opts)
    return rows


def _family_note(rows: Sequence[Row], opts: _Options) -> list[str]:
    if opts.statistic == "permutation":
        m = sum(r.test.startswith("joint permutation") for r in rows)
        if not m:
            return []
        return [f"false alarms: at most {_fmt_alpha(opts.alpha)} of checks of a candidate whose seeds are exchangeable "
                f"with the baseline's fail one of these {m} rows (one joint permutation test, Westfall-Young min-p "
                "step-down: exact family-wise control, no assumption on the distribution of seeds or on how the rows "
                "correlate); the exact part comes on top"]
    if opts.statistic == "rank":
        m = sum(r.test.startswith("exact Mann-Whitney") and r.decision != NA and r.metric != DIVERGED_ROW
                for r in rows)
        if not m:
            return []
        return [f"false alarms: at most {_fmt_alpha(opts.alpha)} of checks of a candidate whose seeds are exchangeable "
                f"with the baseline's fail one of these {m} rank-test rows (exact tests, each at α/{m}: Bonferroni; "
                "no assumption on the distribution of seeds); the diverged rows and the exact part come on top"]
    rate, n = family_false_alarm(rows, opts.test, opts.margin_sds, opts.alpha)
    if n == 0:
        return []
    what = "t-test rows"
    advice = "" if rate <= 0.05 else " (above 5 %: record the baseline with more seeds, e.g. 10, or check more candidate seeds)"
    return [f"false alarms: a candidate that behaves exactly like the baseline fails one of these {n} {what} in "
            f"at most {100 * rate:.1f} % of checks (normal theory, the sum of the rows' rates at these seed counts){advice}"]
