"""From stored runs to everything a report shows: statistics, comparisons, verdicts, curves.

One pure function, :func:`analyze`, whose result every renderer (Markdown, LaTeX, HTML, CSV,
figures) reads; nothing below it touches the file system.

Rows of a table: each trained variant (one row per grid point when the runs carry one), then the
reference pseudo-runs (``real``, ``null-gaussian``, ``null-uniform``). References are shown and
described like any row but take part in no test and are never "best"; the best null row per
metric is the level a trained row must beat to be more than "≈ null".
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ..errors import HarnessError
from ..metrics import METRICS
from . import stats
from .collect import REAL, Run, higher_is_better, metric_order
from .curves import CurveStats, curve_stats
from .protocols import check_column, common_fields, metric_protocol, narrow_to_evaluator, protocol_id
from .verdicts import Thresholds, Verdict, verdict

X_AXES = {"g_steps": "generator steps", "d_steps": "discriminator steps", "wall_time": "wall-clock time (s)"}


@dataclass
class Row:
    """One row of a data set's tables: a trained variant (at one grid point), or a reference."""

    key: str  # what the tables show: "wgan", "wgan @ lr_d=0.001,lr_g=0.001", "null-gaussian"
    variant: str
    point: str
    grid: dict[str, Any]
    reference: bool
    runs: list[Run]  # by seed


@dataclass(frozen=True)
class GridSummary:
    """One variant over its grid points (Lucic et al. 2018): its best point and the median over points."""

    variant: str
    rows: tuple[str, ...]  # its rows, one per point
    best_row: str
    best_point: str  # the best point's settings (its label)
    main: str
    quality: str | None
    best_main: float  # the best point's location (mean over non-NaN values, inf when one is)
    best_quality: float
    median_main: float  # median over the points' locations
    median_quality: float


@dataclass(frozen=True)
class Regime:
    """What a data set's trained runs ran under: the setting(s) (name -> row keys), G steps per run,
    batch sizes, seeds per row (lowest, highest), the seeds, D steps per G step where not 1."""
    settings: dict[str, list[str]]
    steps: list[int]
    batches: list[str]
    per_row: tuple[int, int]
    seeds: list[int]
    n_dis: dict[str, list]


@dataclass
class DatasetResult:
    name: str
    rows: list[str]  # trained rows, in table order
    references: list[str]  # reference rows, in table order (below the trained ones)
    groups: dict[str, Row]  # row key -> its row
    metrics: list[str]
    cells: dict[tuple[str, str], stats.Summary]  # (row, metric) -> statistics across seeds
    comparisons: dict[str, list[stats.Comparison]]  # metric -> the pairwise family (trained rows only)
    best: dict[str, str | None]  # metric -> significantly best trained row, or None
    reach: dict[str, stats.Reach]  # metric -> can any comparison reach the level at all
    null_row: dict[str, str | None]  # metric -> the best null reference row, or None
    near_null: dict[tuple[str, str], bool]  # (trained row, metric) -> "≈ null"
    protocols: dict[str, dict]  # metric -> the trained rows' (common) flattened protocol
    protocol_ids: dict[str, str]
    reference_protocols: dict[str, dict] = field(default_factory=dict)  # metric -> references' evaluator protocol
    reference_protocol_ids: dict[str, str] = field(default_factory=dict)
    main_metric: str | None = None
    quality_metric: str | None = None
    grid_summary: list[GridSummary] = field(default_factory=list)
    #: (trained row, metric) -> the best null row beats it by more than their spread ("< null", a
    #: stronger mark than "≈ null", which such a cell also has)
    worse_than_null: dict[tuple[str, str], bool] = field(default_factory=dict)
    n_modes: int | None = None  # the data set's number of modes (the upper bound of mode counts)

    @property
    def all_rows(self) -> list[str]:
        return self.rows + self.references

    @property
    def runs(self) -> dict[str, list[Run]]:
        return {k: self.groups[k].runs for k in self.all_rows}

    @property
    def trained_runs(self) -> list[Run]:
        return [r for k in self.rows for r in self.groups[k].runs]

    @property
    def reachable(self) -> dict[str, bool]:
        return {m: r.reachable for m, r in self.reach.items()}

    @property
    def seeds(self) -> list[int]:
        return sorted({r.seed for k in self.all_rows for r in self.groups[k].runs})

    @property
    def common_protocol(self) -> dict:
        return common_fields([self.protocols[m] for m in self.metrics])

    @property
    def n_dis(self) -> dict[str, list]:
        return {k: sorted({r.n_dis for r in self.groups[k].runs} - {None}) for k in self.rows}

    @property
    def regime(self) -> Regime:
        settings: dict[str, list[str]] = {}
        for k in self.rows:
            for name in sorted({r.setting for r in self.groups[k].runs}):
                settings.setdefault(name, []).append(k)
        runs = self.trained_runs
        per = sorted({len(self.groups[k].runs) for k in self.rows}) or [0]
        return Regime(settings, sorted({int(r.steps) for r in runs if r.steps is not None}),
                      sorted({str(r.config.get("batch_size")) for r in runs if r.config.get("batch_size") is not None}),
                      (per[0], per[-1]), sorted({r.seed for r in runs}),
                      {k: xs for k, xs in self.n_dis.items() if xs and xs != [1]})

    @property
    def has_grid(self) -> bool:
        return any(self.groups[k].point for k in self.rows)


