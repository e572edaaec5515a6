"""The report's content: Markdown/HTML blocks, the LaTeX tables and the CSV files, all built from
an :class:`~harness.report.analysis.Analysis` (no file access here)."""
from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any, Sequence

from ..metrics import METRICS
from . import fmt, stats
from .analysis import X_AXES, Analysis, DatasetResult
from .collect import REAL, display_scale, higher_is_better
from .figures import FigureFile
from .names import metric_label, variant_name
from .tables import Block, Heading, Image, Items, Para, Summary, Table, csv_text
from .verdicts import LABELS

TEST_TEXT = {
    "mannwhitney": ("two-sided Mann–Whitney U test with exact p-values: SciPy's exact distribution of U when no "
                    "two values tie; with ties, the exact distribution over all C(n1+n2, n1) assignments of the "
                    f"pooled values (counted by rank sum) up to {stats.EXACT_TIES_MAX_N} pooled values, the "
                    "tie-corrected normal approximation beyond; the pairwise table names each p-value's method"),
    "welch": "two-sided Welch's t-test (unequal variances; n/a for a sample with an infinite value)",
}
TEST_SHORT = {"mannwhitney": "two-sided Mann--Whitney U, exact", "welch": "two-sided Welch's t"}
EFFECT_TEXT = {"mannwhitney": "Cliff's δ", "welch": "Cohen's d"}
SYMBOL = {"better": "▲", "worse": "▼", "tie": "=", "n/a": "–"}
NEAR_NULL = "≈ null"
WORSE_THAN_NULL = "< null"
REFERENCE_MEANING = {
    "real": "an independent real sample of the evaluation size (what a perfect generator scores at this N: "
            "each metric's floor or ceiling)",
    "null-gaussian": "a Gaussian with the data's mean and covariance (images: per-pixel mean and std)",
    "null-uniform": "uniform over the data's bounding box plus a margin",
}
NEAR_NULL_RULE = ("“≈ null” marks a trained row's cell that is not better than the best null row (the "
                  "null-* reference with the best mean on that metric) by more than their spread: the "
                  "difference of the means, in the metric's better direction, is at most the larger of the two "
                  "standard deviations. “< null” marks a cell the best null row beats by more than that spread "
                  "(or an infinite cell where the null row is finite): worse than a model that learned nothing.")


def null_mark(ds: DatasetResult, key: str, metric: str) -> str:
    """" (< null)", " (≈ null)" or "" for a trained row's cell."""
    if ds.worse_than_null.get((key, metric)):
        return f" ({WORSE_THAN_NULL})"
    return f" ({NEAR_NULL})" if ds.near_null.get((key, metric)) else ""


def arrow(metric: str) -> str:
    return "↑" if higher_is_better(metric) else "↓"


scale = display_scale


def metric_header(metric: str) -> str:
    return f"{metric}{' (%)' if scale(metric) != 1 else ''} {arrow(metric)}"


def _value(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, sort_keys=True)


def _fields_text(flat: dict[str, Any]) -> str:
    return "; ".join(f"{k}={_value(v)}" for k, v in flat.items()) or "none recorded"


def shared_fields(ds: DatasetResult, budget: bool = True) -> dict[str, Any]:
    """The protocol fields every column shares, without metric versions (and without the budget)."""
    return {k: v for k, v in ds.common_protocol.items()
            if not k.startswith("metric_versions.") and (budget or not k.startswith("budget."))}


def versions_text(ds: DatasetResult) -> str:
    return ", ".join(f"{m} v{ds.protocols[m].get(f'metric_versions.{m}', '?')}" for m in ds.metrics)


def n_dis_text(ds: DatasetResult) -> str:
    parts = [f"{k} {'/'.join(str(x) for x in xs)}" for k, xs in ds.n_dis.items() if xs]
    return ", ".join(parts)


def setting_text(ds: DatasetResult) -> str:
    """Which named hyper-parameter setting(s) the trained rows used, with each one's description."""
    from ..settings import SETTINGS

    used: dict[str, list[str]] = {}
    for k in ds.rows:
        for name in sorted({r.setting for r in ds.groups[k].runs}):
            used.setdefault(name, []).append(k)
    if not used:
        return ""
    parts = []
    for name, keys in used.items():
        if not name:
            parts.append(f"not recorded (runs that predate settings): {', '.join(keys)}")
            continue
        desc = SETTINGS.get(name).description if name in SETTINGS.names() else "not registered in this installation"
        who = "" if len(used) == 1 else f" for {', '.join(keys)}"
        parts.append(f"`{name}`{who} ({desc})")
    return "Hyper-parameter setting: " + "; ".join(parts) + "."


def row_label(ds: DatasetResult, key: str) -> str:
    return f"{key} (reference)" if ds.groups[key].reference else key


def _runs_cell(ds: DatasetResult, analysis: Analysis, key: str) -> str:
    runs = ds.groups[key].runs
    div = sum(analysis.verdicts[r.label].label == "diverged" for r in runs if r.label in analysis.verdicts)
    return f"{len(runs)}" + (f" ({div} diverged)" if div else "")


def _nan_label(ds: DatasetResult, key: str, metric: str) -> str:
    """Runs without a value are "diverged" when every one of them diverged, else "n/a"."""
    nan_runs = [r for r in ds.groups[key].runs if metric in r.metrics and math.isnan(r.metrics[metric])]
    return "diverged" if nan_runs and all(r.status.get("status") == "diverged" for r in nan_runs) else fmt.NA


def cell_text(ds: DatasetResult, key: str, metric: str) -> str:
    """A results cell in plain text (Unicode): the statistics in the metric's unit (per cent where
    declared), "(≈ null)" when the row is no better than the best null row and "(< null)" when the
    null row beats it."""
    text = fmt.cell(ds.cells[(key, metric)], scale(metric), _nan_label(ds, key, metric))
    return text + null_mark(ds, key, metric)


