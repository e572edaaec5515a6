"""Statistics of one run's metric curve (its evaluations), under the report's rule for values that
are not finite: a NaN evaluation is left out (no value); +inf is kept as the worst value it is, so
a run whose last evaluation is infinite has an infinite final value and an infinite best-final gap
(it degraded completely), never "no degradation"."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class CurveStats:
    """Statistics of one metric's curve over a run's evaluations, in G steps (NaN where undefined)."""

    best: float
    best_step: float
    final: float  # the last non-NaN value (+inf when the run ended with an infinite value)
    final_step: float
    gap: float  # how much worse the final value is than the best (>= 0, in the metric's units; inf possible)
    auc: float  # trapezoidal area under value-vs-step (inf when a value is)
    auc_per_step: float  # auc / (last step - first step): the curve's average value
    steps_to_target: float  # first evaluated step at which the target was reached; +inf if never; NaN: no target


def series(df: pd.DataFrame | None, column: str, x: str = "step") -> tuple[np.ndarray, np.ndarray]:
    """(x, values) of the non-NaN values of `column` (infinite ones kept), sorted by `x`."""
    if df is None or df.empty or column not in df.columns or x not in df.columns:
        return np.empty(0), np.empty(0)
    xs = pd.to_numeric(df[x], errors="coerce").to_numpy(np.float64)
    values = pd.to_numeric(df[column], errors="coerce").to_numpy(np.float64)
    keep = np.isfinite(xs) & ~np.isnan(values)
    order = np.argsort(xs[keep], kind="stable")
    return xs[keep][order], values[keep][order]


def curve_stats(evaluations: pd.DataFrame | None, metric: str, higher_is_better: bool,
                target: float | None = None) -> CurveStats:
    steps, values = series(evaluations, metric)
    nan = math.nan
    if len(values) == 0:
        return CurveStats(nan, nan, nan, nan, nan, nan, nan, nan)
    i = int(np.argmax(values) if higher_is_better else np.argmin(values))
    best, final = float(values[i]), float(values[-1])
    with np.errstate(invalid="ignore"):
        gap = best - final if higher_is_better else final - best
    if math.isnan(gap):  # best and final the same infinity: no change
        gap = 0.0
    if len(values) >= 2:
        with np.errstate(invalid="ignore"):
            auc = float(np.sum((values[1:] + values[:-1]) / 2 * np.diff(steps)))
        span = float(steps[-1] - steps[0])
        auc_per_step = auc / span if span > 0 else nan
    else:
        auc, auc_per_step = nan, nan
    reached = nan
    if target is not None and math.isfinite(target):
        hit = values >= target if higher_is_better else values <= target
        reached = float(steps[int(np.argmax(hit))]) if hit.any() else math.inf
    return CurveStats(best, float(steps[i]), final, float(steps[-1]), float(gap), auc, auc_per_step, reached)
