"""Sensitivity of each variant to its hyper-parameters (Lucic et al. 2018, "Are GANs Created Equal?",
Fig. 4/5; Dodge et al. 2019, "Show Your Work": expected best validation score after k trials).

Input of every function: ``points``, one row per tuning configuration (columns
:data:`POINT_COLUMNS`), and ``report``, one row per report-seed run of the chosen configuration
(columns :data:`REPORT_COLUMNS`). A point's ``objective`` is the mean over its tuning seeds of the
primary metric; NaN means every tuning seed failed, and such a point counts as the *worst* value:
``worst`` when given (a float, or a dict data set -> float), else -inf (+inf when lower is better).
``target`` (a float, a dict data set -> float, or None) is the value counted as reaching the target.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Sequence, Union

import numpy as np
import pandas as pd

from ..errors import HarnessError
from . import fmt
from .collect import display_scale
from .names import log_metric, metric_label, variant_name
from .stats import describe, quantile

POINT_COLUMNS = ("variant", "dataset", "point", "source", "objective", "tiebreak", "g_steps", "d_steps",
                 "wall_time_s", "chosen")
REPORT_COLUMNS = ("variant", "dataset", "seed", "objective", "tiebreak")
PerDataset = Union[float, Mapping[str, float], None]  # one value, or data set -> value


# ----------------------------------------------------------------------------- inputs
def _require(df: pd.DataFrame, columns: Sequence[str], name: str, allow_empty: bool = False) -> None:
    """HarnessError unless `df` is a DataFrame with every column of `columns` (and a row, unless
    `allow_empty`)."""
    if not isinstance(df, pd.DataFrame):
        raise HarnessError(f"sensitivity report: `{name}` must be a pandas DataFrame, not {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise HarnessError(f"sensitivity report: `{name}` lacks column(s): {', '.join(missing)}")
    if df.empty and not allow_empty:
        raise HarnessError(f"sensitivity report: `{name}` has no rows (no tuning point to report)")


def _check(points: pd.DataFrame, report: pd.DataFrame) -> None:
    """Both tables have their columns, `points` a row, and each (data set, variant) exactly one chosen point."""
    _require(points, POINT_COLUMNS, "points")
    _require(report, REPORT_COLUMNS, "report", allow_empty=True)
    chosen = points["chosen"].fillna(False).astype(bool).groupby([points["dataset"], points["variant"]]).sum()
    wrong = [f"{d}/{v} ({n})" for (d, v), n in chosen.items() if n != 1]
    if wrong:
        raise HarnessError("sensitivity report: each (dataset, variant) needs exactly one chosen point; "
                           f"chosen points per group: {', '.join(wrong)}")


def _for(value: PerDataset, dataset: str) -> float | None:
    """`value` for `dataset`: the dict's entry (None when absent), the number itself, or None."""
    if isinstance(value, Mapping):
        value = value.get(dataset)
    return None if value is None else float(value)


def _worst(higher_is_better: bool, worst: float | None) -> float:
    return (-math.inf if higher_is_better else math.inf) if worst is None else float(worst)


def _floats(values) -> np.ndarray:
    """`values` as a flat float64 array, None and pandas' NA as NaN."""
    return pd.to_numeric(pd.Series(np.asarray(values, dtype=object).ravel(), dtype=object),
                         errors="coerce").to_numpy(np.float64)


def _filled(values, higher_is_better: bool, worst: float | None = None) -> np.ndarray:
    """`values` as float64 with NaN (None) replaced by the worst value (see the module docstring)."""
    x = _floats(values)
    return np.where(np.isnan(x), _worst(higher_is_better, worst), x)


