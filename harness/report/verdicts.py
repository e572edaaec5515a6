"""Stability verdict of one run, and statistics of its metric curves, from stored rows only.

A verdict names what went wrong, and every threshold is a multiple of the evaluation noise the
run measured (summary.json ``eval_noise``: the final generator scored on further independent latent
banks), so that a generator that does not move is not called oscillating because its metric
wobbles from one latent bank to the next. Which metric plays which part comes from the metric
registry's roles (``harness.metrics.METRICS``): the *main* metric (oscillation, convergence), the
*quality* metric (compared with the null reference rows) and the *collapse* metric (a count of
modes). No metric name is written here.

A run gets one label, the first of these that holds; every one that holds is kept in
``Verdict.flags``, and the checks that could not be judged in ``Verdict.unjudged``:

1. ``diverged``: status.json says so; step and reason from it.
2. ``collapsed``: (a) at the end the collapse metric is at most ``collapse_fraction`` x the data
   set's modes while the quality metric is better than the best null row by more than
   ``quality_margin`` x its noise sd (few modes, but real ones), or (b) an event: the collapse
   metric fell below its earlier peak by more than ``collapse_drop`` x its noise sd at a step, and
   stayed that low for the ``collapse_min_evals`` or more evaluations up to the end.
3. ``underfit``: the final quality metric is not better than the best null row by more than
   ``quality_margin`` x its noise sd: the samples are no better than a Gaussian fitted to the data.
4. ``mode-hopping``: between two late evaluations a mode is lost *and* another is gained (read
   from ``mode_counts``; a mode is covered when its count is > 0), each change significant under
   the counts' own sampling noise (count c against 0: p = 2 x 0.5^c, Bonferroni over the pairs and
   modes, at ``alpha``), while the number of covered modes stays within noise (no oscillation).
5. ``oscillating``: the main metric's variance over the late evaluations, about their
   least-squares line (a steady rise or fall is a trend, judged by ``not-converged``), exceeds its
   noise variance by an F test at level ``alpha`` (late values: n - 2 degrees of freedom, n - 1
   with fewer than 3; the noise sd: n_banks - 1). After a collapse event the late window starts at it: a level shift is not an
   oscillation (nor a hop, nor a trend).
6. ``vanishing-G-gradient``: relative to the run's own scale (the size of losses and gradients
   depends on the loss and the constraint, e.g. a weight-clipped critic's, not on failure):
   ``grad_norm_g`` < ``vanish_grad_ratio`` x its early level (the median over the first
   ``vanish_early_fraction`` of the history rows) on every row of a trailing run that covers at
   least ``vanish_tail_fraction`` of the rows (after the early ones). Not when the run's outcome
   says G still learned: the final quality metric is better than the best null row by more than
   ``quality_margin`` x its noise sd (not underfit) *and* the main metric reached its target (all
   of the data set's modes; a metric without a target: the quality condition alone) -- a gradient
   may shrink at a good equilibrium. When the gradient fell but the quality cannot be judged, the
   check is not judged.
7. ``not-converged``: the main metric still improves over the late evaluations: the slope of a
   linear fit is positive (in the metric's good direction) by a one-sided t test against the noise
   sd at level ``alpha``, and the metric has not reached its target.
8. ``stable``: none of the above, and every check could be judged.
9. ``not-judged``: none of the above, but some check could not be judged: too few late
   evaluations (fewer than ``min_late_evals``), no eval_noise, no null level, no history.

The noise sd of the collapse metric (a count of modes) is never taken below what the mode counts
themselves imply: a mode seen lambda times per evaluation on average (over all evaluations) is
missed by a fresh bank with probability q = exp(-lambda), so the count has variance sum q (1 - q)
over the modes; five banks that happen to agree (sd 0) do not prove that the count never moves.
Without mode counts the floor is ``count_noise_floor`` modes.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from itertools import combinations
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy import stats as sps

from ..errors import HarnessError
from ..metrics import METRICS

LABELS = ("diverged", "collapsed", "underfit", "mode-hopping", "oscillating", "vanishing-G-gradient",
          "not-converged", "stable", "not-judged")
CHECKS = LABELS[:7]  # the conditions; "stable" and "not-judged" are what is left
DEFAULT_NOISE_BANKS = 5  # eval_noise "n_banks" when the caller passes only metric -> sd


@dataclass(frozen=True)
class Thresholds:
    """Verdict thresholds; every default is documented in docs/REPORTS.md."""

    late_fraction: float = 0.5  # "late": evaluations at step >= (1 - this) x the last evaluated step
    min_late_evals: int = 3  # fewer late evaluations: oscillation, hopping, convergence not judged
    alpha: float = 0.01  # level of each test (oscillation F, convergence t, mode-hopping counts)
    collapse_fraction: float = 0.5  # collapsed (state): final modes <= this fraction of the modes ...
    quality_margin: float = 3.0  # ... with quality better than null by > this x its noise sd (else underfit)
    collapse_drop: float = 5.0  # collapsed (event): a drop of > this x the noise sd below the peak ...
    collapse_min_evals: int = 2  # ... that holds for at least this many evaluations, up to the end
    count_noise_floor: float = 0.5  # noise sd of a mode count without mode_counts: at least this
    vanish_grad_ratio: float = 1e-2  # G's gradient norm below this x its early level (a 100-fold fall) ...
    vanish_early_fraction: float = 0.15  # ... the early level: its median over this first fraction of the rows ...
    vanish_tail_fraction: float = 0.2  # ... over at least this fraction of the history rows, at the end

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
                raise HarnessError(f"threshold {f.name}={v!r}: must be a finite number >= 0")
        if not 0 < self.late_fraction <= 1 or not 0 < self.vanish_tail_fraction <= 1:
            raise HarnessError("late_fraction and vanish_tail_fraction must be in (0, 1]")
        if not 0 < self.vanish_grad_ratio < 1:
            raise HarnessError(f"threshold vanish_grad_ratio={self.vanish_grad_ratio!r}: must be in (0, 1)")
        if not 0 < self.vanish_early_fraction or self.vanish_early_fraction + self.vanish_tail_fraction > 1:
            raise HarnessError(f"threshold vanish_early_fraction={self.vanish_early_fraction!r}: must be > 0 and "
                               f"leave room for vanish_tail_fraction={self.vanish_tail_fraction!r} (sum <= 1)")
        if not 0 < self.alpha < 1:
            raise HarnessError(f"threshold alpha={self.alpha!r}: must be in (0, 1)")
        if self.collapse_fraction > 1:
            raise HarnessError(f"threshold collapse_fraction={self.collapse_fraction!r}: must be in [0, 1]")
        for name, low in (("min_late_evals", 2), ("collapse_min_evals", 1)):
            v = getattr(self, name)
            if v != int(v) or v < low:
                raise HarnessError(f"threshold {name}={v!r}: must be a whole number >= {low}")

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class Verdict:
    label: str
    step: int | None  # where the condition started (divergence step, collapse step, ...); None: a state
    reason: str
    flags: tuple[str, ...] = ()  # every condition that holds, in LABELS order
    unjudged: tuple[str, ...] = ()  # checks that could not be judged (missing noise, nulls, evaluations)


@dataclass(frozen=True)
class Check:
    """The outcome of one check: ``state`` is "hit", "clear", "not-judged" or "n/a" (the data set
    has nothing for it, e.g. no mode counts for images)."""

    state: str
    step: int | None = None
    reason: str = ""


CLEAR = Check("clear")
NOT_APPLICABLE = Check("n/a")


def _not_judged(why: str) -> Check:
    return Check("not-judged", None, why)


# ----------------------------------------------------------------------------- reading the rows
def _series(df: pd.DataFrame | None, column: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of the finite values of `column`, sorted by step."""
    if df is None or df.empty or column not in df.columns or "step" not in df.columns:
        return np.empty(0), np.empty(0)
    steps = pd.to_numeric(df["step"], errors="coerce").to_numpy(np.float64)
    values = pd.to_numeric(df[column], errors="coerce").to_numpy(np.float64)
    keep = np.isfinite(steps) & np.isfinite(values)
    order = np.argsort(steps[keep], kind="stable")
    return steps[keep][order], values[keep][order]