def cost_cells(ds: DatasetResult, key: str) -> list[str]:
    runs = ds.groups[key].runs
    walls = [r.wall_time_s for r in runs if r.wall_time_s is not None]
    wall = fmt.num(sum(walls) / len(walls)) if walls else fmt.NA
    return [fmt.span([r.g_steps for r in runs]), fmt.span([r.d_steps for r in runs]), wall]


COST_HEADER = ["G steps", "D steps", "wall time (s)"]


# ----------------------------------------------------------------------------- per data set
def results_table(ds: DatasetResult, analysis: Analysis) -> Table:
    header = ["variant", "runs"] + [metric_header(m) for m in ds.metrics] + COST_HEADER
    rows, bold = [], set()
    for i, k in enumerate(ds.all_rows):
        rows.append([row_label(ds, k), _runs_cell(ds, analysis, k)] + [cell_text(ds, k, m) for m in ds.metrics]
                    + cost_cells(ds, k))
        bold |= {(i, 2 + j) for j, m in enumerate(ds.metrics) if ds.best[m] == k}
    return Table(header, rows, bold, "lr" + "r" * (len(ds.metrics) + 3),
                 rule_before=len(ds.rows) if ds.references else None)


def _sizes_text(sizes: Sequence[tuple[int, int]]) -> str:
    per_side = sorted({n for pair in sizes for n in pair})
    return f"n = {per_side[0]}" if len(per_side) == 1 else "n = " + ", ".join(str(s) for s in per_side)


def reachability_note(ds: DatasetResult, analysis: Analysis, *, closing: bool = True) -> str | None:
    """Why no row can be marked best on some metrics (from the sizes the tests used), or None.
    `closing`: end with the remark that this is expected with so few seeds."""
    out_of_reach = [m for m in ds.metrics if not ds.reach[m].reachable]
    if not out_of_reach:
        return None
    names = ", ".join(out_of_reach)
    reach = ds.reach[out_of_reach[0]]
    if reach.m == 0:
        return (f"No significance test for {names}: tests need at least two variants with n ≥ 2 values each"
                + (" (and, for Welch's t, no infinite value)" if analysis.test == "welch" else "")
                + ", so p-values show n/a and no variant is marked best.")
    need = stats.seeds_needed(reach.m, analysis.level)
    text = (f"Significance is out of reach for {names}: with {_sizes_text(reach.sizes)} values per variant the "
            f"exact two-sided Mann–Whitney U test cannot give p below {fmt.pvalue(reach.floor)}")
    text += (f", and Holm's correction multiplies the smallest p by the {reach.m} comparisons,"
             if reach.m > 1 else ",")
    text += f" so no difference can reach α = {analysis.level:g} and no variant can be marked best"
    text += " (expected with so few seeds)." if closing else "."
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


def null_note(ds: DatasetResult) -> str | None:
    """Which null row each metric's "≈ null" compares with, and which cells are ≈ null."""
    if not any(ds.null_row.values()):
        return None
    refs = "; ".join(f"{m}: {ds.null_row[m]}" for m in ds.metrics if ds.null_row[m])
    near = [f"{k} on {m}" for k in ds.rows for m in ds.metrics
            if ds.near_null.get((k, m)) and not ds.worse_than_null.get((k, m))]
    below = [f"{k} on {m}" for k in ds.rows for m in ds.metrics if ds.worse_than_null.get((k, m))]
    text = f"Best null row per metric (what “≈ null” and “< null” compare with): {refs}."
    if below:
        text += " < null (worse than the null row): " + ", ".join(below) + "."
    if near:
        text += " ≈ null: " + ", ".join(near) + "."
    if not (near or below):
        text += " Every trained cell is better than the null rows by more than its spread."
    return text


def reference_note(ds: DatasetResult) -> str | None:
    if not ds.references:
        return None
    names = [ds.groups[k].variant for k in ds.references]
    meaning = "; ".join(f"{n} = {REFERENCE_MEANING.get(n, 'a reference pseudo-run')}" for n in names)
    return (f"Reference rows (below the rule, marked “(reference)”): {meaning}. They are measured by the same "
            "evaluator as the runs (checked: the evaluator's settings and the metric versions; they have no budget "
            "or latent bank), take part in no test and are never best.")


def _code(text: str) -> str:
    return f"`{text}`"


def data_note(ds: DatasetResult, code=_code) -> str | None:
    """What the data set's numbers can be compared with: images built from scikit-learn's 8x8 digits
    are not (Stacked-)MNIST; the `real` row gives each metric's floor at the evaluation N. `code`
    marks names up (Markdown code spans; plain for LaTeX)."""
    runs = [r for k in ds.all_rows for r in ds.groups[k].runs]
    parts = []
    digits = [r for r in runs if r.data_shape is not None and len(r.data_shape) == 3
              and ("load_digits" in r.data_source or "scikit-learn" in r.data_source)]
    if digits:
        data = (digits[0].manifest or {}).get("dataset") or {}
        stacked = bool(data.get("stacked_channels"))
        images = f"{data['n_images']:,} " if isinstance(data.get("n_images"), int) else ""
        parts.append(f"{code(ds.name)} is built from the {images}8×8 scikit-learn digits (load_digits)"
                     + (f", {data['stacked_channels']} stacked per image" if stacked else "")
                     + ", and its modes are read by a small classifier trained on those digits: its numbers "
                     f"are not comparable to published {'Stacked-MNIST' if stacked else 'MNIST'} numbers "
                     "(28×28 MNIST digits, other classifiers).")
    real = [k for k in ds.references if ds.groups[k].variant == REAL]
    if real:
        n_eval = ds.reference_protocols.get(ds.metrics[0], {}).get("evaluator.n_eval") if ds.metrics else None
        at = f" (N = {n_eval})" if n_eval is not None else ""
        text = (f"The {code(REAL)} row is an independent real sample of the evaluation size{at}: no generator can be "
                "expected to beat it at this N")
        kl = "reverse_kl"
        if kl in ds.metrics and ds.cells[(real[0], kl)].n:
            text += f"; its reverse_kl, {fmt.cell(ds.cells[(real[0], kl)])}, is that metric's floor at this N"
        parts.append(text + ".")
    return " ".join(parts) or None


