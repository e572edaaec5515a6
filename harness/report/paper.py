"""LaTeX tables for a paper: a compact main table per data set (table.tex) and the appendix
(table-appendix.tex) with everything else: full statistics, differences to a named baseline,
the pairwise tests, each variant's configuration and the environment.

The main table shows the headline metrics only (the ``headline`` role of the metric registry),
display names, right-aligned numbers with one number of decimals per column, arrows for the
better direction and a caption of a few words; what a cell cannot say in "mean ± std" is a
footnote mark explained under the table, never "± n/a". Its width is estimated from the text
(:func:`estimate_width_pt`): a table wider than a column of a two-column page is set as
``table*`` (the page width).
"""
from __future__ import annotations

import math
from typing import Sequence

from . import fmt, stats
from .analysis import Analysis, DatasetResult
from .collect import display_scale, higher_is_better
from .names import headline_metrics, metric_label, metric_symbol, metric_unit, variant_name
from .differences import baseline_row, difference_rows, difference_text
from .tables import tex_escape

COLUMN_PT, PAGE_PT = 241.0, 505.0  # column and text width of a two-column article (e.g. IEEEtran, ICML)
# footnote marks of the main table, in the order the notes list them
MARKS = {
    "single": ("\\dagger", "a single run: no spread"),
    "inf": ("\\infty", "some runs scored $\\infty$ (no high-quality sample); mean $\\pm$ std of the finite ones"),
    "nan": ("\\ddagger", "some runs have no value (diverged); mean $\\pm$ std of the others"),
    "null": ("\\circ", "no better than the best null reference row (difference of means within one std)"),
    "below": ("\\bullet", "worse than the best null reference row (by more than one std)"),
}