def _counts_series(df: pd.DataFrame | None) -> tuple[np.ndarray, list[np.ndarray]]:
    """(steps, mode count arrays) of the evaluations that carry valid "mode_counts", by step."""
    if df is None or df.empty or "mode_counts" not in df.columns or "step" not in df.columns:
        return np.empty(0), []
    rows = []
    for step, counts in zip(pd.to_numeric(df["step"], errors="coerce"), df["mode_counts"]):
        if not isinstance(counts, (list, tuple, np.ndarray)) or not math.isfinite(step):
            continue
        arr = np.asarray(counts, dtype=np.float64)
        if arr.ndim == 1 and len(arr) and np.isfinite(arr).all() and (arr >= 0).all():
            rows.append((float(step), arr))
    rows.sort(key=lambda r: r[0])
    if rows and len({len(a) for _, a in rows}) > 1:
        return np.empty(0), []  # inconsistent lengths: not mode counts we can compare
    return np.array([s for s, _ in rows]), [a for _, a in rows]


def _trailing_run(mask: np.ndarray) -> int:
    """Length of the run of True values at the end of `mask`."""
    n = 0
    for v in mask[::-1]:
        if not v:
            break
        n += 1
    return n


def metric_roles(evaluations: pd.DataFrame | None) -> dict[str, str | None]:
    """Which evaluated metric is the run's main, quality and collapse metric, from the registry's
    roles: the first registered metric with that role that the evaluations report. The main metric
    falls back to the quality metric for data sets without a mode count (e.g. FID on CIFAR-10)."""
    cols = set() if evaluations is None or evaluations.empty else set(evaluations.columns)
    present = [m for m in METRICS.registration_order() if m in cols and len(_series(evaluations, m)[1])]

    def first(role: str) -> str | None:
        return next((m for m in present if getattr(METRICS.get(m), role)), None)

    quality = first("quality")
    return {"main": first("main") or quality, "quality": quality, "collapse": first("collapse")}