def grid_table(ds: DatasetResult) -> Table:
    g0 = ds.grid_summary[0]
    main, quality = g0.main, g0.quality

    def val(x: float, m: str | None) -> str:
        return fmt.num(x * scale(m)) if m else fmt.NA

    header = ["variant", "points", "best point", f"{main} at best {arrow(main)}"]
    header += [f"{quality} at best {arrow(quality)}"] if quality else []
    header += [f"median {main} over points"] + ([f"median {quality} over points"] if quality else [])
    rows = []
    for g in ds.grid_summary:
        row = [g.variant, str(len(g.rows)), f"`{g.best_point}`", val(g.best_main, main)]
        row += [val(g.best_quality, quality)] if quality else []
        row += [val(g.median_main, main)] + ([val(g.median_quality, quality)] if quality else [])
        rows.append(row)
    return Table(header, rows, set(), "lrl" + "r" * (len(header) - 3))


def significance_matrix(ds: DatasetResult) -> Table:
    lookup = {}
    for m in ds.metrics:
        for c in ds.comparisons[m]:
            lookup[(m, c.a, c.b)] = lookup[(m, c.b, c.a)] = c
    rows = []
    for a in ds.rows:
        row = [a]
        for b in ds.rows:
            if a == b:
                row.append("·")
                continue
            row.append(" ".join(SYMBOL[stats.outcome(lookup[(m, a, b)], a)] for m in ds.metrics))
        rows.append(row)
    return Table(["row vs column"] + ds.rows, rows, set(), "l" + "c" * len(ds.rows))


def _count_text(s: stats.Summary) -> str:
    text = f"{s.n}/{s.n_total}"
    extra = [f"{s.n_inf} ∞"] * bool(s.n_inf) + [f"{s.n_nan} NaN"] * bool(s.n_nan)
    return text + (f" ({', '.join(extra)})" if extra else "")


def per_seed_text(ds: DatasetResult, key: str, metric: str) -> str:
    runs = [r for r in ds.groups[key].runs if metric in r.metrics]
    return "; ".join(f"{r.seed}: {fmt.num(r.metrics[metric] * scale(metric))}" for r in runs) or fmt.NA


def stats_table(ds: DatasetResult) -> Table:
    header = ["variant", "metric", "n finite", "mean", "std", "se", "median", "IQR", "95% CI (t, unadjusted, clipped)",
              "values (seed: value)"]
    rows = []
    for k in ds.all_rows:
        for m in ds.metrics:
            s, f = ds.cells[(k, m)], scale(m)
            d = fmt.decimals(s.mean * f)
            ci = fmt.NA if math.isnan(s.ci_low) else f"[{fmt.num(s.ci_low * f, d)}, {fmt.num(s.ci_high * f, d)}]"
            rows.append([row_label(ds, k), m + (" (%)" if f != 1 else ""), _count_text(s), fmt.num(s.mean * f, d),
                         fmt.num(s.std * f, d), fmt.num(s.se * f, d), fmt.num(s.median * f, d),
                         fmt.num(s.iqr * f, d), ci, per_seed_text(ds, k, m)])
    return Table(header, rows, set(), "ll" + "r" * 7 + "l",
                 rule_before=len(ds.rows) * len(ds.metrics) if ds.references else None)


def pairwise_table(ds: DatasetResult, analysis: Analysis) -> Table:
    header = ["metric", "A", "B", "n A", "n B", "method", "p", "p (Holm)", EFFECT_TEXT[analysis.test] + " (A vs B)",
              "result"]
    rows = []
    for m in ds.metrics:
        for c in ds.comparisons[m]:
            result = {"tie": "tie", "n/a": fmt.NA}.get(stats.outcome(c, c.a), f"{c.better} better")
            rows.append([m, c.a, c.b, str(c.n_a), str(c.n_b), c.method, fmt.pvalue(c.p), fmt.pvalue(c.p_holm),
                         fmt.effect(c.effect), result])
    return Table(header, rows, set(), "lll" + "rr" + "l" + "rrr" + "l")


def verdict_table(ds: DatasetResult, analysis: Analysis) -> Table:
    counts = {k: Counter(analysis.verdicts[r.label].label for r in ds.groups[k].runs) for k in ds.rows}
    labels = [lb for lb in LABELS if lb != "unknown" or any(c["unknown"] for c in counts.values())]
    labels += sorted({lb for c in counts.values() for lb in c} - set(labels))
    rows = []
    for k in ds.rows:
        n = len(ds.groups[k].runs)
        rows.append([k] + [f"{counts[k][lb]}/{n}" for lb in labels])
    return Table(["variant"] + labels, rows, set(), "l" + "r" * len(labels))


def verdict_items(ds: DatasetResult, analysis: Analysis) -> list[str]:
    items = []
    for k in ds.rows:
        for r in ds.groups[k].runs:
            vd = analysis.verdicts[r.label]
            if vd.label == "stable":
                continue
            where = f" at step {vd.step}" if vd.step is not None else ""
            also = [f for f in vd.flags if f != vd.label]
            text = f"`{r.label}`: {vd.label}{where}: {vd.reason}"
            items.append(text + (f" (also {', '.join(also)})" if also else ""))
    return items