@dataclass
class Analysis:
    runs: list[Run]
    datasets: list[DatasetResult]
    verdicts: dict[str, Verdict]  # trained run label -> verdict
    curves: dict[tuple[str, str], CurveStats]  # (trained run label, metric) -> curve statistics (G steps)
    main_metric: dict[str, str | None]  # data set -> the metric verdicts and curve summaries use
    level: float
    test: str
    thresholds: Thresholds
    targets: dict[tuple[str, str], float] = field(default_factory=dict)  # (run label, metric) -> target
    x_axis: str = "g_steps"


def parse_x_axis(x_axis: str) -> str:
    """`x_axis` when it is a key of X_AXES, else HarnessError (one line)."""
    if x_axis not in X_AXES:
        raise HarnessError(f"unknown x axis {x_axis!r}; known: {', '.join(X_AXES)}")
    return x_axis


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


def metric_with_role(runs: Sequence[Run], *roles: str) -> str | None:
    """The first registered metric the runs report whose MetricInfo has the first of `roles` that any
    reported metric has."""
    present = {m for r in runs for m in r.metrics}
    for role in roles:
        found = next((m for m in metric_order() if m in present and getattr(METRICS.get(m), role)), None)
        if found:
            return found
    return None


def main_metric_of(runs: Sequence[Run]) -> str | None:
    """The data set's main metric: the first registered metric its runs report with the ``main`` role
    (mode coverage), else the first with the ``quality`` role (e.g. FID on data sets without modes).
    It does not depend on which metrics a report shows."""
    return metric_with_role(runs, "main", "quality")


def quality_metric_of(runs: Sequence[Run]) -> str | None:
    return metric_with_role(runs, "quality")


def row_key(variant: str, point: str) -> str:
    return f"{variant} @ {point}" if point else variant


#: the reference variant: first row of every table and the row differences are measured against
#: (the NS-GAN every other variant modifies); `analyze(baseline=...)` names another
DEFAULT_BASELINE = "vanilla"


def _rows(runs: list[Run], baseline: str = DEFAULT_BASELINE) -> tuple[list[str], list[str], dict[str, Row]]:
    """(trained row keys, reference row keys, row key -> Row). Trained rows: the baseline variant's
    first (a row key or a variant name), then by variant and point; references: real first."""
    groups: dict[str, Row] = {}
    trained = sorted({(r.variant, r.point) for r in runs if not r.reference},
                     key=lambda vp: (baseline not in (vp[0], row_key(*vp)), vp))
    for v, p in trained:
        mine = sorted((r for r in runs if not r.reference and (r.variant, r.point) == (v, p)), key=lambda r: r.seed)
        groups[row_key(v, p)] = Row(row_key(v, p), v, p, dict(mine[0].grid), False, mine)
    refs = []
    for v, p in sorted({(r.variant, r.point) for r in runs if r.reference}, key=lambda vp: (vp[0] != REAL, vp)):
        key = row_key(v, p)
        key = key if key not in groups else f"{key} (reference)"
        mine = sorted((r for r in runs if r.reference and (r.variant, r.point) == (v, p)), key=lambda r: r.seed)
        groups[key] = Row(key, v, p, dict(mine[0].grid), True, mine)
        refs.append(key)
    return [row_key(v, p) for v, p in trained], refs, groups