def _better(metric: str, value: float, than: float) -> float:
    """How much better `value` is than `than` in the metric's good direction."""
    return value - than if METRICS.get(metric).higher_is_better else than - value


class _Noise:
    """The run's evaluation noise: sd per metric and the number of banks it was measured on."""

    def __init__(self, eval_noise: Mapping[str, Any] | None):
        self.sd: dict[str, float] = {}
        self.n_banks = DEFAULT_NOISE_BANKS
        if not isinstance(eval_noise, Mapping):
            return
        sd = eval_noise
        if isinstance(eval_noise.get("sd"), Mapping):  # summary.json's {"n_banks", "sd", "mean"}
            sd = eval_noise["sd"]
            n = eval_noise.get("n_banks", DEFAULT_NOISE_BANKS)
            if not isinstance(n, (int, float)) or isinstance(n, bool) or not n >= 2:
                return  # fewer than 2 banks give no sd: as if there were no noise estimate
            self.n_banks = int(n)
        for k, v in sd.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0:
                self.sd[str(k)] = float(v)

    @property
    def df(self) -> int:
        return self.n_banks - 1


def count_noise_sd(measured: float, counts: list[np.ndarray], floor: float) -> float:
    """Noise sd of a number of covered modes: the measured sd, but at least what the mode counts
    imply, or at least `floor` modes when there are no counts.

    A mode seen lambda times in a bank is missed by a fresh bank with probability q = exp(-lambda),
    so the number of covered modes has variance sum q (1 - q) over the modes. Two estimates of it,
    the larger taken: lambda = the mode's mean count over the evaluations (a rare mode that a few
    evaluations catch), and the mean over evaluations of the variance at each evaluation's own
    counts (a stray sample on a mode that other evaluations cover heavily)."""
    if not counts:
        return max(measured, floor)
    c = np.stack(counts)
    q_mean = np.exp(-c.mean(axis=0))
    q_each = np.where(c > 0, np.exp(-c), 0.0)  # a mode at 0 in an evaluation: no evidence it is there
    var = max(float(np.sum(q_mean * (1 - q_mean))), float(np.sum(q_each * (1 - q_each), axis=1).mean()))
    return max(measured, math.sqrt(var) if var > 1e-12 else 0.0)  # exp(-300): a mode never missed