def curve_table(ds: DatasetResult, analysis: Analysis) -> Table | None:
    m = ds.main_metric
    if not m or not ds.rows:
        return None
    f = scale(m)
    rows = []
    for k in ds.rows:
        cs = [analysis.curves[(r.label, m)] for r in ds.groups[k].runs]

        def cell(attr: str, factor: float = f) -> str:
            return fmt.cell(stats.describe([getattr(c, attr) * factor for c in cs]))

        has_target = any(analysis.targets.get((r.label, m)) is not None for r in ds.groups[k].runs)
        target = fmt.median_steps([c.steps_to_target for c in cs]) if has_target else fmt.NA
        rows.append([k, cell("best"), cell("final"), cell("gap"), cell("auc_per_step"), target])
    unit = " (%)" if f != 1 else ""
    header = ["variant", f"best {m}{unit}", f"final {m}{unit}", "best−final gap", "area / steps",
              "steps to target (median over all runs)"]
    return Table(header, rows, set(), "l" + "r" * 5)


def _target_text(ds: DatasetResult, analysis: Analysis) -> str:
    m = ds.main_metric
    labels = {r.label for r in ds.trained_runs}
    targets = sorted({t for (label, mm), t in analysis.targets.items() if mm == m and label in labels})
    if not targets:
        return "no target"
    return f"target {m} {'≥' if higher_is_better(m) else '≤'} {', '.join(fmt.num(t) for t in targets)}"


def grid_blocks(ds: DatasetResult) -> list[Block]:
    if not ds.grid_summary:
        return []
    g0 = ds.grid_summary[0]
    then = f" (then of {g0.quality})" if g0.quality else ""
    return [Heading("Each variant over its grid (best point and median over points)", 3),
            Para(f"As in Lucic et al. (2018), “Are GANs Created Equal?”: per variant, the grid point with the best "
                 f"mean {g0.main}{then} over seeds, with its settings, and the median over the variant's points of "
                 "each point's mean. The best point is the variant after tuning on these very runs (chosen and "
                 "scored on the same seeds, so optimistic); the median is what the variant gives untuned. Compare "
                 "variants column by column, never one's best point with another's median."),
            grid_table(ds)]


def dataset_blocks(ds: DatasetResult, analysis: Analysis, figures: Sequence[FigureFile]) -> list[Block]:
    seeds = ", ".join(str(s) for s in ds.seeds)
    head = (f"Seeds: {seeds}. Protocol shared by every value of the trained rows: {_fields_text(shared_fields(ds))}. "
            f"Metric versions: {versions_text(ds)}.")
    if n_dis_text(ds):
        head += f" D steps per G step: {n_dis_text(ds)}."
    if setting_text(ds):
        head += " " + setting_text(ds)
    from .setup import dataset_text

    blocks: list[Block] = [Heading(f"Data set `{ds.name}`", 2, anchor=tables_slug(ds.name)), Para(head),
                           Para("Data: " + dataset_text(ds))]
    blocks += [Para(t) for t in (reference_note(ds), data_note(ds)) if t]
    blocks += [Heading("Results (mean ± std over seeds; cost per run)", 3), results_table(ds, analysis),
               Para(best_note(ds))]
    blocks += [Para(t) for t in (reachability_note(ds, analysis), null_note(ds)) if t]
    blocks += grid_blocks(ds)
    if ds.rows and not any(ds.reach[m].reachable for m in ds.metrics) and len(ds.rows) > 1:
        blocks += difference_blocks(ds, analysis)
    elif ds.rows:
        blocks += [
            Heading("Significance matrix", 3),
            Para("Each cell lists, for the metrics in the order " + ", ".join(ds.metrics) + ", whether the row "
                 "variant is significantly better (▲), worse (▼), tied (=) or untestable (–) against the column "
                 f"variant (Holm-adjusted p < {analysis.level:g})."),
            significance_matrix(ds),
            Heading("Stability verdicts", 3),
            verdict_table(ds, analysis),
        ]
        items = verdict_items(ds, analysis)
        if items:
            blocks.append(Items(items))
    table = curve_table(ds, analysis)
    if table is not None:
        blocks += [Heading(f"Curves of the main metric ({ds.main_metric}, over seeds)", 3),
                   Para("In G steps. Gap: how much worse the final value is than the best one during training "
                        "(infinite when the run ended infinite); area / steps: the curve's average value; steps to "
                        "target: first evaluation that reached it, median over all runs with a run that never did "
                        f"counting as never ({_target_text(ds, analysis)})."),
                   table]
    blocks += [Heading("Statistics per variant and metric", 3), stats_table(ds)]
    if ds.rows:
        blocks += [Heading("Pairwise comparisons", 3), pairwise_table(ds, analysis)]
    if figures:
        blocks.append(Heading("Figures", 3))
        for f in figures:
            blocks += [Para(f.caption), Image(f"figures/{f.stem}.png", f.caption, f.png)]
    return blocks


def tables_slug(name: str) -> str:
    from .tables import slug

    return slug(name)


def difference_blocks(ds: DatasetResult, analysis: Analysis) -> list[Block]:
    """Where no test can reach significance: each variant against the baseline row (NS-GAN where
    present), mean difference with its 95 % Welch interval, Cliff's δ and the Holm-adjusted p."""
    from .differences import baseline_row, difference_rows, difference_text

    base = baseline_row(ds)
    rows = [[metric_label(m), variant_name(k), difference_text(d, scale(m)), fmt.effect(d.cliffs_delta),
             fmt.pvalue(c.p_holm) if c else fmt.NA] for m, k, d, c in difference_rows(ds, analysis)]
    return [Heading(f"Differences to {variant_name(base)}", 3),
            Para(f"No test can reach α = {analysis.level:g} with these seeds, so instead of a matrix of ties: each "
                 f"variant minus {variant_name(base)} (`{base}`), mean difference with its {stats.CONFIDENCE:.0%} "
                 "Welch interval (unadjusted for the number of comparisons, so an interval that excludes 0 is "
                 "not a finding: only the Holm-adjusted p is; clipped to the differences the metric can take; "
                 "per cent metrics in percentage points; n/a with an infinite value on either "
                 "side), Cliff's δ (positive: the variant's values are larger; infinite values ranked) and the "
                 "Holm-adjusted p of the rank test."),
            Table(["metric", "variant", f"difference to {variant_name(base)} [95% CI, unadjusted]", "Cliff's δ",
                   "p (Holm)"],
                  rows, set(), "llrrr")]


