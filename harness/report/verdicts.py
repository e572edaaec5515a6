"""Stability verdict of one run, and statistics of its metric curves, from stored rows only.

A run gets one label, the first of these that holds (every condition that holds is kept in
``Verdict.flags``):

1. ``diverged``: the trainer stopped it (status ``diverged``: NaN/Inf or an exploding loss or
   gradient); step and reason come from status.json.
2. ``collapsed``: ``modes_covered`` fell to at most ``collapse_fraction`` x the data set's modes and
   stayed there: the trailing run of evaluations at or below that level reaches the last
   evaluation and holds at least ``collapse_min_evals`` evaluations (or all of them, if the run has
   fewer).
3. ``oscillating``: over the late evaluations (step >= (1 - ``late_fraction``) x the last evaluated
   step, at least ``oscillation_min_evals`` of them) the population standard deviation of the main
   metric, divided by its scale, exceeds ``oscillation_threshold``. The scale is the number of
   modes for ``modes_covered``; for any other metric, the larger of the late median's magnitude and
   the metric's range over the whole run.
4. ``vanishing-G-gradient``: over the trailing logged steps, ``grad_norm_g`` < ``vanish_grad_g`` and
   ``|loss_d|`` < ``vanish_loss_d`` on every row of a trailing run covering at least
   ``vanish_tail_fraction`` of the history rows (at least one row).
5. ``stable``: none of the above, with at least one of history or evaluations to judge from;
   ``unknown`` when a finished run has neither.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import HarnessError

LABELS = ("diverged", "collapsed", "oscillating", "vanishing-G-gradient", "stable", "unknown")


@dataclass(frozen=True)
class Thresholds:
    """Verdict thresholds; every default is documented in docs/REPORTS.md."""

    collapse_fraction: float = 0.5  # collapsed: modes covered <= this fraction of the modes ...
    collapse_min_evals: int = 2  # ... for at least this many trailing evaluations
    late_fraction: float = 0.5  # "late training": the last half of the evaluated steps
    oscillation_threshold: float = 0.1  # std / scale of the main metric over late training
    oscillation_min_evals: int = 3  # fewer late evaluations: oscillation is not judged
    vanish_grad_g: float = 1e-3  # G's total gradient norm below this ...
    vanish_loss_d: float = 1e-2  # ... while |D's loss| is below this ...
    vanish_tail_fraction: float = 0.2  # ... over at least this fraction of the history rows, at the end

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
                raise HarnessError(f"threshold {f.name}={v!r}: must be a finite number >= 0")
        if not 0 < self.late_fraction <= 1 or not 0 < self.vanish_tail_fraction <= 1:
            raise HarnessError("late_fraction and vanish_tail_fraction must be in (0, 1]")

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class Verdict:
    label: str
    step: int | None  # where the condition started (divergence step, first collapsed evaluation, ...)
    reason: str
    flags: tuple[str, ...] = ()  # every condition that holds, in LABELS order


def _series(df: pd.DataFrame | None, column: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of the finite values of `column`, sorted by step."""
    if df is None or df.empty or column not in df.columns or "step" not in df.columns:
        return np.empty(0), np.empty(0)
    steps = pd.to_numeric(df["step"], errors="coerce").to_numpy(np.float64)
    values = pd.to_numeric(df[column], errors="coerce").to_numpy(np.float64)
    keep = np.isfinite(steps) & np.isfinite(values)
    order = np.argsort(steps[keep], kind="stable")
    return steps[keep][order], values[keep][order]


def _trailing_run(mask: np.ndarray) -> int:
    """Length of the run of True values at the end of `mask`."""
    n = 0
    for v in mask[::-1]:
        if not v:
            break
        n += 1
    return n


def check_collapsed(evaluations: pd.DataFrame | None, n_modes: int | None,
                    th: Thresholds = Thresholds()) -> tuple[bool, int | None, str]:
    steps, modes = _series(evaluations, "modes_covered")
    if not n_modes or len(modes) == 0:
        return False, None, ""
    limit = th.collapse_fraction * n_modes
    run = _trailing_run(modes <= limit)
    if run == 0 or run < min(th.collapse_min_evals, len(modes)):
        return False, None, ""
    start = len(modes) - run
    if start == 0:
        return True, int(steps[0]), (f"modes covered <= {limit:g} of {n_modes} at every evaluation "
                                     f"(final {modes[-1]:g})")
    return True, int(steps[start]), (f"modes covered <= {limit:g} of {n_modes} from step {int(steps[start])} "
                                      f"to the end (final {modes[-1]:g})")