def _protocols(name: str, m: str, trained: list[Run], refs: list[Run]) -> tuple[dict, dict]:
    """(trained rows' common protocol for m, references' evaluator protocol for m). Runs among
    themselves must agree on the whole protocol; references with the runs on the evaluator and the
    metric's version only (they have no budget or latent bank)."""
    entries = [(r.label, metric_protocol(r.protocol, m)) for r in trained if m in r.metrics]
    common = check_column(name, m, entries)
    ref_entries = [(r.label, narrow_to_evaluator(metric_protocol(r.protocol, m), m)) for r in refs if m in r.metrics]
    if not ref_entries:
        return common, {}
    both = [(label, narrow_to_evaluator(p, m)) for label, p in entries] + ref_entries
    check_column(name, m, both, what="the reference rows and the runs")
    return common, dict(ref_entries[0][1])


def _grid_summary(ds_rows: list[str], groups: dict[str, Row], main: str | None, quality: str | None,
                  cells: dict[tuple[str, str], stats.Summary]) -> list[GridSummary]:
    if not main or not any(groups[k].point for k in ds_rows):
        return []

    def loc(key: str, m: str | None) -> float:
        if not m:
            return math.nan
        if (key, m) not in cells:
            cells[(key, m)] = stats.describe([r.metrics.get(m) for r in groups[key].runs if m in r.metrics])
        return cells[(key, m)].location

    def worst_first(value: float, m: str | None) -> float:  # sort key: smaller is better, NaN last
        if not m or math.isnan(value):
            return math.inf
        return -value if higher_is_better(m) else value

    out = []
    for v in sorted({groups[k].variant for k in ds_rows}):
        keys = [k for k in ds_rows if groups[k].variant == v]
        best = min(keys, key=lambda k: (worst_first(loc(k, main), main), worst_first(loc(k, quality), quality), k))
        out.append(GridSummary(v, tuple(keys), best, groups[best].point or "(no grid)", main, quality,
                               loc(best, main), loc(best, quality),
                               stats.quantile([loc(k, main) for k in keys], 0.5),
                               stats.quantile([loc(k, quality) for k in keys], 0.5) if quality else math.nan))
    return out


def _dataset_result(name: str, runs: list[Run], metrics: list[str], level: float, test: str,
                    baseline: str = DEFAULT_BASELINE) -> DatasetResult:
    rows, refs, groups = _rows(runs, baseline)
    ds_metrics = [m for m in metrics if any(m in r.metrics for r in runs)]
    trained = [r for r in runs if not r.reference]
    reference_runs = [r for r in runs if r.reference]
    cells, comparisons, best, reach, null_row, near = {}, {}, {}, {}, {}, {}
    below: dict[tuple[str, str], bool] = {}
    n_modes = next((r.n_modes for r in runs if r.n_modes), None)
    protocols, ids, ref_protocols, ref_ids = {}, {}, {}, {}
    nulls = [k for k in refs if groups[k].runs[0].is_null]
    for m in ds_metrics:
        protocols[m], ref_protocols[m] = _protocols(name, m, trained, reference_runs)
        ids[m] = protocol_id(protocols[m])
        ref_ids[m] = protocol_id(ref_protocols[m]) if ref_protocols[m] else ""
        values = {k: [r.metrics.get(m) for r in groups[k].runs if m in r.metrics] for k in rows + refs}
        lo, hi = METRICS.get(m).bounds(n_modes) if m in METRICS else (-math.inf, math.inf)
        for k in rows + refs:  # intervals clipped to the metric's range (docs/REPORTS.md)
            cells[(k, m)] = stats.clip_interval(stats.describe(values[k]), lo, hi)
        hib = higher_is_better(m)
        comps = stats.pairwise({k: values[k] for k in rows}, hib, test=test, level=level, dataset=name, metric=m)
        comparisons[m] = comps
        best[m] = stats.best_variant(comps, rows)
        reach[m] = stats.reachability(comps, level)
        null_row[m] = stats.best_of({k: cells[(k, m)] for k in nulls}, hib)
        for k in rows:
            near[(k, m)] = bool(null_row[m]) and stats.near_null(cells[(k, m)], cells[(null_row[m], m)], hib)
            below[(k, m)] = bool(null_row[m]) and stats.worse_than_null(cells[(k, m)], cells[(null_row[m], m)], hib)
    main, quality = main_metric_of(runs), quality_metric_of(runs)
    grid = _grid_summary(rows, groups, main, quality, dict(cells))
    return DatasetResult(name, rows, refs, groups, ds_metrics, cells, comparisons, best, reach, null_row, near,
                         protocols, ids, ref_protocols, ref_ids, main, quality, grid, below, n_modes)