def protocol_blocks(analysis: Analysis) -> list[Block]:
    """One configuration table for the report (a column per variant; a value that differs between data
    sets is given per data set) and the environment the trained runs ran in."""
    from .setup import config_table, environment_rows

    trained = [r for ds in analysis.datasets for k in ds.rows for r in ds.groups[k].runs]
    if not trained:
        return []
    header, rows = config_table(analysis)
    return [Heading("Configuration of each variant", 2, anchor="configuration"),
            Para("From each run's spec.json (a field that differs between a row's runs shows every value); "
                 "parameters: trainable parameters of the networks that config builds; wall time from summary.json."),
            Table(header, rows, set(), "l" * len(header)),
            Heading("Environment", 2, anchor="environment"),
            Para("From the runs' manifest.json (a field that differs between runs lists each value with its count)."),
            Table(["field", "value"], environment_rows(trained), set(), "ll")]


# ----------------------------------------------------------------------------- findings
FAILURES = tuple(lb for lb in LABELS if lb not in ("stable", "not-judged"))


def _share(n: int, total: int) -> str:
    return f"{n} of {total} seed{'s' if total != 1 else ''}"


def _plain(x: float) -> str:
    return f"{x:g}"


def _range(values: Sequence[float]) -> str:
    """"3" or "2.7–3" (the runs' values, lowest to highest)."""
    vals = sorted(v for v in values if not math.isnan(v))
    if not vals:
        return fmt.NA
    return _plain(vals[0]) if vals[0] == vals[-1] else f"{_plain(vals[0])}–{_plain(vals[-1])}"


def _regime_text(ds: DatasetResult) -> str:
    """The data set's regime (setting names) and budget (G steps, batch size, seeds) in one sentence."""
    rg = ds.regime
    if not rg.settings:
        regime = "no trained runs"
    elif len(rg.settings) == 1:
        name = next(iter(rg.settings))
        regime = f"setting {name}" if name else "setting not recorded"
    else:
        regime = "settings " + "; ".join(f"{name or 'not recorded'} ({', '.join(map(variant_name, keys))})"
                                         for name, keys in rg.settings.items())
    steps = fmt.span(rg.steps)
    per = fmt.span(list(rg.per_row))
    text = (f"{ds.name}: {regime}; budget {steps} G steps per run at batch size {' / '.join(rg.batches) or fmt.NA}, "
            f"{per} seed{'s' if per != '1' else ''} per variant ({', '.join(map(str, rg.seeds))})")
    if rg.n_dis:
        text += "; D steps per G step: " + ", ".join(f"{variant_name(k)} {'/'.join(map(str, xs))}"
                                                     for k, xs in rg.n_dis.items())
    if ds.has_grid:
        text += f"; {len(ds.rows)} grid points"
    return text + "."


def _failure_detail(ds: DatasetResult, analysis: Analysis, label: str, runs: Sequence) -> str:
    """What the runs with `label` have in common: the modes left (collapsed), where and why (diverged)."""
    if label == "collapsed":
        metric = next((m for m in ds.metrics if METRICS.get(m).collapse), None)
        k = runs[0].n_modes
        if metric and k:
            return f" ({metric_label(metric)} {_range([r.metrics.get(metric, math.nan) for r in runs])} of {k})"
    if label == "diverged":
        shown = "; ".join(f"{r.label} at step {analysis.verdicts[r.label].step}: {analysis.verdicts[r.label].reason}"
                          for r in runs[:3])
        return f" ({shown}" + (f"; and {len(runs) - 3} more" if len(runs) > 3 else "") + ")"
    return ""


def _verdict_text(ds: DatasetResult, analysis: Analysis) -> str:
    """Per variant what failed, in how many seeds, and which variants were stable in every seed."""
    sentences, stable = [], []
    for k in ds.rows:
        runs = [r for r in ds.groups[k].runs if r.label in analysis.verdicts]
        if not runs:
            continue
        by_label: dict[str, list] = {}
        for r in runs:
            by_label.setdefault(analysis.verdicts[r.label].label, []).append(r)
        if set(by_label) == {"stable"}:
            stable.append(variant_name(k))
            continue
        parts = [f"{lb} in {_share(len(by_label[lb]), len(runs))}" + _failure_detail(ds, analysis, lb, by_label[lb])
                 for lb in FAILURES if lb in by_label]
        parts += [f"{lb} in {_share(len(by_label[lb]), len(runs))}" for lb in ("stable", "not-judged")
                  if lb in by_label]
        sentences.append(f"{variant_name(k)}: " + ", ".join(parts) + ".")
    if stable:
        sentences.append(f"Stable in every seed: {', '.join(stable)}.")
    elif ds.rows:
        sentences.append("No variant was stable in every seed.")
    return f"{ds.name} verdicts: " + " ".join(sentences)


def _mean_text(ds: DatasetResult, key: str, metric: str) -> str:
    """The row's mean (in the metric's display unit); runs that are infinite or have no value are
    counted apart: "2.85 (4/5 runs; 1 diverged)", "∞ (3/3 runs)"."""
    s = ds.cells[(key, metric)]
    if s.n == s.n_total:
        return fmt.num(s.mean * scale(metric))
    inf = sum(math.isinf(v) for v in s.values)
    apart = [f"{inf} {fmt.INF}"] * bool(inf) + [f"{s.n_nan} {_nan_label(ds, key, metric)}"] * bool(s.n_nan)
    if not s.n:
        return " and ".join(apart)
    return f"{fmt.num(s.mean * scale(metric))} ({s.n}/{s.n_total} runs; {', '.join(apart)})"


