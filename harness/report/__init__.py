"""Reports from stored runs: statistics across seeds, stability verdicts, tables and figures.

A report is a pure function of the run directories (docs/RUN_FORMAT.md): it never trains and never
recomputes a metric. Entry point: :func:`write_report`; the steps are callable on their own:
:func:`collect_runs` -> :func:`analyze` -> renderers in :mod:`harness.report.document` and
:func:`make_figures`. Definitions and defaults: docs/REPORTS.md.
"""
from __future__ import annotations

import contextlib
import dataclasses
import warnings
from pathlib import Path
from typing import Iterable, Mapping

from ..errors import HarnessError
from ..metrics import METRICS
from ..runs import atomic_write_bytes, run_lock
from .analysis import X_AXES, Analysis, DatasetResult, analyze, parse_x_axis, select_metrics
from .collect import InputWarning, Run, collect_runs, metric_order
from .curves import CurveStats, curve_stats
from .stats import TESTS, Comparison, Summary, best_variant, describe, holm, pairwise
from .verdicts import LABELS, Thresholds, Verdict, verdict

FORMATS = ("md", "tex", "html", "csv")
DEFAULT_TITLE = "GAN stability report"


def _names(value: str | Iterable[str] | None, what: str) -> list[str] | None:
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [str(v).strip() for v in items if str(v).strip()]
    if not names:
        raise HarnessError(f"empty list of {what}")
    return list(dict.fromkeys(names))


def parse_formats(formats: str | Iterable[str]) -> list[str]:
    names = _names(formats, "report formats") or []
    for f in names:
        if f not in FORMATS:
            raise HarnessError(f"unknown report format {f!r}; known: {', '.join(FORMATS)}")
    return names


def parse_metrics(metrics: str | Iterable[str] | None) -> list[str] | None:
    names = _names(metrics, "metrics")
    for m in names or []:
        if m not in METRICS:
            raise HarnessError(METRICS.unknown_message(m))
    return names


def parse_thresholds(thresholds: Thresholds | Mapping[str, float] | None) -> Thresholds:
    if thresholds is None or isinstance(thresholds, Thresholds):
        return thresholds or Thresholds()
    known = [f.name for f in dataclasses.fields(Thresholds)]
    for key in thresholds:
        if key not in known:
            raise HarnessError(f"unknown verdict threshold {key!r}; known: {', '.join(known)}")
    return Thresholds(**dict(thresholds))


def parse_targets(targets: Mapping[str, float] | None) -> dict[str, float] | None:
    if targets is None:
        return None
    out = {}
    for m, v in targets.items():
        if m not in METRICS:
            raise HarnessError(METRICS.unknown_message(m))
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
            raise HarnessError(f"target for {m}: {v!r} is not a number")
        out[m] = float(v)
    return out