def column_decimals(values: Sequence[float]) -> int:
    """One number of decimals for a whole column: three significant digits of the median magnitude
    of its finite values, 0 to 4."""
    finite = sorted(abs(v) for v in values if v is not None and math.isfinite(v))
    if not finite:
        return 2
    return max(0, min(4, fmt.decimals(finite[len(finite) // 2])))


def _mark(key: str) -> str:
    return f"$^{{{MARKS[key][0]}}}$"


def main_cell(s: stats.Summary, scale: float, d: int) -> tuple[str, list[str]]:
    """(LaTeX cell, note keys) of a main-table cell: "mean ± std" at `d` decimals, the std in a
    smaller size; one value alone with a mark; "$\\infty$" when the median run is infinite."""
    if s.n_total == 0 or (s.n == 0 and s.n_inf == 0):
        return "--", (["nan"] if s.n_nan else [])
    if s.n_inf and (s.n_inf * 2 >= s.n + s.n_inf or s.n == 0):
        text = "$\\infty$" if all(v > 0 for v in s.values if math.isinf(v)) else "$-\\infty$"
        return text + f" ({s.n_inf}/{s.n_total})", []
    notes = []
    if s.n >= 2:
        text = f"{fmt.num(s.mean * scale, d)}{{\\scriptsize\\,$\\pm$\\,{fmt.num(s.std * scale, d)}}}"
    else:
        text, notes = fmt.num(s.mean * scale, d), ["single"]
    if s.n_inf:
        notes.append("inf")
    if s.n_nan:
        notes.append("nan")
    return text, notes


def _tex_symbol(metric: str) -> str:
    sym = tex_escape(metric_symbol(metric))
    return "W$_1$" if sym == "W1" else sym


def header_cell(metric: str) -> str:
    """A narrow header: the metric's short symbol, its unit and the better direction ("HQ (\\%) $\\uparrow$")."""
    unit = f" ({tex_escape(metric_unit(metric))})" if metric_unit(metric) else ""
    return _tex_symbol(metric) + unit + (" $\\uparrow$" if higher_is_better(metric) else " $\\downarrow$")


def symbol_note(metrics: Sequence[str]) -> str:
    """"HQ: high-quality samples; ..." for the metrics whose symbol is not their label."""
    return "; ".join(f"{_tex_symbol(m)}: {tex_escape(metric_label(m))}"
                     for m in metrics if metric_symbol(m) != metric_label(m))


def _label(ds: DatasetResult) -> str:
    return "tab:" + "".join(ch if ch.isalnum() else "-" for ch in ds.name)


def _plain(tex: str) -> str:
    """The visible characters of a LaTeX cell, for width estimates."""
    import re

    t = re.sub(r"\\(scriptsize|footnotesize|small|textbf|textit)", "", tex.replace("\\,", " "))
    t = re.sub(r"\$\^\{[^}]*\}\$", "*", t)
    t = t.replace("$\\pm$", "±").replace("$\\infty$", "∞").replace("$\\uparrow$", "↑").replace("$\\downarrow$", "↓")
    return re.sub(r"[{}$\\]", "", t)


def estimate_width_pt(rows: Sequence[Sequence[str]], font_pt: float = 8.0, tabcolsep_pt: float = 3.0) -> float:
    """An upper estimate of a tabular's width from its cells' characters: the widest cell of each
    column at 0.55 em a character (Computer Modern's digits are 0.5 em, its capitals up to 0.75 em)
    plus 2 x tabcolsep per column. A fallback where pdflatex cannot measure the box."""
    cols = max(len(r) for r in rows)
    widest = [max(len(_plain(r[j])) for r in rows if j < len(r)) for j in range(cols)]
    return sum(w * 0.55 * font_pt for w in widest) + 2 * tabcolsep_pt * cols


def tex_main(ds: DatasetResult, analysis: Analysis) -> str:
    metrics = headline_metrics(ds.metrics)
    decimals = {m: column_decimals([ds.cells[(k, m)].mean * display_scale(m) for k in (ds.rows or ds.all_rows)])
                for m in metrics}
    used: list[str] = []
    body = []
    for k in ds.all_rows:
        row = [tex_escape(variant_name(ds.groups[k].variant) + (f" @ {ds.groups[k].point}" if ds.groups[k].point
                                                                 else ""))]
        for m in metrics:
            text, notes = main_cell(ds.cells[(k, m)], display_scale(m), decimals[m])
            if ds.worse_than_null.get((k, m)):
                notes.append("below")
            elif ds.near_null.get((k, m)):
                notes.append("null")
            text += "".join(_mark(n) for n in notes)
            used += [n for n in notes if n not in used]
            row.append(f"\\textbf{{{text}}}" if ds.best.get(m) == k else text)
        body.append(row)
    header = ["Variant"] + [header_cell(m) for m in metrics]
    width = estimate_width_pt([header] + body)
    env = "table" if width <= COLUMN_PT else "table*"
    n = sorted({len(ds.groups[k].runs) for k in ds.rows}) or [0]
    runs = f"{n[0]}" if len(n) == 1 else f"{n[0]}--{n[-1]}"
    caption = (f"{tex_escape(ds.name)}: mean $\\pm$ std over {runs} seeds per variant"
               + ("; below the rule, reference rows" if ds.references else "")
               + ("; bold: significantly best" if any(ds.best.values()) else "") + ".")
    lines = [f"\\begin{{{env}}}[tbp]", "\\centering", "\\footnotesize", "\\setlength{\\tabcolsep}{3pt}",
             f"\\caption{{{caption}}}", f"\\label{{{_label(ds)}}}",
             "\\begin{tabular}{l" + "r" * len(metrics) + "}", "\\toprule",
             " & ".join(header) + " \\\\", "\\midrule"]
    for i, row in enumerate(body):
        if i == len(ds.rows) and ds.references and i > 0:
            lines.append("\\midrule")
        lines.append(" & ".join(row) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    notes = [f"{_mark(k)} {MARKS[k][1]}" for k in used] + ([symbol_note(metrics)] if symbol_note(metrics) else [])
    ref = f"Full statistics, tests and protocol: Table~\\ref{{{_label(ds)}-stats}}."
    lines.append("\\par\\smallskip{\\scriptsize " + "; ".join(notes + [ref]) + "\\par}")
    lines.append(f"\\end{{{env}}}")
    return "\n".join(lines)


def main_tex_file(analysis: Analysis) -> str:
    head = ("% gan-harness main tables (one per data set); needs \\usepackage{booktabs}. Appendix tables: "
            "table-appendix.tex. Same runs in => same bytes out.\n")
    return head + "\n\n".join(tex_main(ds, analysis) for ds in analysis.datasets) + "\n"


# ----------------------------------------------------------------------------- appendix
def _float(env: str, caption: str, label: str, align: str, header: Sequence[str], rows: Sequence[Sequence[str]],
           notes: str = "", rule_before: int | None = None, font: str = "\\scriptsize") -> str:
    lines = [f"\\begin{{{env}}}[tbp]", "\\centering", font, "\\setlength{\\tabcolsep}{3pt}",
             f"\\caption{{{caption}}}", f"\\label{{{label}}}", f"\\begin{{tabular}}{{{align}}}", "\\toprule",
             " & ".join(header) + " \\\\", "\\midrule"]
    for i, r in enumerate(rows):
        if i == rule_before and i > 0:
            lines.append("\\midrule")
        lines.append(" & ".join(r) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    if notes:
        lines.append("\\par\\smallskip{\\scriptsize " + notes + "\\par}")
    lines.append(f"\\end{{{env}}}")
    return "\n".join(lines)


def tex_appendix(ds: DatasetResult, analysis: Analysis) -> str:
    from .document import _runs_cell, cell_text, n_dis_text, shared_fields, \
        reachability_note, setting_text, _fields_text, versions_text, NEAR_NULL_RULE, TEST_SHORT
    from .setup import config_columns, dataset_text, environment_rows

    lab = _label(ds)
    def stats_rows(metrics: Sequence[str]) -> tuple[list[str], list[list[str]]]:
        header = ["Variant", "$n$"] + [header_cell(m) for m in metrics]
        rows = []
        for k in ds.all_rows:
            name = tex_escape(variant_name(k))
            row = [f"\\textit{{{name}}}" if ds.groups[k].reference else name, tex_escape(_runs_cell(ds, analysis, k))]
            for m in metrics:
                text = tex_escape(cell_text(ds, k, m).replace(" ± n/a", " (1 run)"))
                row.append(f"\\textbf{{{text}}}" if ds.best[m] == k else text)
            rows.append(row)
        return header, rows

    # as many metrics per table as fit the page (estimated at the table's 6 pt), at least one
    chunks: list[list[str]] = [[]]
    for m in ds.metrics:
        trial = chunks[-1] + [m]
        h, r = stats_rows(trial)
        if chunks[-1] and estimate_width_pt([h] + r, font_pt=6.0) > PAGE_PT:
            chunks.append([m])
        else:
            chunks[-1] = trial
    notes = [f"Seeds {', '.join(map(str, ds.seeds))}.", tex_escape(symbol_note(ds.metrics)) + "."]
    if n_dis_text(ds):
        notes.append(tex_escape(f"D steps per G step: {n_dis_text(ds)}."))
    if setting_text(ds):
        notes.append(tex_escape(setting_text(ds).replace("`", "")))
    notes.append(tex_escape(f"Protocol: {_fields_text(shared_fields(ds))}; metric versions: {versions_text(ds)}."))
    notes.append(f"Bold: significantly better than every other variant ({TEST_SHORT[analysis.test]}, Holm-corrected, "
                 f"$\\alpha={analysis.level:g}$).")
    if ds.references:
        notes.append(tex_escape(NEAR_NULL_RULE))
    note = reachability_note(ds, analysis, closing=False)
    if note:
        notes.append(tex_escape(note))
    notes.append(tex_escape(dataset_text(ds)))
    parts = []
    for i, chunk in enumerate(chunks):
        header, rows = stats_rows(chunk)
        part = "" if len(chunks) == 1 else f" ({i + 1} of {len(chunks)})"
        parts.append(_float("table*", f"{tex_escape(ds.name)}: all metrics{part}, mean $\\pm$ std over seeds (cost and "
                            f"configuration: Table~\\ref{{{lab}-config}}).", f"{lab}-stats" + (f"-{i + 1}" if i else ""),
                            "lr" + "r" * len(chunk), header, rows, " ".join(notes) if i == len(chunks) - 1 else "",
                            len(ds.rows) if ds.references else None))
    diffs = difference_rows(ds, analysis)
    if diffs:
        base = variant_name(baseline_row(ds))
        eff = "Cliff's $\\delta$"
        drows = [[tex_escape(metric_label(m)), tex_escape(variant_name(k)),
                  tex_escape(difference_text(d, display_scale(m))), fmt.effect(d.cliffs_delta).replace("n/a", "--"),
                  tex_escape(fmt.pvalue(c.p_holm)) if c else "--"] for m, k, d, c in diffs]
        parts.append(_float("table*", f"{tex_escape(ds.name)}: difference to {tex_escape(base)} (mean, 95\\% Welch "
                            f"interval), effect size and Holm-adjusted $p$.", f"{lab}-diff", "llrrr",
                            ["Metric", "Variant", f"$\\Delta$ vs {tex_escape(base)}", eff, "$p$ (Holm)"], drows,
                            tex_escape("Per cent metrics in percentage points. n/a: an infinite value on either side "
                                       "(Cliff's δ still ranks it).")))
    h, crow = config_columns(ds)
    if ds.rows:
        parts.append(_float("table*", f"{tex_escape(ds.name)}: configuration of each variant (spec.json).",
                            f"{lab}-config", "l" + "l" * (len(h) - 1), [tex_escape(x) for x in h],
                            [[tex_escape(c) for c in r] for r in crow]))
    env = environment_rows([r for k in ds.rows for r in ds.groups[k].runs])
    parts.append(_float("table*", f"{tex_escape(ds.name)}: environment of the trained runs (manifest.json).",
                        f"{lab}-env", "lp{0.7\\textwidth}", ["Field", "Value"],
                        [[tex_escape(a), tex_escape(b)] for a, b in env]))
    return "\n\n".join(parts)


def appendix_tex_file(analysis: Analysis) -> str:
    head = ("% gan-harness appendix tables (full statistics, differences to a baseline, configuration, "
            "environment); needs \\usepackage{booktabs}. Same runs in => same bytes out.\n")
    return head + "\n\n".join(tex_appendix(ds, analysis) for ds in analysis.datasets) + "\n"