# ----------------------------------------------------------------------------- the checks
class _Run:
    """What every check reads, computed once."""

    def __init__(self, evaluations: pd.DataFrame | None, n_modes: int | None, noise: _Noise,
                 null_levels: Mapping[str, float] | None, th: Thresholds):
        self.ev = evaluations
        self.n_modes = n_modes
        self.noise = noise
        self.null = dict(null_levels) if isinstance(null_levels, Mapping) else None
        self.th = th
        self.roles = metric_roles(evaluations)
        steps = np.empty(0)
        if evaluations is not None and not evaluations.empty and "step" in evaluations.columns:
            steps = pd.to_numeric(evaluations["step"], errors="coerce").to_numpy(np.float64)
            steps = steps[np.isfinite(steps)]
        self.last_step = float(steps.max()) if len(steps) else None
        self.late_from = None if self.last_step is None else (1 - th.late_fraction) * self.last_step
        self.count_steps, self.counts = _counts_series(evaluations)

    def late(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        steps, values = _series(self.ev, metric)
        keep = steps >= self.late_from if self.late_from is not None else np.zeros(len(steps), bool)
        return steps[keep], values[keep]

    def late_counts(self) -> tuple[np.ndarray, list[np.ndarray]]:
        if self.late_from is None:
            return np.empty(0), []
        keep = [i for i, s in enumerate(self.count_steps) if s >= self.late_from]
        return self.count_steps[keep], [self.counts[i] for i in keep]

    def sd(self, metric: str) -> float | None:
        """The metric's noise sd (floored for the collapse metric, and for any metric that moves in
        steps at resolution / sqrt(12), the sd of rounding to its step: banks that happen to agree on
        a count do not prove it never moves), None when not measured."""
        if metric not in self.noise.sd:
            return None
        sd = self.noise.sd[metric]
        if metric == self.roles["collapse"]:  # all evaluations: a rare mode seen once counts anywhere
            sd = count_noise_sd(sd, self.counts, self.th.count_noise_floor)
        resolution = METRICS.get(metric).resolution if metric in METRICS.names() else 0.0
        return max(sd, resolution / math.sqrt(12))

    def too_few_late(self, n: int) -> Check | None:
        if n < self.th.min_late_evals:
            return _not_judged(f"{n} late evaluation(s), need {self.th.min_late_evals}")
        return None


def _span(steps: np.ndarray) -> str:
    return f"steps {int(steps[0])}-{int(steps[-1])}"


def _detrended_variance(steps: np.ndarray, values: np.ndarray) -> tuple[float, int]:
    """The variance of `values` about their least-squares line over `steps` and its degrees of
    freedom (n - 2), so that a steady rise or fall (not-converged) is not read as an oscillation;
    with fewer than 3 values, the plain variance (n - 1)."""
    values = np.asarray(values, np.float64)
    if len(values) < 3:
        return float(np.var(values, ddof=1)), len(values) - 1
    x = np.asarray(steps, np.float64)
    slope, intercept = np.polyfit(x, values, 1)
    resid = values - (slope * x + intercept)
    var = float(resid @ resid) / (len(values) - 2)
    return (0.0 if var < 1e-12 * max(1.0, float(values @ values)) else var), len(values) - 2


def check_oscillating(run: _Run, metric: str | None = None) -> Check:
    """The late variance of `metric` (default: the main metric) against its noise variance (F test)."""
    metric = metric or run.roles["main"]
    if metric is None:
        return NOT_APPLICABLE if run.last_step is not None else _not_judged("no evaluations")
    steps, values = run.late(metric)
    if (few := run.too_few_late(len(values))) is not None:
        return few
    sd = run.sd(metric)
    if sd is None:
        return _not_judged(f"no eval_noise sd for {metric}")
    var, df = _detrended_variance(steps, values)
    if var == 0:
        return CLEAR
    p = 0.0 if sd == 0 else float(sps.f.sf(var / sd ** 2, df, run.noise.df))
    if p >= run.th.alpha:
        return CLEAR
    beyond = (f"{math.sqrt(var) / sd:.3g} x its evaluation noise sd {sd:.3g} (F test p = {p:.2g} < "
              f"{run.th.alpha:g})" if sd > 0 else "while its evaluation noise sd is 0")
    return Check("hit", int(steps[0]), f"{metric} varies with sd {math.sqrt(var):.3g} over {_span(steps)} "
                                       f"({len(values)} evaluations), {beyond}")


def check_not_converged(run: _Run) -> Check:
    """A positive late trend of the main metric, beyond noise, short of its target."""
    metric = run.roles["main"]
    if metric is None:
        return NOT_APPLICABLE if run.last_step is not None else _not_judged("no evaluations")
    steps, values = run.late(metric)
    if (few := run.too_few_late(len(values))) is not None:
        return few
    info = METRICS.get(metric)
    if info.target == "n_modes" and run.n_modes and _better(metric, values[-1], run.n_modes) >= 0:
        return CLEAR  # at its target: nothing left to improve
    sd = run.sd(metric)
    if sd is None:
        return _not_judged(f"no eval_noise sd for {metric}")
    x = steps - steps.mean()
    sxx = float(x @ x)
    if sxx == 0:
        return CLEAR
    slope = float(x @ (values - values.mean())) / sxx
    gain = slope if info.higher_is_better else -slope
    if gain <= 0:
        return CLEAR
    se = sd / math.sqrt(sxx)
    p = 0.0 if se == 0 else float(sps.t.sf(gain / se, run.noise.df))
    if p >= run.th.alpha:
        return CLEAR
    total = slope * float(steps[-1] - steps[0])
    return Check("hit", int(steps[0]), f"{metric} still improving over {_span(steps)}: {total:+.3g} by a linear "
                                       f"fit, beyond its evaluation noise sd {sd:.3g} (one-sided t test p = "
                                       f"{p:.2g} < {run.th.alpha:g})")


def check_collapsed(run: _Run) -> Check:
    """Few modes of real quality at the end (a state), or a persisting drop beyond noise (an event)."""
    metric = run.roles["collapse"]
    if metric is None:
        return NOT_APPLICABLE if run.last_step is not None else _not_judged("no evaluations")
    th = run.th
    steps, values = _series(run.ev, metric)
    sd = run.sd(metric)
    # (b) the event: the earliest step from which the metric stays more than collapse_drop x sd
    # below its peak so far, for at least collapse_min_evals evaluations up to the end
    event: Check
    if sd is None:
        event = _not_judged(f"no eval_noise sd for {metric}")
    elif len(values) < 1 + th.collapse_min_evals:
        event = _not_judged(f"{len(values)} evaluation(s) of {metric}, need {1 + th.collapse_min_evals}")
    else:
        event = CLEAR
        for i in range(1, len(values) - int(th.collapse_min_evals) + 1):
            peak_i = int(np.argmax(values[:i]))
            drop = float(values[peak_i] - values[i:].max())
            if not (drop > 0 and drop > th.collapse_drop * sd):
                continue
            lost = _lost_modes(run, float(steps[i]))
            if lost is not None and not lost:
                continue  # the count fell, but no mode that was clearly held is gone for good
            named = f"; lost for good: mode(s) {lost}" if lost else ""
            event = Check("hit", int(steps[i]), (
                f"{metric} fell from {values[peak_i]:g} (step {int(steps[peak_i])}) to {values[i]:g} at step "
                f"{int(steps[i])} and stayed at or below {values[i:].max():g} to the end (final {values[-1]:g}): "
                f"a drop of {drop:g} > {th.collapse_drop:g} x its evaluation noise sd {sd:.3g}{named}"))
            break
    # (a) the state: few modes at the end, but of real quality
    state: Check
    if not len(values):
        state = _not_judged(f"no {metric} values")
    elif not run.n_modes:
        state = _not_judged("the data set's number of modes is unknown")
    elif values[-1] > th.collapse_fraction * run.n_modes:
        state = CLEAR
    else:
        q = _quality_margin(run)
        if isinstance(q, Check):
            state = q
        else:
            metric_q, value, null, sd_q = q
            if _better(metric_q, value, null) > th.quality_margin * sd_q:
                state = Check("hit", None, (
                    f"{metric} {values[-1]:g} of {run.n_modes} at the end (<= {th.collapse_fraction:g} x "
                    f"{run.n_modes}) while {metric_q} {value:.3g} is better than the best null reference "
                    f"({null:.3g}) by more than {th.quality_margin:g} x its noise sd {sd_q:.3g}"))
            else:
                state = CLEAR  # few modes, but no quality either: that is underfit, not collapse
    for c in (event, state):
        if c.state == "hit":
            return c
    for c in (event, state):
        if c.state == "not-judged":
            return c
    return CLEAR


def _count_need(level: float) -> int:
    """The smallest count c that differs from 0 at `level`: given their sum c, each of the c samples
    falls in either of two evaluations with probability 1/2 when the mode's rate did not change,
    so c against 0 has the two-sided p = 2 x 0.5^c."""
    return int(math.floor(math.log2(2 / level))) + 1


def _lost_modes(run: _Run, step: float) -> str | None:
    """The modes held with a significant count before `step` and at 0 in every evaluation from
    `step` to the end, as text ("3 (312 at step 500), ..."); "" when none; None without counts."""
    before = [c for s, c in zip(run.count_steps, run.counts) if s < step]
    after = [c for s, c in zip(run.count_steps, run.counts) if s >= step]
    if not before or not after:
        return None
    need = _count_need(run.th.alpha / len(before[0]))  # Bonferroni over the modes
    held = np.max(np.stack(before), axis=0)
    gone = np.all(np.stack(after) == 0, axis=0)
    lost = [j for j in range(len(held)) if gone[j] and held[j] >= need]
    return ", ".join(f"{j} (count up to {held[j]:g})" for j in lost[:6]) + \
        (f" and {len(lost) - 6} more" if len(lost) > 6 else "")


def _quality_margin(run: _Run) -> tuple[str, float, float, float] | Check:
    """(quality metric, its final value, the best null level, its noise sd), or why not judged."""
    metric = run.roles["quality"]
    if metric is None:
        return NOT_APPLICABLE if run.last_step is not None else _not_judged("no evaluations")
    _, values = _series(run.ev, metric)
    if run.null is None or not isinstance(run.null.get(metric), (int, float)) or \
            not math.isfinite(run.null[metric]):
        return _not_judged(f"no null level for {metric}")
    sd = run.sd(metric)
    if sd is None:
        return _not_judged(f"no eval_noise sd for {metric}")
    return metric, float(values[-1]), float(run.null[metric]), sd


def check_underfit(run: _Run) -> Check:
    """The final quality metric at null level (within quality_margin x its noise sd)."""
    q = _quality_margin(run)
    if isinstance(q, Check):
        return q
    metric, value, null, sd = q
    if _better(metric, value, null) > run.th.quality_margin * sd:
        return CLEAR
    return Check("hit", None, f"{metric} {value:.3g} at the end is not better than the best null reference "
                              f"({null:.3g}: a Gaussian fitted to the data or uniform noise) by more than "
                              f"{run.th.quality_margin:g} x its evaluation noise sd {sd:.3g}")


def check_mode_hopping(run: _Run) -> Check:
    """Late evaluations that lose one mode and gain another, both beyond the counts' sampling noise."""
    if not len(run.count_steps):
        return NOT_APPLICABLE if run.last_step is not None else _not_judged("no evaluations")
    steps, counts = run.late_counts()
    if (few := run.too_few_late(len(counts))) is not None:
        return few
    pairs = list(combinations(range(len(counts)), 2))
    level = run.th.alpha / (len(pairs) * len(counts[0]))  # Bonferroni over pairs x modes
    need = _count_need(level)
    for a, b in pairs:
        ca, cb = counts[a], counts[b]
        lost = [j for j in range(len(ca)) if cb[j] == 0 and ca[j] >= need]
        gained = [j for j in range(len(ca)) if ca[j] == 0 and cb[j] >= need]
        if not (lost and gained):
            continue
        size = check_oscillating(run, run.roles["collapse"]) if run.roles["collapse"] else CLEAR
        if size.state == "not-judged":
            return _not_judged(f"the covered set changes, but its size cannot be judged ({size.reason})")
        if size.state == "hit":
            return CLEAR  # the number of modes swings too: that is oscillation
        sa, sb = int(steps[a]), int(steps[b])

        def show(js: list[int], before: np.ndarray, after: np.ndarray) -> str:
            text = ", ".join(f"{j} ({before[j]:g} -> {after[j]:g})" for j in js[:4])
            return text + (f" and {len(js) - 4} more" if len(js) > 4 else "")

        return Check("hit", sb, f"the set of covered modes changes between steps {sa} and {sb} while its size "
                                f"stays within noise ({int((ca > 0).sum())} -> {int((cb > 0).sum())}): lost "
                                f"mode(s) {show(lost, ca, cb)}, gained {show(gained, ca, cb)} (each p < "
                                f"{level:.2g}, counts of {need} or more against 0)")
    return CLEAR


def _fmt_step(steps: np.ndarray, i: int, j: int) -> str:
    return f"step {int(steps[i])}" if i == j else f"steps {int(steps[i])}-{int(steps[j])}"


def _learned(run: _Run) -> tuple[bool, str] | Check:
    """Whether the run's outcome shows that G learned: its final quality metric is better than the
    best null row by more than quality_margin x its noise sd, and its main metric reached its target
    (where it has one); without either to compare, it does not. (answer, what was compared), or why
    it cannot be judged."""
    evidence: list[bool] = []
    texts: list[str] = []
    q = _quality_margin(run)
    if isinstance(q, Check):
        if q.state == "not-judged":
            return q
        texts.append("no quality metric to compare with the null rows")
    else:
        metric_q, value, null, sd_q = q
        evidence.append(_better(metric_q, value, null) > run.th.quality_margin * sd_q)
        texts.append(f"{metric_q} {value:.3g} at the end is {'' if evidence[-1] else 'not '}better than the best "
                     f"null reference ({null:.3g}) by more than {run.th.quality_margin:g} x its noise sd {sd_q:.3g}")
    main = run.roles["main"]
    if main is not None and METRICS.get(main).target == "n_modes":
        if not run.n_modes:
            return _not_judged("the data set's number of modes is unknown")
        final = float(_series(run.ev, main)[1][-1])
        evidence.append(_better(main, final, run.n_modes) >= 0)
        texts.append(f"{main} {final:g} at the end {'reached' if evidence[-1] else 'is short of'} its target "
                     f"{run.n_modes}")
    return bool(evidence) and all(evidence), "; ".join(texts)


def check_vanishing_g_gradient(run: _Run, history: pd.DataFrame | None) -> Check:
    """G's gradient norm fallen, for a trailing run of history rows, below vanish_grad_ratio x its
    own early level (scale-free), in a run whose outcome does not show that G learned."""
    th = run.th
    steps, g = _series(history, "grad_norm_g")
    if not len(g):
        return _not_judged("no history with grad_norm_g")
    n = len(g)
    n_early = max(1, math.ceil(th.vanish_early_fraction * n))
    need = max(1, math.ceil(th.vanish_tail_fraction * n))
    if n_early + need > n:
        return _not_judged(f"{n} history row(s) with grad_norm_g, need {n_early + need}")
    level = float(np.median(g[:n_early]))
    if level <= 0:
        return _not_judged(f"grad_norm_g is 0 over its first {n_early} history row(s): no early level")
    cond = g < th.vanish_grad_ratio * level
    cond[:n_early] = False  # the trailing run starts after the rows that set the level
    tail = _trailing_run(cond)
    if tail < need:
        return CLEAR
    first = n - tail
    fell = (f"grad_norm_g fell below {th.vanish_grad_ratio:g} x its early level {level:.3g} (median over "
            f"{_fmt_step(steps, 0, n_early - 1)}, the first {n_early} of {n} history rows) on every row of "
            f"{_fmt_step(steps, first, n - 1)} ({tail} rows >= {th.vanish_tail_fraction:g} x {n}; median there "
            f"{float(np.median(g[first:])):.3g}, {float(np.median(g[first:])) / level:.2g} x the early level)")
    learned = _learned(run)
    if isinstance(learned, Check):
        return _not_judged(f"{fell}, but whether G still learned cannot be judged ({learned.reason})")
    ok, compared = learned
    if ok:  # a gradient that shrinks at a good equilibrium is no failure
        return Check("clear", int(steps[first]), f"{fell}, but {compared}: not a vanishing gradient")
    return Check("hit", int(steps[first]), f"{fell}, and the outcome does not show that G learned: {compared}")


def verdict(status: Mapping[str, Any] | None, history: pd.DataFrame | None, evaluations: pd.DataFrame | None,
            *, n_modes: int | None = None, eval_noise: Mapping[str, Any] | None = None,
            null_levels: Mapping[str, float] | None = None, thresholds: Thresholds | None = None) -> Verdict:
    """The stability verdict of one run (see the module docstring for the definitions).

    - `evaluations`: evaluations.jsonl rows (step, metrics, optional "mode_counts");
    - `n_modes`: the data set's number of modes (manifest.json dataset.n_modes), if it has modes;
    - `eval_noise`: summary.json's "eval_noise" object ({"n_banks", "sd": {metric: sd}, ...}) or a
      plain mapping metric -> sd (then measured on DEFAULT_NOISE_BANKS banks); None: the checks
      that need it are not judged;
    - `null_levels`: metric -> the best value among the data set's null reference rows
      (null-gaussian, null-uniform; not "real"), same evaluator protocol;
    - `thresholds`: a Thresholds (defaults documented there and in docs/REPORTS.md).
    """
    th = thresholds or Thresholds()
    status = status or {}
    run = _Run(evaluations, n_modes, _Noise(eval_noise), null_levels, th)
    checks: dict[str, Check] = {}
    if status.get("status") == "diverged":
        step = status.get("step")
        checks["diverged"] = Check("hit", int(step) if step is not None else None,
                                   str(status.get("reason") or "diverged"))
    else:
        checks["diverged"] = CLEAR
    checks["collapsed"] = check_collapsed(run)
    if checks["collapsed"].state == "hit" and checks["collapsed"].step is not None and run.late_from is not None:
        # a level shift is not an oscillation, hop or trend: judge those after it only
        run.late_from = max(run.late_from, float(checks["collapsed"].step))
    checks["underfit"] = check_underfit(run)
    checks["mode-hopping"] = check_mode_hopping(run)
    checks["oscillating"] = check_oscillating(run)
    checks["vanishing-G-gradient"] = check_vanishing_g_gradient(run, history)
    checks["not-converged"] = check_not_converged(run)
    flags = tuple(label for label in CHECKS if checks[label].state == "hit")
    unjudged = tuple(label for label in CHECKS if checks[label].state == "not-judged")
    if flags:
        first = checks[flags[0]]
        return Verdict(flags[0], first.step, first.reason, flags, unjudged)
    if unjudged:
        reasons: dict[str, list[str]] = {}
        for label in unjudged:
            reasons.setdefault(checks[label].reason, []).append(label)
        why = "; ".join(f"{r} ({', '.join(labels)})" for r, labels in reasons.items())
        return Verdict("not-judged", None, f"cannot judge: {why}", (), unjudged)
    steps, _ = _series(evaluations, run.roles["main"]) if run.roles["main"] else (np.empty(0), None)
    late, _ = run.late(run.roles["main"]) if run.roles["main"] else (np.empty(0), None)
    return Verdict("stable", None, f"no failure over {len(steps)} evaluations ({len(late)} late, "
                                   f"{_span(late) if len(late) else 'none'}) against evaluation noise from "
                                   f"{run.noise.n_banks} banks", (), ())
