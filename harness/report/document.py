"""The report's content: Markdown/HTML blocks, the LaTeX tables and the CSV files, all built from
an :class:`~harness.report.analysis.Analysis` (no file access here)."""
from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any, Sequence

import numpy as np

from . import fmt, stats
from .analysis import Analysis, DatasetResult
from .collect import higher_is_better
from .figures import FigureFile
from .tables import Block, Heading, Image, Items, Para, Table, csv_text, tex_escape, tex_table
from .verdicts import LABELS

TEST_TEXT = {
    "mannwhitney": ("two-sided Mann–Whitney U test (exact p-values over all rank assignments, ties included, "
                    f"while C(n1+n2, n1) ≤ {stats.EXACT_LIMIT:,}; SciPy's default method beyond)"),
    "welch": "two-sided Welch's t-test (unequal variances)",
}
TEST_SHORT = {"mannwhitney": "two-sided Mann--Whitney U", "welch": "two-sided Welch's t"}
EFFECT_TEXT = {"mannwhitney": "Cliff's δ", "welch": "Cohen's d"}
SYMBOL = {"better": "▲", "worse": "▼", "tie": "=", "n/a": "–"}


def arrow(metric: str) -> str:
    return "↑" if higher_is_better(metric) else "↓"


def _value(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, sort_keys=True)


def protocol_text(ds: DatasetResult) -> tuple[str, str]:
    """(the fields shared by every column, the metric versions)."""
    common = {k: v for k, v in ds.common_protocol.items() if not k.startswith("metric_versions.")}
    fields = "; ".join(f"{k}={_value(v)}" for k, v in common.items()) or "none recorded"
    versions = ", ".join(f"{m} v{ds.protocols[m].get(f'metric_versions.{m}', '?')}" for m in ds.metrics)
    return fields, versions


def n_dis_text(ds: DatasetResult) -> str:
    parts = [f"{v} {'/'.join(str(x) for x in xs)}" for v, xs in ds.n_dis.items() if xs]
    return ", ".join(parts)


def _runs_cell(ds: DatasetResult, analysis: Analysis, variant: str) -> str:
    runs = ds.runs[variant]
    div = sum(analysis.verdicts[r.label].label == "diverged" for r in runs)
    return f"{len(runs)}" + (f" ({div} diverged)" if div else "")


def _cell(s: stats.Summary, sep: str = " ± ") -> str:
    text = fmt.mean_std(s.mean, s.std, sep)
    if s.n < s.n_total:
        text += f" (n={s.n})"
    return text


# ----------------------------------------------------------------------------- per data set
def results_table(ds: DatasetResult, analysis: Analysis) -> Table:
    header = ["variant", "runs"] + [f"{m} {arrow(m)}" for m in ds.metrics]
    rows, bold = [], set()
    for i, v in enumerate(ds.variants):
        rows.append([v, _runs_cell(ds, analysis, v)] + [_cell(ds.cells[(v, m)]) for m in ds.metrics])
        bold |= {(i, 2 + j) for j, m in enumerate(ds.metrics) if ds.best[m] == v}
    return Table(header, rows, bold, "lr" + "r" * len(ds.metrics))


def _sizes_text(sizes: list[int]) -> str:
    uniq = sorted(set(sizes))
    return f"n = {uniq[0]}" if len(uniq) == 1 else "n = " + ", ".join(str(s) for s in sizes)