def _metric_text(ds: DatasetResult, metric: str) -> str:
    """Each trained row's mean of `metric` against the real sample and the best null row."""
    unit = " (%)" if scale(metric) != 1 else ""
    rows = ", ".join(f"{variant_name(k)} {_mean_text(ds, k, metric)}"
                     + null_mark(ds, k, metric) for k in ds.rows)
    refs = [f"real sample {_mean_text(ds, k, metric)}" for k in ds.references if ds.groups[k].variant == REAL]
    if ds.null_row.get(metric):
        null = ds.null_row[metric]
        refs.append(f"best null row, {variant_name(ds.groups[null].variant)}, {_mean_text(ds, null, metric)}")
    return (f"{ds.name}, {metric_label(metric)}{unit} {arrow(metric)}, mean over seeds: {rows}"
            + (f" ({'; '.join(refs)})" if refs else "") + ".")


def _significance_text(ds: DatasetResult, analysis: Analysis) -> str:
    """What the tests mark significant (best rows, differences of the main metric), and what the seeds
    cannot reach; nothing is called a difference that the tests do not mark."""
    best = [f"{variant_name(ds.best[m])} on {metric_label(m)}" for m in ds.metrics if ds.best[m]]
    text = f"{ds.name} significance: " + (("significantly best: " + "; ".join(best) + ".") if best
                                          else "no variant is significantly better than every other on any metric.")
    main = ds.main_metric
    if main in ds.metrics and ds.reach[main].reachable:
        sig = [c for c in ds.comparisons[main] if c.significant and c.better]
        level = f"Holm-adjusted p < {analysis.level:g}"
        if sig:
            text += (f" Significant differences on {metric_label(main)} ({level}): "
                     + ", ".join(f"{variant_name(c.better)} better than "
                                 f"{variant_name(c.b if c.better == c.a else c.a)}" for c in sig) + ".")
        else:
            text += f" No difference on {metric_label(main)} is significant ({level})."
    out = [m for m in ds.metrics if not ds.reach[m].reachable]
    if out and ds.rows:
        reach = ds.reach[out[0]]
        need = stats.seeds_needed(reach.m, analysis.level) if reach.m else None
        text += (f" Significance is out of reach on {', '.join(metric_label(m) for m in out)} with "
                 f"{_sizes_text(reach.sizes) if reach.sizes else 'these'} seeds"
                 + (f" (needs ≥ {need} per variant)" if need else "") + "; see the differences to the baseline.")
    return text


#: verdicts that say a run failed outright (not merely that it was still moving at the end)
HARD_FAILURES = ("diverged", "collapsed", "underfit", "vanishing-G-gradient")


def _of_n(ds: DatasetResult, metric: str) -> str:
    return f" of {ds.n_modes}" if ds.n_modes and METRICS.get(metric).target == "n_modes" else ""


def headline_text(ds: DatasetResult, analysis: Analysis) -> str:
    """One sentence a reader can quote: the regime, the best variant on the main metric (significantly
    best, or only the highest mean: said so) and the failing ones, each with its numbers. A variant
    fails when its main metric is no better than the best null row, or when most of its seeds end
    in a hard failure (HARD_FAILURES), or when its mean coverage of a mode-counted data set is at most
    the collapse verdict's fraction of the modes (`collapse_fraction`, 0.5)."""
    main = ds.main_metric
    if not ds.rows or main not in ds.metrics:
        return ""
    rg = ds.regime
    head = (f"{ds.name} ({', '.join(n or 'no setting' for n in rg.settings)}; {fmt.span(rg.steps)} G steps; "
            f"{fmt.span(list(rg.per_row))} seeds per variant)")
    label = metric_label(main)

    def value(k: str) -> str:
        return f"{_mean_text(ds, k, main)}{_of_n(ds, main)} {label}"

    if ds.best.get(main):
        best = f"best: {variant_name(ds.best[main])}, {value(ds.best[main])}, significantly better than every other"
    else:
        hib = higher_is_better(main)
        top = max(ds.rows, key=lambda k: (ds.cells[(k, main)].location if hib else -ds.cells[(k, main)].location))
        best = (f"highest mean: {variant_name(top)}, {value(top)}, not significantly better than every other "
                f"variant")
    failing = []
    for k in ds.rows:
        runs = [r for r in ds.groups[k].runs if r.label in analysis.verdicts]
        hard = Counter(analysis.verdicts[r.label].label for r in runs if analysis.verdicts[r.label].label in HARD_FAILURES)
        why = []
        if ds.near_null.get((k, main)):
            why.append("no better than the best null row" if not ds.worse_than_null.get((k, main))
                       else "worse than the best null row")
        cell = ds.cells[(k, main)]
        share = analysis.thresholds.collapse_fraction
        if _of_n(ds, main) and not ds.near_null.get((k, main)) and cell.location <= share * ds.n_modes:
            why.append(f"at most {share:.0%} of the modes")
        if runs and sum(hard.values()) * 2 > len(runs):
            why.append(", ".join(f"{lb} in {_share(n, len(runs))}" for lb, n in hard.most_common()))
        if why:
            failing.append(f"{variant_name(k)} ({value(k)}; {'; '.join(why)})")
    tail = ("failing: " + ", ".join(failing)) if failing else "no variant failed outright"
    return f"{head}: {best}; {tail}."


def findings_items(analysis: Analysis, skipped: Sequence[str]) -> list[str]:
    """What was found, first, in sentences that can be quoted as they are, per data set: the regime and
    budget; which variants failed how often and how (from the verdicts), which were stable; the main
    (and quality) metric of each variant against the real sample and the best null row; and what the
    tests mark significant (only that is called a difference)."""
    items = []
    for ds in analysis.datasets:
        items.append(_regime_text(ds))
        if ds.rows:
            items.append(_verdict_text(ds, analysis))
        for m in dict.fromkeys([ds.main_metric, ds.quality_metric]):
            if m and m in ds.metrics and ds.rows:
                items.append(_metric_text(ds, m))
        if ds.rows:
            items.append(_significance_text(ds, analysis))
    if skipped:
        items.append(f"{len(skipped)} input(s) skipped or incomplete (listed below).")
    return items