# ----------------------------------------------------------------------------- statistics
def expected_best(values, higher_is_better: bool = True, worst: float | None = None) -> pd.DataFrame:
    """Expected best of k i.i.d. draws with replacement from the empirical distribution of the N
    `values`, k = 1..N (Dodge et al. 2019). With the distinct values u_1 < ... < u_m (oriented so that
    the last is the best) and c_j the number of values <= u_j, P(best of k = u_j) = (c_j/N)^k -
    (c_{j-1}/N)^k, so tied values share one probability. Columns: k; mean = sum u_j P_j; sd =
    sqrt(sum (u_j - mean)^2 P_j) (NaN when the mean is infinite); p_failed = (n_nan/N)^k, the chance
    that every draw is a failed point. NaN counts as `worst` (default -inf, +inf when lower is
    better), so with the default any NaN makes every mean infinite. Raises HarnessError for no value."""
    raw = _floats(values)
    x, n = _filled(raw, higher_is_better, worst), len(raw)
    if n == 0:
        raise HarnessError("expected_best: no value")
    sign = 1.0 if higher_is_better else -1.0
    u, counts = np.unique(sign * x, return_counts=True)  # ascending: the best last
    cum = np.cumsum(counts) / n
    prev = np.concatenate([[0.0], cum[:-1]])
    n_nan = int(np.isnan(raw).sum())
    rows = []
    for k in range(1, n + 1):
        p = cum ** k - prev ** k
        mean = float(np.sum(u * p))
        with np.errstate(invalid="ignore"):
            sd = math.sqrt(float(np.sum((u - mean) ** 2 * p))) if math.isfinite(mean) else math.nan
        rows.append((k, sign * mean, sd, (n_nan / n) ** k))
    return pd.DataFrame(rows, columns=["k", "mean", "sd", "p_failed"])


def _distribution(obj: pd.Series, higher_is_better: bool, target: float | None, worst: float | None) -> dict:
    """Best, quartiles, failed count and the share of points reaching `target` of one group's objectives."""
    x = _filled(obj, higher_is_better, worst)
    reached = None
    if target is not None:
        reached = ((x >= target) if higher_is_better else (x <= target)) & ~obj.isna().to_numpy()
    return {"n_points": len(x), "n_failed": int(obj.isna().sum()),
            "best": float(x.max() if higher_is_better else x.min()),
            "q1": quantile(x, 0.25), "median": quantile(x, 0.5), "q3": quantile(x, 0.75),
            "frac_target": float(reached.mean()) if reached is not None else math.nan,
            "n_target": int(reached.sum()) if reached is not None else 0}


def _chosen(group: pd.DataFrame, runs: pd.DataFrame) -> dict:
    """The chosen point, its tuning value and the mean ± sd of its finite report-seed values."""
    row = group[group["chosen"].fillna(False).astype(bool)].iloc[0]
    s = describe(pd.to_numeric(runs["objective"], errors="coerce").to_numpy(np.float64))
    return {"chosen_point": str(row["point"]), "chosen_source": "" if pd.isna(row["source"]) else str(row["source"]),
            "chosen_tuning": float(row["objective"]), "report_mean": s.mean, "report_sd": s.std,
            "n_report": s.n_total, "report_failed": s.n_nan, "report_inf": s.n_inf}


def _budget(group: pd.DataFrame) -> dict:
    """Per tuning run, the mean over the group's points of G steps, D steps and wall time; and the
    total wall time of all the group's points."""
    wall = pd.to_numeric(group["wall_time_s"], errors="coerce")
    return {"g_steps": float(pd.to_numeric(group["g_steps"], errors="coerce").mean()),
            "d_steps": float(pd.to_numeric(group["d_steps"], errors="coerce").mean()),
            "wall_time_s": float(wall.mean()), "total_wall_time_s": float(wall.sum(min_count=1))}