def reachability_note(ds: DatasetResult, analysis: Analysis) -> str | None:
    out_of_reach = [m for m in ds.metrics if not ds.reachable[m]]
    if not out_of_reach:
        return None
    m0 = out_of_reach[0]
    sizes = [ds.cells[(v, m0)].n for v in ds.variants]
    usable = [n for n in sizes if n >= 2]
    names = ", ".join(out_of_reach)
    if len(usable) < 2:
        return (f"No significance test for {names}: tests need at least two variants with n ≥ 2 finite values "
                "each, so p-values show n/a and no variant is marked best.")
    m = len(usable) * (len(usable) - 1) // 2
    floor = min(stats.min_pvalue_mannwhitney(a, b) for i, a in enumerate(usable) for b in usable[i + 1:])
    need = stats.seeds_needed(m, analysis.level)
    text = (f"Significance is out of reach for {names}: with {_sizes_text(sizes)} seeds per variant the exact "
            f"two-sided Mann–Whitney U test cannot give p below {fmt.pvalue(floor)}")
    text += f", and Holm's correction multiplies the smallest p by the {m} comparisons," if m > 1 else ","
    text += (f" so no difference can reach α = {analysis.level:g} and no variant can be marked best"
             " (expected with so few seeds).")
    if need:
        text += f" That takes at least {need} seeds per variant."
    return text


def best_note(ds: DatasetResult) -> str:
    best = [f"{m}: {ds.best[m]}" for m in ds.metrics if ds.best[m]]
    ties = [m for m in ds.metrics if not ds.best[m]]
    parts = []
    if best:
        parts.append("Significantly best (bold): " + "; ".join(best) + ".")
    if ties:
        parts.append("No variant is significantly better than every other on " + ", ".join(ties)
                     + " (ties; see the matrix).")
    return " ".join(parts)


def significance_matrix(ds: DatasetResult) -> Table:
    lookup = {}
    for m in ds.metrics:
        for c in ds.comparisons[m]:
            lookup[(m, c.a, c.b)] = lookup[(m, c.b, c.a)] = c
    rows = []
    for a in ds.variants:
        row = [a]
        for b in ds.variants:
            if a == b:
                row.append("·")
                continue
            row.append(" ".join(SYMBOL[stats.outcome(lookup[(m, a, b)], a)] for m in ds.metrics))
        rows.append(row)
    return Table(["row vs column"] + ds.variants, rows, set(), "l" + "c" * len(ds.variants))


def stats_table(ds: DatasetResult) -> Table:
    header = ["variant", "metric", "n", "mean", "std", "se", "median", "IQR", "95% CI (bootstrap)"]
    rows = []
    for v in ds.variants:
        for m in ds.metrics:
            s = ds.cells[(v, m)]
            d = fmt.decimals(s.mean)
            ci = fmt.NA if math.isnan(s.ci_low) else f"[{fmt.num(s.ci_low, d)}, {fmt.num(s.ci_high, d)}]"
            rows.append([v, m, f"{s.n}/{s.n_total}", fmt.num(s.mean, d), fmt.num(s.std, d), fmt.num(s.se, d),
                         fmt.num(s.median, d), fmt.num(s.iqr, d), ci])
    return Table(header, rows, set(), "ll" + "r" * 7)


def pairwise_table(ds: DatasetResult, analysis: Analysis) -> Table:
    header = ["metric", "A", "B", "n A", "n B", "p", "p (Holm)", EFFECT_TEXT[analysis.test] + " (A vs B)", "result"]
    rows = []
    for m in ds.metrics:
        for c in ds.comparisons[m]:
            result = {"tie": "tie", "n/a": fmt.NA}.get(stats.outcome(c, c.a), f"{c.better} better")
            rows.append([m, c.a, c.b, str(c.n_a), str(c.n_b), fmt.pvalue(c.p), fmt.pvalue(c.p_holm),
                         fmt.effect(c.effect), result])
    return Table(header, rows, set(), "lll" + "r" * 5 + "l")


def verdict_table(ds: DatasetResult, analysis: Analysis) -> Table:
    counts = {v: Counter(analysis.verdicts[r.label].label for r in ds.runs[v]) for v in ds.variants}
    labels = [lb for lb in LABELS if lb != "unknown" or any(c["unknown"] for c in counts.values())]
    rows = []
    for v in ds.variants:
        n = len(ds.runs[v])
        rows.append([v] + [f"{counts[v][lb]}/{n}" for lb in labels])
    return Table(["variant"] + labels, rows, set(), "l" + "r" * len(labels))