def reference_items(analysis: Analysis) -> list[str]:
    """The paper and reference code of every variant and metric the report shows (Variant.reference,
    MetricInfo.reference); a variant not registered where the report is made says so."""
    from ..variant import VARIANTS

    items = []
    for v in sorted({r.variant for r in analysis.runs if not r.reference}):
        ref = VARIANTS.get(v).reference if v in VARIANTS else ""
        items.append(f"{variant_name(v)} (`{v}`): {ref or 'no reference declared by the variant'}.")
    for m in dict.fromkeys(m for ds in analysis.datasets for m in ds.metrics):
        info = METRICS.get(m)
        items.append(f"{metric_label(m)} (`{m}`): {info.reference or 'no reference declared'}.")
    return items


def run_verdict_table(analysis: Analysis) -> Table:
    """One row per trained run: variant (row), data set, seed, verdict label, step, reason (with the
    other conditions that hold)."""
    rows = []
    for ds in analysis.datasets:
        for k in ds.rows:
            for r in ds.groups[k].runs:
                vd = analysis.verdicts.get(r.label)
                if vd is None:
                    continue
                also = [f for f in vd.flags if f != vd.label]
                rows.append([k, ds.name, str(r.seed), vd.label, "–" if vd.step is None else str(vd.step),
                             vd.reason + (f" (also {', '.join(also)})" if also else "")])
    return Table(["variant", "data set", "seed", "verdict", "step", "reason"], rows, set(), "llrlrl")


def rules_text(analysis: Analysis) -> list[str]:
    """The paragraphs that state how every number of the report is made."""
    paras = [
        "Cells show mean ± sample standard deviation over seeds. An infinite value (reverse_kl when no sample is "
        "high quality) is the worst possible outcome: a cell says how many runs were infinite and describes the "
        "finite ones apart (“∞ in 2/3; 2.08 in 1/3”), and the median, the rank test, “best” and the curve "
        "statistics keep it as the worst value. A run without a value (NaN, e.g. it diverged before any "
        "evaluation) is shown as such (“diverged in 1/5”) and never averaged in. Metrics marked (%) are shown "
        "in per cent (the CSV files keep the stored fractions). Statistics that need n ≥ 2 show n/a.",
        f"Comparisons, between the trained rows only: {TEST_TEXT[analysis.test]}; Holm-corrected within each data "
        f"set and metric, level α = {analysis.level:g}; effect size {EFFECT_TEXT[analysis.test]}. A variant is "
        "bold only when it is significantly better than every other variant; otherwise nothing is marked (ties). "
        f"Confidence intervals: Student t interval of the mean ({stats.CONFIDENCE:.0%}). Each statistic sits next "
        "to the per-seed values it comes from (statistics table, results.csv, stats.csv).",
        "Cost per row: G steps and D steps trained per run (a range when the runs differ, e.g. one diverged early) "
        f"and the mean wall time per run in seconds. Curves are drawn against {X_AXES[analysis.x_axis]}.",
    ]
    if any(ds.references for ds in analysis.datasets):
        paras.append("Reference rows (real, null-gaussian, null-uniform), below the trained rows and marked "
                     "“(reference)”, take part in no test and are never best. " + NEAR_NULL_RULE)
    th = analysis.thresholds
    paras.append("Verdict thresholds: " + ", ".join(f"{k}={v:g}" for k, v in th.to_dict().items())
                 + " (definitions in [METHODS.md](METHODS.md)).")
    return paras


def report_blocks(analysis: Analysis, figures: dict[str, list[FigureFile]], title: str,
                  skipped: Sequence[str]) -> list[Block]:
    trained = [r for r in analysis.runs if not r.reference]
    variants = sorted({r.variant for r in trained})
    n_refs = len(analysis.runs) - len(trained)
    blocks: list[Block] = [Heading(title, 1)]
    headlines = [t for t in (headline_text(ds, analysis) for ds in analysis.datasets) if t]
    if headlines:  # what was found comes first (issue 20)
        blocks.append(Para(" ".join(headlines)))
    dirty_runs = [r for r in trained if r.commit.endswith("-dirty")]
    dirty = sorted({r.commit for r in dirty_runs})
    if dirty:
        n = len(dirty_runs)
        blocks.append(Para(f"**Provenance: {n} of {len(trained)} runs were made from a working tree with uncommitted "
                           f"changes** (code commit{'s' if len(dirty) > 1 else ''} {', '.join(dirty)}): their code is "
                           f"{'those commits' if len(dirty) > 1 else 'that commit'} plus changes no commit records."))
    blocks.append(Para(f"{len(trained)} runs" + (f" and {n_refs} reference runs" if n_refs else "")
                       + f": {len(analysis.datasets)} data set(s) ({', '.join(d.name for d in analysis.datasets)}), "
                       f"{len(variants)} variant(s) ({', '.join(variants)})."))
    blocks.append(Summary("Findings", findings_items(analysis, skipped)))
    if analysis.verdicts:
        blocks += [Heading("Verdict of every run", 2, anchor="run-verdicts"),
                   Para("One row per trained run: the verdict (the first condition that holds, in the order of "
                        "[METHODS.md](METHODS.md); `stable` only when every check could be judged), the step where "
                        "it began (– for a state) and the reason; other conditions that hold are listed as “also”."),
                   run_verdict_table(analysis)]
    blocks += [Heading("How the numbers are made", 2, anchor="methods")] + [Para(t) for t in rules_text(analysis)]
    blocks += [Heading("References", 2, anchor="references"),
               Para("Where each variant's defaults and each metric's definition come from."),
               Items(reference_items(analysis))]
    if skipped:
        blocks += [Heading("Skipped or incomplete inputs", 2), Items(list(skipped))]
    for ds in analysis.datasets:
        blocks += dataset_blocks(ds, analysis, figures.get(ds.name, []))
    return blocks + protocol_blocks(analysis)