def summarize(points: pd.DataFrame, report: pd.DataFrame, higher_is_better: bool, target: PerDataset = None,
              *, worst: PerDataset = None) -> pd.DataFrame:
    """One row per (dataset, variant), sorted by both: n_points, n_published (points with a non-empty
    ``source``), n_failed (NaN objective), best, q1, median, q3 (over the N objectives, a failed point
    counting as `worst`), frac_target and n_target (share and count of points >= target, <= when lower
    is better; NaN/0 without a target; a failed point never reaches it), the chosen point
    (chosen_point, chosen_source, chosen_tuning), report_mean and report_sd (sd ddof 1) over the
    finite report-seed values, n_report (report rows), report_failed (NaN) and report_inf, and the
    budget per tuning run (mean g_steps, d_steps, wall_time_s over the points) with total_wall_time_s.
    Values are in the metric's stored units. Report rows of groups without points are ignored."""
    _check(points, report)
    rows = []
    for (ds, var), group in points.groupby(["dataset", "variant"], sort=True):
        runs = report[(report["dataset"] == ds) & (report["variant"] == var)]
        obj = pd.to_numeric(group["objective"], errors="coerce")
        published = int((group["source"].fillna("").astype(str) != "").sum())
        rows.append({"dataset": ds, "variant": var, "n_published": published,
                     **_distribution(obj, higher_is_better, _for(target, ds), _for(worst, ds)),
                     **_chosen(group, runs), **_budget(group)})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- Markdown
TABLE_HEADER = ("Variant", "N", "Published", "Failed", "Best", "Q1", "Median", "Q3", "Reach target",
                "Chosen (tuning)", "Chosen (report seeds)", "G steps/run", "D steps/run", "Wall time/run (s)",
                "Wall time, N runs (s)")


def _steps(x: float) -> str:
    return fmt.NA if math.isnan(x) else (f"{int(x)}" if float(x).is_integer() else fmt.num(x, 1))


def _table_row(r, scale: float, has_target: bool) -> str:
    """One Markdown table row of a :func:`summarize` row (objective values times `scale`)."""
    reach = f"{fmt.num(100 * r.frac_target, 0)}% ({r.n_target}/{r.n_points})" if has_target else fmt.NA
    report = fmt.num(r.report_mean * scale) if math.isnan(r.report_sd) else \
        fmt.mean_std(r.report_mean * scale, r.report_sd * scale)
    extra = [f"{n} {what}" for n, what in ((r.report_failed, "failed"), (r.report_inf, "infinite")) if n]
    report += f" (n = {r.n_report}{'; ' + ', '.join(extra) if extra else ''})" if r.n_report else ""
    cells = [variant_name(r.variant), str(r.n_points), str(r.n_published), str(r.n_failed),
             *(fmt.num(getattr(r, c) * scale) for c in ("best", "q1", "median", "q3")), reach,
             fmt.num(r.chosen_tuning * scale), report, _steps(r.g_steps), _steps(r.d_steps),
             fmt.num(r.wall_time_s), fmt.num(r.total_wall_time_s)]
    return "| " + " | ".join(cells) + " |"


def _robust_sentence(rows: pd.DataFrame, dataset: str, target: float | None, label: str, scale: float,
                     higher_is_better: bool) -> str:
    """Which variant has the highest share of points reaching the target on `dataset`."""
    if target is None:
        return f"No target is set for {dataset}, so no variant is ranked by its share of points reaching one."
    goal = f"{label} {'≥' if higher_is_better else '≤'} {fmt.num(target * scale)}"
    top = rows["frac_target"].max()
    if not top > 0:
        return f"On {dataset}, no point of any variant reaches the target ({goal})."
    names = " and ".join(variant_name(v) for v in rows.loc[rows["frac_target"] == top, "variant"])
    return (f"On {dataset}, {names} reaches the target ({goal}) with the highest share of its points, "
            f"{fmt.num(100 * top, 0)}%: the least sensitive to its hyper-parameters, itself a measure of stability.")


def _protocol(points: pd.DataFrame, label: str, higher_is_better: bool) -> str:
    """The protocol paragraph: N per variant, published points, tuning/report seeds, Dodge et al."""
    sizes = points.groupby(["dataset", "variant"]).size().tolist()
    published = points["source"].fillna("").astype(str)
    names = ", ".join(f"“{s}”" for s in sorted(set(published[published != ""]))) or "none"
    return (f"Every variant was tuned with the same number of configurations per data set, N = {fmt.span(sizes)} "
            f"(Lucic et al. 2018): quasi-randomly sampled points of its search space, with the published value "
            f"sets included as points ({int((published != '').sum())} published points in all; sets: {names}). "
            f"Each point is scored by the mean of “{label}” ({'higher' if higher_is_better else 'lower'} is "
            "better) "
            "over its tuning seeds; a point whose every tuning seed failed counts as the worst value. The chosen "
            "point was selected on the tuning seeds only and re-run on report seeds disjoint from them, so its "
            "report value carries no selection bias. The figure shows the expected best value after k of the N "
            "trials (Dodge et al. 2019, “Show Your Work”), and the spread of the N points.")