def null_levels(runs: Sequence[Run]) -> dict[str, float]:
    """metric -> the best null reference row's mean (location) over seeds, for every registered metric
    the null rows of these runs (one data set) report."""
    nulls = [r for r in runs if r.is_null]
    out = {}
    for m in metric_order():
        cells = {v: stats.describe([r.metrics[m] for r in nulls if r.variant == v and m in r.metrics])
                 for v in sorted({r.variant for r in nulls if m in r.metrics})}
        key = stats.best_of(cells, higher_is_better(m))
        if key is not None:
            out[m] = cells[key].location
    return out


def _verdict(r: Run, levels: dict[str, float], th: Thresholds) -> Verdict:
    return verdict(r.status, r.history, r.evaluations, n_modes=r.n_modes, eval_noise=r.eval_noise,
                   null_levels=levels or None, thresholds=th)


def analyze(runs: Sequence[Run], metrics: Sequence[str] | None = None, *, level: float = 0.05,
            test: str = "mannwhitney", thresholds: Thresholds | None = None,
            targets: Mapping[str, float] | None = None, x_axis: str = "g_steps",
            baseline: str | None = None) -> Analysis:
    """Statistics, pairwise comparisons, verdicts and curve statistics of `runs`.

    `baseline`: the reference variant (a variant name or row key): every data set's first row and
    the row differences are measured against (default ``vanilla`` where it ran, else the first row).

    `targets`: metric -> value for "steps to reach a target"; by default a metric whose MetricInfo
    target is ``"n_modes"`` (mode coverage) targets all of the data set's modes and other metrics
    have none. `x_axis`: what the figures' curves are drawn against (a key of X_AXES)."""
    parse_x_axis(x_axis)
    th = thresholds or Thresholds()
    chosen = select_metrics(runs, metrics)
    names = sorted({r.dataset for r in runs})
    if baseline and not any(baseline in (r.variant, row_key(r.variant, r.point)) for r in runs if not r.reference):
        raise HarnessError(f"baseline {baseline!r}: no trained run of that variant (or row) among the runs")
    datasets = [_dataset_result(d, [r for r in runs if r.dataset == d], chosen, level, test,
                                baseline or DEFAULT_BASELINE) for d in names]
    main = {ds.name: ds.main_metric for ds in datasets}
    levels = {d: null_levels([r for r in runs if r.dataset == d]) for d in names}
    verdicts, curves, run_targets = {}, {}, {}
    for r in runs:
        if r.reference:
            continue
        verdicts[r.label] = _verdict(r, levels[r.dataset], th)
        for m in dict.fromkeys([*chosen, *([main[r.dataset]] if main[r.dataset] else [])]):
            target = (targets or {}).get(m)
            if target is None and METRICS.get(m).target == "n_modes" and r.n_modes:
                target = float(r.n_modes)
            if target is not None:
                run_targets[(r.label, m)] = float(target)
            c = curve_stats(r.evaluations, m, higher_is_better(m), target)
            if target is not None and math.isnan(c.steps_to_target) and r.status.get("status") == "diverged":
                c = dataclasses.replace(c, steps_to_target=math.inf)  # diverged before reaching it
            curves[(r.label, m)] = c
    return Analysis(list(runs), datasets, verdicts, curves, main, level, test, th, run_targets, x_axis)
