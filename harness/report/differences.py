"""Differences of each variant to a named reference variant (mean difference, Welch interval,
Cliff's delta): what a report shows where significance cannot be reached. Used by the Markdown
report (document.py) and the LaTeX appendix (paper.py)."""
from __future__ import annotations

import math
from typing import Sequence

from . import fmt, stats
from .analysis import Analysis, DatasetResult

def baseline_row(ds: DatasetResult, name: str | None = None) -> str | None:
    """The row differences are measured against: `name` (a variant or row key) when present, else
    the data set's first trained row, which is the reference variant (`analyze(baseline=...)`,
    default ``vanilla``, the NS-GAN every other variant modifies) wherever it ran."""
    for k in ds.rows:
        if name and (k == name or ds.groups[k].variant == name):
            return k
    return ds.rows[0] if ds.rows else None


def difference_rows(ds: DatasetResult, analysis: Analysis, baseline: str | None = None,
                    metrics: Sequence[str] | None = None) -> list[tuple[str, str, stats.Difference, stats.Comparison | None]]:
    """(metric, row, difference to the baseline, the pairwise comparison) for every other trained row."""
    base = baseline_row(ds, baseline)
    if base is None:
        return []
    out = []
    for m in metrics or ds.metrics:
        lookup = {frozenset((c.a, c.b)): c for c in ds.comparisons[m]}
        for k in ds.rows:
            if k == base:
                continue
            values = lambda key: [r.metrics[m] for r in ds.groups[key].runs if m in r.metrics]  # noqa: E731
            d = clip_difference(stats.difference(k, base, values(k), values(base)), m, ds.n_modes)
            out.append((m, k, d, lookup.get(frozenset((k, base)))))
    return out


def clip_difference(d: stats.Difference, metric: str, n_modes: int | None = None) -> stats.Difference:
    """The interval of a difference of two values in [lo, hi] clipped to [lo - hi, hi - lo] (a
    difference of mode counts cannot exceed the number of modes); the point estimate is inside."""
    from dataclasses import replace

    from ..metrics import METRICS

    if metric not in METRICS or math.isnan(d.low):
        return d
    lo, hi = METRICS.get(metric).bounds(n_modes)
    width = hi - lo
    return replace(d, low=max(d.low, -width), high=min(d.high, width))


def difference_text(d: stats.Difference, scale: float) -> str:
    """"+2.50 [2.27, 2.73]" in the metric's display unit; "n/a" pieces where undefined."""
    if math.isnan(d.diff):
        return fmt.NA
    dd = fmt.decimals(max(abs(d.diff), abs(d.low) if not math.isnan(d.low) else 0) * scale) if d.diff else 2
    head = f"{d.diff * scale:+.{dd}f}"
    if math.isnan(d.low):
        return head
    return f"{head} [{fmt.num(d.low * scale, dd)}, {fmt.num(d.high * scale, dd)}]"