def sensitivity_markdown(points: pd.DataFrame, report: pd.DataFrame, objective_name: str, higher_is_better: bool,
                         target: PerDataset = None, *, worst: PerDataset = None) -> str:
    """The Markdown section "Sensitivity to hyper-parameters": the protocol paragraph, then per data set
    a table of :func:`summarize` (objective values in display units: per cent for per-cent metrics)
    and a sentence naming the variant with the highest share of points reaching the target."""
    table = summarize(points, report, higher_is_better, target, worst=worst)
    label, scale = metric_label(objective_name), display_scale(objective_name)
    lines = ["## Sensitivity to hyper-parameters", "", _protocol(points, label, higher_is_better)]
    for ds, rows in table.groupby("dataset", sort=True):
        tgt = _for(target, ds)
        lines += ["", f"### {ds}", "", "| " + " | ".join(TABLE_HEADER) + " |",
                  "|" + "|".join(["---"] + ["---:"] * (len(TABLE_HEADER) - 1)) + "|"]
        lines += [_table_row(r, scale, tgt is not None) for r in rows.itertuples(index=False)]
        lines += ["", _robust_sentence(rows, ds, tgt, label, scale, higher_is_better)]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- figure
def _curve_panel(ax, points: pd.DataFrame, report: pd.DataFrame, st: dict, hib: bool, worst: float | None,
                 scale: float) -> list[str]:
    """Expected best after k trials per variant (± 1 sd band) and the chosen point's report-seed mean
    as a hollow marker at k = N; returns the variants whose curve is infinite (not drawn)."""
    undrawn = []
    for var, group in points.groupby("variant", sort=True):
        eb, s = expected_best(group["objective"], hib, worst), st[var]
        if not np.isfinite(eb["mean"]).any():
            undrawn.append(variant_name(var))
        mean = eb["mean"].where(np.isfinite(eb["mean"]))  # an infinite mean is not drawn
        ax.plot(eb["k"], mean * scale, color=s["color"], ls=s["linestyle"], label=variant_name(var))
        # the best of k draws lies among the N values: the band stays within their range (it went
        # below 0 modes)
        seen = _floats(group["objective"])
        seen = seen[np.isfinite(seen)]
        lo, hi = (seen.min(), seen.max()) if len(seen) else (-np.inf, np.inf)
        ax.fill_between(eb["k"], np.clip(mean - eb["sd"], lo, hi) * scale, np.clip(mean + eb["sd"], lo, hi) * scale,
                        color=s["color"], alpha=0.15, lw=0)
        rep = describe(pd.to_numeric(report.loc[report["variant"] == var, "objective"], errors="coerce"))
        if rep.n:
            ax.plot([len(group)], [rep.mean * scale], marker=s["marker"], mfc="none", mec=s["color"], ms=6, ls="")
    ax.plot([], [], marker="o", mfc="none", mec="0.3", ls="", label="chosen (report seeds)")
    ax.set_xlabel("k (tuning trials)")
    return undrawn