def check_oscillating(evaluations: pd.DataFrame | None, metric: str | None, n_modes: int | None,
                      th: Thresholds = Thresholds()) -> tuple[bool, int | None, str]:
    if not metric:
        return False, None, ""
    steps, values = _series(evaluations, metric)
    if len(values) == 0:
        return False, None, ""
    late = steps >= (1 - th.late_fraction) * steps[-1]
    if late.sum() < max(th.oscillation_min_evals, 2):
        return False, None, ""
    window = values[late]
    if metric == "modes_covered" and n_modes:
        scale = float(n_modes)
    else:
        scale = max(abs(float(np.median(window))), float(values.max() - values.min()))
    if scale == 0:
        return False, None, ""
    rel = float(np.std(window)) / scale
    if rel <= th.oscillation_threshold:
        return False, None, ""
    first = int(steps[late][0])
    return True, first, (f"{metric} std/scale {rel:.3f} > {th.oscillation_threshold:g} over steps "
                         f"{first}-{int(steps[-1])}")


def check_vanishing_g_gradient(history: pd.DataFrame | None,
                               th: Thresholds = Thresholds()) -> tuple[bool, int | None, str]:
    if history is None or history.empty or not {"grad_norm_g", "loss_d", "step"} <= set(history.columns):
        return False, None, ""
    h = history.sort_values("step", kind="stable")
    g = pd.to_numeric(h["grad_norm_g"], errors="coerce").to_numpy(np.float64)
    ld = pd.to_numeric(h["loss_d"], errors="coerce").to_numpy(np.float64)
    cond = np.isfinite(g) & np.isfinite(ld) & (g < th.vanish_grad_g) & (np.abs(ld) < th.vanish_loss_d)
    run = _trailing_run(cond)
    need = max(1, math.ceil(th.vanish_tail_fraction * len(cond)))
    if run < need:
        return False, None, ""
    start = int(h["step"].to_numpy()[len(cond) - run])
    return True, start, (f"grad_norm_g < {th.vanish_grad_g:g} and |loss_d| < {th.vanish_loss_d:g} from step "
                         f"{start} to the end")


def verdict(status: Mapping[str, Any] | None, history: pd.DataFrame | None, evaluations: pd.DataFrame | None,
            n_modes: int | None = None, main_metric: str | None = None,
            thresholds: Thresholds | None = None) -> Verdict:
    """The stability verdict of one run (see the module docstring for the definitions)."""
    th = thresholds or Thresholds()
    status = status or {}
    found: dict[str, tuple[int | None, str]] = {}
    if status.get("status") == "diverged":
        step = status.get("step")
        found["diverged"] = (int(step) if step is not None else None, str(status.get("reason") or "diverged"))
    for label, (hit, step, why) in (
            ("collapsed", check_collapsed(evaluations, n_modes, th)),
            ("oscillating", check_oscillating(evaluations, main_metric, n_modes, th)),
            ("vanishing-G-gradient", check_vanishing_g_gradient(history, th))):
        if hit:
            found[label] = (step, why)
    flags = tuple(label for label in LABELS if label in found)
    if flags:
        step, why = found[flags[0]]
        return Verdict(flags[0], step, why, flags)
    no_data = (history is None or history.empty) and (evaluations is None or evaluations.empty)
    if no_data:
        return Verdict("unknown", None, "no history or evaluations to judge from", ())
    return Verdict("stable", None, "", ())


# ----------------------------------------------------------------------------- curve statistics
@dataclass(frozen=True)
class CurveStats:
    """Statistics of one metric's curve over a run's evaluations (NaN where undefined)."""

    best: float
    best_step: float
    final: float  # the last finite value
    final_step: float
    gap: float  # how much worse the final value is than the best (>= 0, in the metric's units)
    auc: float  # trapezoidal area under value-vs-step
    auc_per_step: float  # auc / (last step - first step): the curve's average value
    steps_to_target: float  # first evaluated step at which the target was reached; NaN if never/no target


def curve_stats(evaluations: pd.DataFrame | None, metric: str, higher_is_better: bool,
                target: float | None = None) -> CurveStats:
    steps, values = _series(evaluations, metric)
    nan = math.nan
    if len(values) == 0:
        return CurveStats(nan, nan, nan, nan, nan, nan, nan, nan)
    i = int(np.argmax(values) if higher_is_better else np.argmin(values))
    best, final = float(values[i]), float(values[-1])
    gap = best - final if higher_is_better else final - best
    if len(values) >= 2:
        auc = float(np.sum((values[1:] + values[:-1]) / 2 * np.diff(steps)))
        span = float(steps[-1] - steps[0])
        auc_per_step = auc / span if span > 0 else nan
    else:
        auc, auc_per_step = nan, nan
    reached = nan
    if target is not None and math.isfinite(target):
        hit = values >= target if higher_is_better else values <= target
        if hit.any():
            reached = float(steps[int(np.argmax(hit))])
    return CurveStats(best, float(steps[i]), final, float(steps[-1]), float(gap), auc, auc_per_step, reached)