def verdict_items(ds: DatasetResult, analysis: Analysis) -> list[str]:
    items = []
    for v in ds.variants:
        for r in ds.runs[v]:
            vd = analysis.verdicts[r.label]
            if vd.label == "stable":
                continue
            where = f" at step {vd.step}" if vd.step is not None else ""
            also = [f for f in vd.flags if f != vd.label]
            text = f"`{r.label}`: {vd.label}{where}: {vd.reason}"
            items.append(text + (f" (also {', '.join(also)})" if also else ""))
    return items


def _mean(values: list[float]) -> float:
    x = stats.finite(values)
    return float(np.mean(x)) if len(x) else math.nan


def curve_table(ds: DatasetResult, analysis: Analysis) -> Table | None:
    m = analysis.main_metric.get(ds.name)
    if not m:
        return None
    rows = []
    for v in ds.variants:
        cs = [analysis.curves[(r.label, m)] for r in ds.runs[v]]
        has_target = [analysis.targets.get((r.label, m)) is not None for r in ds.runs[v]]
        reached = [c.steps_to_target for c in cs if not math.isnan(c.steps_to_target)]
        target = fmt.NA
        if any(has_target):
            target = (f"{fmt.num(float(np.median(reached)), 0)} ({len(reached)}/{len(cs)} reached)" if reached
                      else f"never (0/{len(cs)})")
        rows.append([v, fmt.num(_mean([c.best for c in cs])), fmt.num(_mean([c.final for c in cs])),
                     fmt.num(_mean([c.gap for c in cs])), fmt.num(_mean([c.auc_per_step for c in cs])), target])
    header = ["variant", f"best {m}", f"final {m}", "best−final gap", "area / steps", "steps to target (median)"]
    return Table(header, rows, set(), "l" + "r" * 5)


def _target_text(ds: DatasetResult, analysis: Analysis) -> str:
    m = analysis.main_metric.get(ds.name)
    targets = sorted({t for (label, mm), t in analysis.targets.items() if mm == m
                      and any(r.label == label for rs in ds.runs.values() for r in rs)})
    if not targets:
        return "no target"
    return f"target {m} {'≥' if higher_is_better(m) else '≤'} {', '.join(fmt.num(t) for t in targets)}"


def dataset_blocks(ds: DatasetResult, analysis: Analysis, figures: Sequence[FigureFile]) -> list[Block]:
    fields, versions = protocol_text(ds)
    seeds = ", ".join(str(s) for s in ds.seeds)
    blocks: list[Block] = [
        Heading(f"Data set `{ds.name}`", 2),
        Para(f"Seeds: {seeds}. Protocol shared by every value below: {fields}. Metric versions: {versions}."
             + (f" D steps per G step (part of each variant): {n_dis_text(ds)}." if n_dis_text(ds) else "")),
        Heading("Results (mean ± std over seeds)", 3),
        results_table(ds, analysis),
        Para(best_note(ds)),
    ]
    note = reachability_note(ds, analysis)
    if note:
        blocks.append(Para(note))
    blocks += [
        Heading("Significance matrix", 3),
        Para("Each cell lists, for the metrics in the order " + ", ".join(ds.metrics) + ", whether the row variant "
             "is significantly better (▲), worse (▼), tied (=) or untestable (–) against the column variant "
             f"(Holm-adjusted p < {analysis.level:g})."),
        significance_matrix(ds),
        Heading("Stability verdicts", 3),
        verdict_table(ds, analysis),
    ]
    items = verdict_items(ds, analysis)
    if items:
        blocks.append(Items(items))
    table = curve_table(ds, analysis)
    if table is not None:
        blocks += [Heading(f"Curves of the main metric ({analysis.main_metric[ds.name]}, means over seeds)", 3),
                   Para(f"Gap: how much worse the final value is than the best one during training; area / steps: "
                        f"the curve's average value; steps to target: first evaluation that reached it "
                        f"({_target_text(ds, analysis)})."),
                   table]
    blocks += [Heading("Statistics per variant and metric", 3), stats_table(ds),
               Heading("Pairwise comparisons", 3), pairwise_table(ds, analysis)]
    if figures:
        blocks.append(Heading("Figures", 3))
        for f in figures:
            blocks += [Para(f.caption), Image(f"figures/{f.stem}.png", f.caption, f.png)]
    return blocks