def _spread_panel(ax, points: pd.DataFrame, st: dict, hib: bool, target: float | None, scale: float) -> None:
    """Box plot and (evenly spread, not random) points of each variant's N objectives; failed points as
    × on the worst edge with their count; the target as a dashed line."""
    from matplotlib.transforms import blended_transform_factory

    edge = blended_transform_factory(ax.transData, ax.transAxes)
    for i, (var, group) in enumerate(points.groupby("variant", sort=True)):
        obj = pd.to_numeric(group["objective"], errors="coerce").to_numpy(np.float64) * scale
        ok, c = obj[np.isfinite(obj)], st[var]["color"]
        if len(ok):
            ax.boxplot([ok], positions=[i], widths=0.6, showfliers=False, medianprops={"color": c})
            ax.scatter(i + np.linspace(-0.22, 0.22, len(ok)), np.sort(ok), s=8, color=c, alpha=0.7, lw=0)
        if np.isnan(obj).any():
            y = 0.04 if hib else 0.96
            ax.plot([i], [y], marker="x", color=c, transform=edge, ls="")
            ax.text(i + 0.12, y, f"{int(np.isnan(obj).sum())} failed", transform=edge, va="center", fontsize=7)
    if target is not None:
        ax.axhline(target * scale, color="0.3", ls="--", lw=0.8, label="target")
    names = sorted(points["variant"].unique())
    ax.set_xticks(range(len(names)), [variant_name(v) for v in names], rotation=30, ha="right")


def sensitivity_figure(points: pd.DataFrame, report: pd.DataFrame, objective_name: str, higher_is_better: bool,
                       path: str | Path, target: PerDataset = None, *, worst: PerDataset = None) -> Path:
    """Write a PNG at `path` (parents created) and return it: one column per data set; top row the
    expected best after k trials per variant (± 1 sd; hollow marker at k = N: the chosen point's mean
    over its finite report-seed values); bottom row each variant's N objectives (box + points, failed
    points as × on the worst edge, target dashed). Agg canvas, the harness's paper style and
    per-variant styles (:func:`harness.report.figures.styles` over the sorted variants)."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .figures import DPI, PNG_METADATA, STYLE, legend_columns, legend_rows, styles

    _check(points, report)
    datasets, st = sorted(points["dataset"].unique()), styles(sorted(points["variant"].unique()))
    label, scale = metric_label(objective_name), display_scale(objective_name)
    with matplotlib.rc_context(STYLE):
        width = max(3.25, 2.6 * len(datasets))
        entries = [variant_name(v) for v in st] + ["chosen (report seeds)", "target"]
        fig = Figure(figsize=(width, 4.3 + 0.2 * legend_rows(width, entries)), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(2, len(datasets), squeeze=False)
        for j, ds in enumerate(datasets):
            mine, runs = points[points["dataset"] == ds], report[report["dataset"] == ds]
            undrawn = _curve_panel(axes[0, j], mine, runs, st, higher_is_better, _for(worst, ds), scale)
            _spread_panel(axes[1, j], mine, st, higher_is_better, _for(target, ds), scale)
            _annotate(axes[:, j], ds, label, undrawn, log_metric(objective_name))
        handles, labels = _legend_entries(axes)
        fig.legend(handles, labels, loc="outside upper center", ncols=legend_columns(fig.get_figwidth(), labels),
                   frameon=False)
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, format="png", dpi=DPI, metadata=PNG_METADATA, bbox_inches="tight")
    return out


def _annotate(col, dataset: str, label: str, undrawn: list[str], log: bool) -> None:
    """Titles, labels and grids of one data set's two panels; a note naming infinite (undrawn) curves."""
    col[0].set_title(f"{dataset}: expected best after k trials")
    col[1].set_title(f"{dataset}: all N points")
    for ax in col:
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.4)
    if undrawn:
        names = [", ".join(undrawn[i:i + 2]) for i in range(0, len(undrawn), 2)]  # two a line: inside the panel
        col[0].text(0.02, 0.02, "\n".join(["not drawn (a failed point: ±∞):"] + names),
                    transform=col[0].transAxes, fontsize=6, va="bottom")
    if log:
        for ax in col:
            if all(np.all(np.asarray(ln.get_ydata(), float) > 0) for ln in ax.lines if len(ln.get_ydata())):
                ax.set_yscale("log")


def _legend_entries(axes) -> tuple[list, list[str]]:
    """One legend entry per label over all panels, in order of appearance."""
    handles, labels = [], []
    for ax in axes.ravel():
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    return handles, labels