def write_report(runs_dir: str | Path, out_dir: str | Path, formats: str | Iterable[str] = FORMATS,
                 metrics: str | Iterable[str] | None = None, level: float = 0.05, test: str = "mannwhitney",
                 title: str | None = None, *, thresholds: Thresholds | Mapping[str, float] | None = None,
                 targets: Mapping[str, float] | None = None, figures: bool = True,
                 x_axis: str = "g_steps", snapshot_seed: int | None = None,
                 baseline: str | None = None, allow_dirty: bool = False) -> dict[str, Path]:
    """Write the report of the runs under `runs_dir` into `out_dir`; returns {name: path written}.

    formats: any of "md" (report.md), "tex" (table.tex), "html" (report.html, self-contained),
    "csv" (results.csv, plus stats.csv, pairwise.csv and protocols.json), as a sequence or one
    comma-separated string. Figures (PNG and PDF under out_dir/figures) are drawn when "md" or
    "html" is asked for, unless figures=False. metrics: names (or one comma-separated string) of
    registered metrics; default: every registered metric the runs report. level: significance
    level; test: "mannwhitney" or "welch". thresholds: verdict thresholds (a Thresholds or a
    mapping of its fields); targets: metric -> value for "steps to target". x_axis: what the
    figures' curves are drawn against: "g_steps" (default), "d_steps" or "wall_time". snapshot_seed:
    the seed the snapshot, mode-occupancy and sample figures show (default: each row's first).
    baseline: the reference variant, first row of every table and the row differences are measured
    against (default: vanilla where it ran, else the first row); a name no trained run has is refused.

    allow_dirty: write into the committed `reports/` folder of the harness's own checkout even when
    the runs were made from a working tree with uncommitted changes (refused otherwise; the report
    says so either way).

    Raises HarnessError (one line), before anything is written, for a missing or empty runs
    directory, an unknown metric, format, test or x axis, and values of one column measured under
    different protocols. Unusable runs are skipped with an InputWarning naming each; the report
    lists them too.
    """
    fmts = parse_formats(formats)
    chosen = parse_metrics(metrics)
    if test not in TESTS:
        raise HarnessError(f"unknown test {test!r}; known: {', '.join(TESTS)}")
    if not isinstance(level, (int, float)) or isinstance(level, bool) or not 0 < level < 1:
        raise HarnessError(f"level={level!r}: must be a number in (0, 1)")
    th = parse_thresholds(thresholds)
    goals = parse_targets(targets)
    caught: list[warnings.WarningMessage] = []
    out = Path(out_dir)
    with contextlib.ExitStack() as owner:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                runs = collect_runs(runs_dir)
                analysis = analyze(runs, chosen, level=level, test=test, thresholds=th, targets=goals, x_axis=x_axis,
                                   baseline=baseline)
                if not allow_dirty:
                    from ..runs import dirty_refusal

                    refusal = dirty_refusal([r.commit for r in runs if not r.reference], out)
                    if refusal:
                        raise HarnessError(refusal)
                # one writer at a time (two sweeps sharing --out each end with a report): figures are
                # drawn in place, and every file of a report must come from one analysis
                owner.enter_context(run_lock(out, wait=True, lock_file=False))
                written: dict[str, Path] = {}
                drawn: dict = {}
                if figures and ("md" in fmts or "html" in fmts):
                    from .figures import make_figures

                    drawn = make_figures(analysis, out / "figures", snapshot_seed=snapshot_seed)
                    for files in drawn.values():
                        for f in files:
                            written.update({f"figure:{p.name}": p for p in f.paths.values()})
        finally:
            for w in caught:  # pass every warning on to the caller, also when a HarnessError follows
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        skipped = [w.message.describe(runs_dir) for w in caught if isinstance(w.message, InputWarning)]
        written.update(_write_outputs(analysis, drawn, fmts, out, title or DEFAULT_TITLE, skipped))
    return written


def _write_outputs(analysis: Analysis, figures: dict, fmts: list[str], out: Path, title: str,
                   skipped: list[str]) -> dict[str, Path]:
    from . import document, tables

    files: dict[str, tuple[str, str]] = {}
    if "md" in fmts or "html" in fmts:
        blocks = document.report_blocks(analysis, figures, title, skipped)
        if "md" in fmts:
            files["md"] = ("report.md", tables.markdown(blocks))
        if "html" in fmts:
            files["html"] = ("report.html", tables.html_page(title, blocks))
        from .methods import methods_markdown

        files["methods"] = ("METHODS.md", methods_markdown(analysis))
    if "tex" in fmts:
        from . import paper

        files["tex"] = ("table.tex", paper.main_tex_file(analysis))
        files["tex_appendix"] = ("table-appendix.tex", paper.appendix_tex_file(analysis))
    if "csv" in fmts:
        files["csv"] = ("results.csv", document.results_csv(analysis))
        files["stats_csv"] = ("stats.csv", document.stats_csv(analysis))
        files["pairwise_csv"] = ("pairwise.csv", document.pairwise_csv(analysis))
        files["protocols_json"] = ("protocols.json", document.protocols_json(analysis))
    written = {}
    for key, (name, text) in files.items():
        atomic_write_bytes(out / name, text.encode("utf-8"))
        written[key] = out / name
    return written


__all__ = ["write_report", "collect_runs", "analyze", "select_metrics", "metric_order", "Analysis",
           "DatasetResult", "Run", "InputWarning", "Thresholds", "Verdict", "CurveStats", "verdict", "curve_stats",
           "LABELS", "Summary", "Comparison", "describe", "pairwise", "holm", "best_variant", "TESTS", "FORMATS",
           "X_AXES", "parse_formats", "parse_metrics", "parse_x_axis"]