def report_blocks(analysis: Analysis, figures: dict[str, list[FigureFile]], title: str,
                  skipped: Sequence[str]) -> list[Block]:
    n_runs = len(analysis.runs)
    variants = sorted({r.variant for r in analysis.runs})
    th = analysis.thresholds
    blocks: list[Block] = [
        Heading(title, 1),
        Para(f"{n_runs} runs: {len(analysis.datasets)} data set(s) ({', '.join(d.name for d in analysis.datasets)}), "
             f"{len(variants)} variant(s) ({', '.join(variants)})."),
        Para(f"Cells show mean ± sample standard deviation over seeds; non-finite values (NaN after a divergence, "
             f"+inf) are excluded, and a cell with fewer values than runs says how many it used (n). Statistics "
             f"that need n ≥ 2 show n/a. Comparisons: {TEST_TEXT[analysis.test]} between every pair of variants, "
             f"Holm-corrected within each data set and metric, level α = {analysis.level:g}; effect size "
             f"{EFFECT_TEXT[analysis.test]}. A variant is bold only when it is significantly better than every "
             "other variant; otherwise nothing is marked (ties). Confidence intervals: 95% percentile bootstrap of "
             f"the mean ({stats.BOOTSTRAP_RESAMPLES} resamples, seed {stats.BOOTSTRAP_SEED})."),
        Para("Verdict thresholds: " + ", ".join(f"{k}={v:g}" for k, v in th.to_dict().items())
             + " (definitions in docs/REPORTS.md)."),
    ]
    if skipped:
        blocks += [Heading("Skipped or incomplete inputs", 2), Items(list(skipped))]
    for ds in analysis.datasets:
        blocks += dataset_blocks(ds, analysis, figures.get(ds.name, []))
    return blocks


# ----------------------------------------------------------------------------- LaTeX
def tex_results(ds: DatasetResult, analysis: Analysis) -> str:
    arrows = {True: r"$\uparrow$", False: r"$\downarrow$"}
    header = ["Variant", "$n$"] + [f"{tex_escape(m)} {arrows[higher_is_better(m)]}" for m in ds.metrics]
    rows = []
    for v in ds.variants:
        row = [tex_escape(v), tex_escape(_runs_cell(ds, analysis, v))]
        for m in ds.metrics:
            s = ds.cells[(v, m)]
            text = fmt.mean_std(s.mean, s.std, " $\\pm$ ")
            text = f"\\textbf{{{text}}}" if ds.best[m] == v else text
            if s.n < s.n_total:
                text += f" {{\\scriptsize($n$={s.n})}}"
            row.append(text)
        rows.append(row)
    budget = {k.split(".", 1)[1]: v for k, v in ds.common_protocol.items() if k.startswith("budget.")}
    fields, versions = protocol_text(ds)
    fields = "; ".join(f for f in fields.split("; ") if not f.startswith("budget."))
    caption = (f"{tex_escape(ds.name)}: mean $\\pm$ std over seeds {tex_escape(', '.join(map(str, ds.seeds)))} "
               f"($n$: runs per variant; a cell that used fewer finite values gives its own $n$). ")
    if budget:
        caption += "Budget: " + tex_escape(", ".join(f"{k}={_value(v)}" for k, v in budget.items()))
        caption += (f" (D steps per G step: {tex_escape(n_dis_text(ds))}). " if n_dis_text(ds) else ". ")
    caption += f"Protocol: {tex_escape(fields)}; metric versions: {tex_escape(versions)}. "
    caption += (f"Bold: significantly better than every other variant ({TEST_SHORT[analysis.test]}, "
                f"Holm-corrected over the pairs of variants per metric, $\\alpha={analysis.level:g}$). "
                "$\\uparrow$/$\\downarrow$: higher/lower is better.")
    note = reachability_note(ds, analysis)
    if note:
        caption += " " + tex_escape(note.replace(" (expected with so few seeds)", ""))
    label = "tab:" + "".join(ch if ch.isalnum() else "-" for ch in ds.name)
    return tex_table(header, rows, caption, label, "lr" + "c" * len(ds.metrics))


