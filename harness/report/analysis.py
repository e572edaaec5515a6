"""From stored runs to everything a report shows: statistics, comparisons, verdicts, curves.

One pure function, :func:`analyze`, whose result every renderer (Markdown, LaTeX, HTML, CSV,
figures) reads; nothing below it touches the file system.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from ..errors import HarnessError
from ..metrics import METRICS
from . import stats
from .collect import Run, higher_is_better, metric_order
from .protocols import check_column, common_fields, metric_protocol, protocol_id
from .verdicts import CurveStats, Thresholds, Verdict, curve_stats, verdict


@dataclass
class DatasetResult:
    name: str
    variants: list[str]
    metrics: list[str]
    runs: dict[str, list[Run]]  # variant -> its runs, by seed
    cells: dict[tuple[str, str], stats.Summary]  # (variant, metric) -> statistics across seeds
    comparisons: dict[str, list[stats.Comparison]]  # metric -> the pairwise family
    best: dict[str, str | None]  # metric -> significantly best variant, or None
    reachable: dict[str, bool]  # metric -> can any comparison reach the level at all
    protocols: dict[str, dict]  # metric -> its (common) flattened protocol
    protocol_ids: dict[str, str]

    @property
    def seeds(self) -> list[int]:
        return sorted({r.seed for rs in self.runs.values() for r in rs})

    @property
    def common_protocol(self) -> dict:
        return common_fields([self.protocols[m] for m in self.metrics])

    @property
    def n_dis(self) -> dict[str, list]:
        return {v: sorted({r.protocol.get("budget", {}).get("n_dis") for r in rs} - {None})
                for v, rs in self.runs.items()}


@dataclass
class Analysis:
    runs: list[Run]
    datasets: list[DatasetResult]
    verdicts: dict[str, Verdict]  # run label -> verdict
    curves: dict[tuple[str, str], CurveStats]  # (run label, metric) -> curve statistics
    main_metric: dict[str, str | None]  # data set -> the metric verdicts and curve summaries use
    level: float
    test: str
    thresholds: Thresholds
    targets: dict[tuple[str, str], float] = field(default_factory=dict)  # (run label, metric) -> target


def select_metrics(runs: Sequence[Run], metrics: Sequence[str] | None) -> list[str]:
    """The metric columns: registered metrics present in the runs, in registration order; with
    `metrics`, exactly those (unknown or absent names raise HarnessError)."""
    present = {m for r in runs for m in r.metrics}
    order = metric_order()
    if metrics is None:
        chosen = [m for m in order if m in present]
        if not chosen:
            raise HarnessError("the runs report no registered metric (registered: " + ", ".join(order) + ")")
        return chosen
    for m in metrics:
        if m not in METRICS:
            raise HarnessError(METRICS.unknown_message(m))
        if m not in present:
            have = [x for x in order if x in present]
            raise HarnessError(f"metric {m!r} is in none of the runs (they have: {', '.join(have) or 'none'})")
    return [m for m in order if m in metrics]


def _dataset_result(name: str, runs: list[Run], metrics: list[str], level: float, test: str) -> DatasetResult:
    variants = sorted({r.variant for r in runs})
    by_variant = {v: sorted((r for r in runs if r.variant == v), key=lambda r: r.seed) for v in variants}
    ds_metrics = [m for m in metrics if any(m in r.metrics for r in runs)]
    cells, comparisons, best, reachable, protocols, ids = {}, {}, {}, {}, {}, {}
    for m in ds_metrics:
        entries = [(r.label, metric_protocol(r.protocol, m)) for r in runs if m in r.metrics]
        protocols[m] = check_column(name, m, entries)
        ids[m] = protocol_id(protocols[m])
        groups = {v: [r.metrics.get(m) for r in by_variant[v] if m in r.metrics] for v in variants}
        for v in variants:
            cells[(v, m)] = stats.describe(groups[v])
        comps = stats.pairwise(groups, higher_is_better(m), test=test, level=level, dataset=name, metric=m)
        comparisons[m] = comps
        best[m] = stats.best_variant(comps, variants)
        reachable[m] = stats.significance_reachable([cells[(v, m)].n for v in variants], level, test)
    return DatasetResult(name, variants, ds_metrics, by_variant, cells, comparisons, best, reachable, protocols, ids)


def main_metric_of(runs: Sequence[Run]) -> str | None:
    """The data set's main metric: the first registered metric its runs report (``modes_covered``
    for mixtures). It does not depend on which metrics a report shows."""
    present = {m for r in runs for m in r.metrics}
    return next((m for m in metric_order() if m in present), None)


def analyze(runs: Sequence[Run], metrics: Sequence[str] | None = None, *, level: float = 0.05,
            test: str = "mannwhitney", thresholds: Thresholds | None = None,
            targets: Mapping[str, float] | None = None) -> Analysis:
    """Statistics, pairwise comparisons, verdicts and curve statistics of `runs`.

    `targets`: metric -> value for "steps to reach a target"; by default ``modes_covered`` targets
    all of the data set's modes and other metrics have none."""
    th = thresholds or Thresholds()
    chosen = select_metrics(runs, metrics)
    names = sorted({r.dataset for r in runs})
    datasets = [_dataset_result(d, [r for r in runs if r.dataset == d], chosen, level, test) for d in names]
    main = {d: main_metric_of([r for r in runs if r.dataset == d]) for d in names}
    verdicts, curves, run_targets = {}, {}, {}
    for r in runs:
        verdicts[r.label] = verdict(r.status, r.history, r.evaluations, n_modes=r.n_modes, thresholds=th)
        for m in dict.fromkeys([*chosen, *([main[r.dataset]] if main[r.dataset] else [])]):
            target = (targets or {}).get(m)
            if target is None and m == "modes_covered" and r.n_modes:
                target = float(r.n_modes)
            if target is not None:
                run_targets[(r.label, m)] = float(target)
            curves[(r.label, m)] = curve_stats(r.evaluations, m, higher_is_better(m), target)
    return Analysis(list(runs), datasets, verdicts, curves, main, level, test, th, run_targets)