# ----------------------------------------------------------------------------- CSV
RESULTS_COLUMNS = ["dataset", "variant", "setting", "point", "grid", "reference", "seed", "status", "verdict", "verdict_step",
                   "verdict_flags", "verdict_reason", "metric", "value", "higher_is_better", "protocol_id", "g_steps",
                   "d_steps", "wall_time_s", "curve_best", "curve_best_step", "curve_final", "curve_final_step",
                   "curve_gap", "curve_auc", "curve_auc_per_step", "target", "steps_to_target"]


def _protocol_id(ds: DatasetResult, key: str, metric: str) -> str:
    return ds.reference_protocol_ids[metric] if ds.groups[key].reference else ds.protocol_ids[metric]


def results_csv(analysis: Analysis) -> str:
    """Tidy: one row per run x metric, full precision (repr of each float); reference rows have no
    verdict and no curve (empty fields)."""
    rows = []
    for ds in analysis.datasets:
        for k in ds.all_rows:
            g = ds.groups[k]
            for r in g.runs:
                vd = analysis.verdicts.get(r.label)
                for m in ds.metrics:
                    if m not in r.metrics:
                        continue
                    c = analysis.curves.get((r.label, m))
                    curve = ([fmt.exact(c.best), fmt.exact(c.best_step), fmt.exact(c.final), fmt.exact(c.final_step),
                              fmt.exact(c.gap), fmt.exact(c.auc), fmt.exact(c.auc_per_step)] if c else [""] * 7)
                    rows.append([ds.name, g.variant, r.setting, g.point, json.dumps(g.grid, sort_keys=True),
                                 fmt.exact(g.reference), str(r.seed), str(r.status.get("status")),
                                 vd.label if vd else "", fmt.exact(vd.step) if vd else "",
                                 ";".join(vd.flags) if vd else "", vd.reason if vd else "", m,
                                 fmt.exact(r.metrics[m]), fmt.exact(higher_is_better(m)), _protocol_id(ds, k, m),
                                 fmt.exact(r.g_steps), fmt.exact(r.d_steps), fmt.exact(r.wall_time_s)] + curve
                                + [fmt.exact(analysis.targets.get((r.label, m))),
                                   fmt.exact(c.steps_to_target) if c else ""])
    return csv_text(RESULTS_COLUMNS, rows)


def stats_csv(analysis: Analysis) -> str:
    """One row per data set x row x metric: the statistics, the "≈ null" marking, the cost and the
    per-seed values they come from (seeds and values, ";"-separated, in the same order)."""
    header = ["dataset", "variant", "point", "reference", "metric", "higher_is_better", "n", "n_inf", "n_nan",
              "n_total", "mean", "std", "se", "median", "q1", "q3", "iqr", "ci_low", "ci_high", "location", "best",
              "near_null", "worse_than_null", "null_row", "g_steps_mean", "d_steps_mean", "wall_time_s_mean", "seeds", "values",
              "protocol_id"]
    rows = []
    for ds in analysis.datasets:
        for k in ds.all_rows:
            g = ds.groups[k]
            cost = []
            for attr in ("g_steps", "d_steps", "wall_time_s"):
                known = [getattr(r, attr) for r in g.runs if getattr(r, attr) is not None]
                cost.append(fmt.exact(float(sum(known)) / len(known)) if known else "")
            for m in ds.metrics:
                s = ds.cells[(k, m)]
                mine = [r for r in g.runs if m in r.metrics]
                rows.append([ds.name, g.variant, g.point, fmt.exact(g.reference), m, fmt.exact(higher_is_better(m)),
                             str(s.n), str(s.n_inf), str(s.n_nan), str(s.n_total)]
                            + [fmt.exact(getattr(s, a)) for a in ("mean", "std", "se", "median", "q1", "q3", "iqr",
                                                                  "ci_low", "ci_high", "location")]
                            + [fmt.exact(ds.best[m] == k), fmt.exact(ds.near_null.get((k, m), False)),
                               fmt.exact(ds.worse_than_null.get((k, m), False)),
                               "" if g.reference else (ds.null_row[m] or "")] + cost
                            + [";".join(str(r.seed) for r in mine), ";".join(fmt.exact(r.metrics[m]) for r in mine),
                               _protocol_id(ds, k, m)])
    return csv_text(header, rows)


def pairwise_csv(analysis: Analysis) -> str:
    header = ["dataset", "metric", "a", "b", "n_a", "n_b", "test", "method", "statistic", "p", "p_holm",
              "cliffs_delta", "cohens_d", "significant", "better"]
    rows = []
    for ds in analysis.datasets:
        for m in ds.metrics:
            for c in ds.comparisons[m]:
                rows.append([ds.name, m, c.a, c.b, str(c.n_a), str(c.n_b), c.test, c.method, fmt.exact(c.statistic),
                             fmt.exact(c.p), fmt.exact(c.p_holm), fmt.exact(c.cliffs_delta), fmt.exact(c.cohens_d),
                             fmt.exact(c.significant), c.better or ""])
    return csv_text(header, rows)


def protocols_json(analysis: Analysis) -> str:
    """Every protocol the tables use, by id (the CSV's protocol_id column)."""
    out = {}
    for ds in analysis.datasets:
        for m in ds.metrics:
            out[ds.protocol_ids[m]] = ds.protocols[m]
            if ds.reference_protocol_ids.get(m):
                out[ds.reference_protocol_ids[m]] = ds.reference_protocols[m]
    return json.dumps(out, indent=2, sort_keys=True, default=str) + "\n"