def tex_file(analysis: Analysis) -> str:
    head = ("% gan-harness report tables; needs \\usepackage{booktabs}. Same runs in => same bytes out.\n")
    return head + "\n\n".join(tex_results(ds, analysis) for ds in analysis.datasets) + "\n"


# ----------------------------------------------------------------------------- CSV
RESULTS_COLUMNS = ["dataset", "variant", "seed", "status", "verdict", "verdict_step", "verdict_flags",
                   "verdict_reason", "metric", "value", "higher_is_better", "protocol_id", "curve_best",
                   "curve_best_step", "curve_final", "curve_final_step", "curve_gap", "curve_auc",
                   "curve_auc_per_step", "target", "steps_to_target"]


def results_csv(analysis: Analysis) -> str:
    """Tidy: one row per run x metric, full precision (repr of each float)."""
    rows = []
    for ds in analysis.datasets:
        for v in ds.variants:
            for r in ds.runs[v]:
                vd = analysis.verdicts[r.label]
                for m in ds.metrics:
                    if m not in r.metrics:
                        continue
                    c = analysis.curves[(r.label, m)]
                    rows.append([ds.name, v, str(r.seed), str(r.status.get("status")), vd.label, fmt.exact(vd.step),
                                 ";".join(vd.flags), vd.reason, m, fmt.exact(r.metrics[m]),
                                 fmt.exact(higher_is_better(m)), ds.protocol_ids[m], fmt.exact(c.best),
                                 fmt.exact(c.best_step), fmt.exact(c.final), fmt.exact(c.final_step), fmt.exact(c.gap),
                                 fmt.exact(c.auc), fmt.exact(c.auc_per_step),
                                 fmt.exact(analysis.targets.get((r.label, m))), fmt.exact(c.steps_to_target)])
    return csv_text(RESULTS_COLUMNS, rows)


def stats_csv(analysis: Analysis) -> str:
    header = ["dataset", "variant", "metric", "higher_is_better", "n", "n_total", "mean", "std", "se", "median",
              "q1", "q3", "iqr", "ci_low", "ci_high", "best", "protocol_id"]
    rows = []
    for ds in analysis.datasets:
        for v in ds.variants:
            for m in ds.metrics:
                s = ds.cells[(v, m)]
                rows.append([ds.name, v, m, fmt.exact(higher_is_better(m)), str(s.n), str(s.n_total)]
                            + [fmt.exact(getattr(s, k)) for k in ("mean", "std", "se", "median", "q1", "q3", "iqr",
                                                                  "ci_low", "ci_high")]
                            + [fmt.exact(ds.best[m] == v), ds.protocol_ids[m]])
    return csv_text(header, rows)


def pairwise_csv(analysis: Analysis) -> str:
    header = ["dataset", "metric", "a", "b", "n_a", "n_b", "test", "statistic", "p", "p_holm", "cliffs_delta",
              "cohens_d", "significant", "better"]
    rows = []
    for ds in analysis.datasets:
        for m in ds.metrics:
            for c in ds.comparisons[m]:
                rows.append([ds.name, m, c.a, c.b, str(c.n_a), str(c.n_b), c.test, fmt.exact(c.statistic),
                             fmt.exact(c.p), fmt.exact(c.p_holm), fmt.exact(c.cliffs_delta), fmt.exact(c.cohens_d),
                             fmt.exact(c.significant), c.better or ""])
    return csv_text(header, rows)


def protocols_json(analysis: Analysis) -> str:
    """Every protocol the tables use, by id (the CSV's protocol_id column)."""
    out = {}
    for ds in analysis.datasets:
        for m in ds.metrics:
            out[ds.protocol_ids[m]] = ds.protocols[m]
    return json.dumps(out, indent=2, sort_keys=True, default=str) + "\n"
