"""LaTeX tables for a paper: a compact main table per data set (table.tex) and the appendix
(table-appendix.tex) with everything else: full statistics, differences to a named baseline,
the pairwise tests, each variant's configuration and the environment.

The main table shows the headline metrics only (the ``headline`` role of the metric registry),
display names, right-aligned numbers with one number of decimals per column, arrows for the
better direction and a caption of a few words; what a cell cannot say in "mean ± std" is a
footnote mark explained under the table, never "± n/a". Its width is computed from Computer
Modern's character widths (:func:`estimate_width_pt`, within a few per cent above what pdflatex
measures; a test compiles every committed table): a table that fits a column of a two-column page
is a ``table``, a wider one a ``table*`` (the page width)."""
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
    "inf": ("\\infty", "k of n runs scored $\\infty$ (no high-quality sample); mean $\\pm$ std of the finite ones"),
    "nan": ("\\ddagger", "some runs have no value (diverged); mean $\\pm$ std of the others"),
    "null": ("\\circ", "no better than the best null reference row (difference of means within one std)"),
    "below": ("\\bullet", "worse than the best null reference row (by more than one std)"),
}


def column_decimals(values: Sequence[float], spreads: Sequence[float] = ()) -> int:
    """One number of decimals for a whole column, from the seed spread: the decimals that show each
    row's standard deviation to two significant digits (std 1.8 -> 1, 0.0143 -> 3, 98 -> 0), the
    (lower) median over the rows, 0 to 4. Without a positive finite spread (single runs, all seeds equal):
    three significant digits of the median magnitude of the values."""
    spread = sorted(max(0, min(4, 1 - math.floor(math.log10(sd)))) for sd in spreads
                    if sd is not None and math.isfinite(sd) and sd > 0)
    if spread:
        return spread[(len(spread) - 1) // 2]  # the lower median: no more digits than a typical row's spread
    finite = sorted(abs(v) for v in values if v is not None and math.isfinite(v))
    if not finite:
        return 2
    return max(0, min(4, fmt.decimals(finite[len(finite) // 2])))


def _mark(key: str) -> str:
    return f"$^{{{MARKS[key][0]}}}$"


INF_NOTE_MARK = "$^{\\infty\\,k/n}$"


def _marks(notes: Sequence[str], s: stats.Summary) -> str:
    """The cell's footnote marks; the infinity mark keeps its count ("k/n": how many runs of n)."""
    return "".join(f"$^{{\\infty\\,{s.n_inf}/{s.n_total}}}$" if n == "inf" else _mark(n) for n in notes)


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


# Computer Modern advance widths in em of the font size (cmr10; TeX's tfm tables), and the symbols the
# tables use. Smaller design sizes are wider per em: cmr8's digits are 0.531 em, cmr7's 0.569 em.
_CHAR_EM = dict(zip("abcdefghijklmnopqrstuvwxyz", (.5, .556, .444, .556, .444, .306, .5, .556, .278, .306, .528,
                    .278, .833, .556, .5, .556, .528, .392, .394, .389, .556, .528, .722, .528, .528, .444)))
_CHAR_EM.update(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", (.75, .708, .722, .764, .681, .653, .785, .75, .361, .514, .778,
                    .625, .917, .75, .778, .681, .778, .736, .556, .722, .75, .75, 1.028, .75, .75, .611)))
_CHAR_EM.update({**dict.fromkeys("0123456789/*", .5), **dict.fromkeys(".,;:'[]!", .278), " ": .333, "-": .333,
                 "(": .389, ")": .389, "=": .778, "+": .778, "<": .778, ">": .778, "%": .833, "|": .278})
_COMMAND_EM = {"pm": .778, "infty": 1.0, "uparrow": .5, "downarrow": .5, "geq": .778, "leq": .778,
               "approx": .778, "times": .778, "textless": .778, "textgreater": .778, ",": .167, "i": .278,
               "%": .833, "_": .5, "&": .778, "#": .833, "$": .5, "lambda": .583, "sigma": .572, "alpha": .64,
               "delta": .444, "Delta": .833, "ldots": 1.0, "dagger": .444, "ddagger": .444, "circ": .5,
               "bullet": .5, "'": 0.0, "textit": 0.0, "textbf": 0.0, "scriptsize": 0.0, "footnotesize": 0.0}
_OPTICAL = {10: 1.0, 9: 1.028, 8: 1.062, 7: 1.139, 6: 1.222, 5: 1.361}  # digit width per em vs cmr10
_SIZE_PT = {"scriptsize": 7.0, "footnotesize": 8.0}


def text_width_pt(tex: str, font_pt: float = 8.0) -> float:
    r"""The width of one line of table LaTeX set in Computer Modern at font_pt: each character's and
    symbol's advance width at the size in force ({\scriptsize ...} groups; superscripts at 70 %),
    bold (\textbf) 15 % wider, scaled by the optical size; 3 % added so that it stays an upper bound
    (a test compares it with pdflatex's measure)."""
    import re

    total, stack = 0.0, []
    size, bold, script, in_math = font_pt, False, False, False
    pending = None  # "script" after ^, "bold" after \textbf: applies to the next group or token
    for tok in re.findall(r"\\[A-Za-z]+|\\.|.", tex):
        if tok == "{":
            stack.append((size, bold, script))
            bold, script = bold or pending == "bold", script or pending == "script"
            pending = None
        elif tok == "}":
            size, bold, script = stack.pop() if stack else (size, bold, script)
        elif tok == "^":
            pending = "script"
        elif tok == "\\textbf":
            pending = "bold"
        elif tok[1:] in _SIZE_PT:
            size = _SIZE_PT[tok[1:]]
        elif tok == "$":
            in_math = not in_math
        elif tok != "_":
            em = (_COMMAND_EM.get(tok[1:], 1.0) if tok.startswith("\\")
                  else .778 if in_math and tok == "-" else _CHAR_EM.get(tok, 1.0))  # math minus: 0.778 em
            small = script or pending == "script"
            pt = size * (0.7 if small else 1.0)
            total += em * pt * _OPTICAL[min(10, max(5, round(pt)))] * (1.15 if bold or pending == "bold" else 1.0)
            pending = None
    return 1.03 * total


def estimate_width_pt(rows: Sequence[Sequence[str]], font_pt: float = 8.0, tabcolsep_pt: float = 3.0) -> float:
    """An upper estimate of a tabular's width: the widest cell of each column (:func:`text_width_pt`)
    plus 2 x tabcolsep per column. Used where pdflatex cannot measure the box (a test compares the two)."""
    cols = max(len(r) for r in rows)
    widest = [max(text_width_pt(r[j], font_pt) for r in rows if j < len(r)) for j in range(cols)]
    return sum(widest) + 2 * tabcolsep_pt * cols


def tex_main(ds: DatasetResult, analysis: Analysis) -> str:
    metrics = headline_metrics(ds.metrics)
    rows = ds.rows or ds.all_rows
    decimals = {m: column_decimals([ds.cells[(k, m)].mean * display_scale(m) for k in rows],
                                   [ds.cells[(k, m)].std * display_scale(m) for k in rows]) for m in metrics}
    used: list[str] = []
    body = []
    for k in ds.all_rows:
        row = [tex_escape(variant_name(ds.groups[k].variant) + (f" @ {ds.groups[k].point}" if ds.groups[k].point
                                                                 else ""))]
        for m in metrics:
            cell = ds.cells[(k, m)]
            text, notes = main_cell(cell, display_scale(m), decimals[m])
            if ds.worse_than_null.get((k, m)):
                notes.append("below")
            elif ds.near_null.get((k, m)):
                notes.append("null")
            text += _marks(notes, cell)
            used += [n for n in notes if n not in used]
            row.append(f"\\textbf{{{text}}}" if ds.best.get(m) == k else text)
        body.append(row)
    header = ["Variant"] + [header_cell(m) for m in metrics]
    width = estimate_width_pt([header] + body)
    env = "table" if width <= COLUMN_PT else "table*"
    caption = main_caption(ds, analysis)
    lines = [f"\\begin{{{env}}}[tbp]", "\\centering", "\\footnotesize", "\\setlength{\\tabcolsep}{3pt}",
             f"\\caption{{{caption}}}", f"\\label{{{_label(ds)}}}",
             "\\begin{tabular}{l" + "r" * len(metrics) + "}", "\\toprule",
             " & ".join(header) + " \\\\", "\\midrule"]
    for i, row in enumerate(body):
        if i == len(ds.rows) and ds.references and i > 0:
            lines.append("\\midrule")
        lines.append(" & ".join(row) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    notes = [f"{INF_NOTE_MARK if k == 'inf' else _mark(k)} {MARKS[k][1]}" for k in used] + ([symbol_note(metrics)] if symbol_note(metrics) else [])
    ref = f"Full statistics, tests and protocol: Table~\\ref{{{_label(ds)}-stats}}."
    lines.append("\\par\\smallskip{\\scriptsize " + "; ".join(notes + [ref]) + "\\par}")
    lines.append(f"\\end{{{env}}}")
    return "\n".join(lines)


def main_caption(ds: DatasetResult, analysis: Analysis) -> str:
    """The main table's caption, at most CAPTION_WORDS words: data set, statistic and N, the regime
    (setting) and budget (G steps, batch, D steps per G step where not 1), what the rule and bold mean."""
    rg = ds.regime
    runs = tex_escape(fmt.span(list(rg.per_row)))
    parts = [f"{tex_escape(ds.name)}: mean $\\pm$ std over {runs} seeds per variant"]
    if rg.settings:
        names = [n or "not recorded" for n in rg.settings]
        parts.append(("setting " if len(names) == 1 else "settings ") + ", ".join(tex_escape(n) for n in names))
    if rg.steps:
        steps = "--".join(f"{v:,}" for v in sorted({rg.steps[0], rg.steps[-1]}))
        parts.append(f"{steps} G steps at batch {'/'.join(rg.batches) or fmt.NA}")
    if rg.n_dis:
        by: dict[str, list[str]] = {}
        for k, xs in rg.n_dis.items():
            by.setdefault("/".join(map(str, xs)), []).append(tex_escape(variant_name(k)))
        parts.append("D steps per G step " + ", ".join(f"{n} for {' and '.join(ks)}" for n, ks in by.items())
                     + ", else 1")
    if ds.references:
        parts.append("below the rule, reference rows")
    if any(ds.best.values()):
        parts.append(f"bold: significantly best (Holm, $\\alpha = {analysis.level:g}$)")
    dirty = sorted({r.commit[:7] for r in ds.trained_runs if r.commit.endswith("-dirty")})
    if dirty:  # recorded with --allow-dirty: the caption says so (issue 20)
        parts.append(f"uncommitted code ({', '.join(dirty)}-dirty)")
    return "; ".join(parts) + "."


CAPTION_WORDS = 40


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
    from .setup import dataset_text

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

    # the fewest tables whose metrics fit the page (estimated at the table's 6 pt), the metrics shared
    # out evenly between them (filling each in turn left a one-metric table at the end)
    def fits(chunk: list[str]) -> bool:
        h, r = stats_rows(chunk)
        return estimate_width_pt([h] + r, font_pt=_SIZE_PT["scriptsize"]) <= PAGE_PT

    chunks: list[list[str]] = [list(ds.metrics)]
    for n in range(1, len(ds.metrics) + 1):
        size = -(-len(ds.metrics) // n)
        trial = [list(ds.metrics[i:i + size]) for i in range(0, len(ds.metrics), size)]
        if all(fits(c) for c in trial) or size == 1:
            chunks = trial
            break
    notes = [f"Seeds {', '.join(map(str, ds.seeds))}.", symbol_note(ds.metrics) + "."]
    if n_dis_text(ds):
        notes.append(tex_escape(f"D steps per G step: {n_dis_text(ds)}."))
    if setting_text(ds):
        notes.append(tex_escape(setting_text(ds).replace("`", "")))
    notes.append(tex_escape(f"Protocol: {_fields_text(shared_fields(ds))}; metric versions: {versions_text(ds)}."))
    if any(ds.best.values()):  # no note for a mark no cell carries
        notes.append(f"Bold: significantly better than every other variant ({TEST_SHORT[analysis.test]}, "
                     f"Holm-corrected, $\\alpha={analysis.level:g}$).")
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
        parts.append(_float("table*", f"{tex_escape(ds.name)}: all metrics{part}, mean $\\pm$ std over seeds "
                            f"(cost and configuration: Table~\\ref{{{CONFIG_LABEL}}}).", f"{lab}-stats" + (f"-{i + 1}" if i else ""),
                            "lr" + "r" * len(chunk), header, rows, " ".join(notes) if i == len(chunks) - 1 else "",
                            len(ds.rows) if ds.references else None))
    diffs = difference_rows(ds, analysis)
    if diffs:
        base = variant_name(baseline_row(ds))
        eff = "Cliff's $\\delta$"
        drows = [[tex_escape(metric_label(m)), tex_escape(variant_name(k)),
                  tex_escape(difference_text(d, display_scale(m))), tex_escape(fmt.effect(d.cliffs_delta)).replace("n/a", "--"),
                  tex_escape(fmt.pvalue(c.p_holm)) if c else "--"] for m, k, d, c in diffs]
        parts.append(_float("table*", f"{tex_escape(ds.name)}: difference to {tex_escape(base)} (mean, 95\\% Welch "
                            f"interval), effect size and Holm-adjusted $p$.", f"{lab}-diff", "llrrr",
                            ["Metric", "Variant", f"$\\Delta$ vs {tex_escape(base)}", eff, "$p$ (Holm)"], drows,
                            tex_escape("Per cent metrics in percentage points. n/a: an infinite value on either side "
                                       "(Cliff's δ still ranks it).")))
    return "\n\n".join(parts)


MIN_WRAPPED_PT = 90.0  # the narrowest column a wrapped configuration table gives a variant


def wrap_to_page(header: Sequence[str], rows: Sequence[Sequence[str]], font_pt: float = 7.0,
                 tabcolsep_pt: float = 3.0) -> list[tuple[list[str], list[list[str]]]]:
    """(header, rows) of the tables a wide table becomes: itself when it fits the page; else its
    columns after the first shared out between the fewest tables whose columns are at least
    MIN_WRAPPED_PT wide, each cell (headers included) a ragged-right \\parbox that may break after a
    comma or hyphenate its first word, so that per-data-set values wrap instead of overflowing."""
    if estimate_width_pt([header, *rows], font_pt, tabcolsep_pt) <= PAGE_PT:
        return [(list(header), [list(r) for r in rows])]
    first = max(text_width_pt(r[0], font_pt) for r in [header, *rows]) + 2 * tabcolsep_pt
    per = max(1, int((PAGE_PT - first) // (MIN_WRAPPED_PT + 2 * tabcolsep_pt)))
    n_cols = len(header) - 1
    n_tables = -(-n_cols // per)
    per = -(-n_cols // n_tables)  # the columns shared out evenly
    width = (PAGE_PT - first) / per - 2 * tabcolsep_pt - 1.0

    def box(c: str) -> str:
        breakable = c.replace(",", ",\\allowbreak{}")
        return f"\\parbox[t]{{{width:.1f}pt}}{{\\raggedright\\hspace{{0pt}}{breakable}\\strut}}"

    out = []
    for i in range(0, n_cols, per):
        cols = range(1 + i, 1 + min(n_cols, i + per))
        out.append(([header[0]] + [box(header[j]) for j in cols], [[r[0]] + [box(r[j]) for j in cols] for r in rows]))
    return out


def appendix_tex_file(analysis: Analysis) -> str:
    from .setup import config_table, environment_rows

    head = ("% gan-harness appendix tables (full statistics, differences to a baseline, configuration, "
            "environment); needs \\usepackage{booktabs}. Same runs in => same bytes out.\n")
    parts = [tex_appendix(ds, analysis) for ds in analysis.datasets]
    trained = [r for ds in analysis.datasets for r in ds.trained_runs]
    if trained:
        h, rows = config_table(analysis)
        header, body = [tex_escape(x) for x in h], [[tex_escape(c) for c in r] for r in rows]
        tables = wrap_to_page(header, body)
        for i, (hc, rc) in enumerate(tables):
            part = "" if len(tables) == 1 else f" ({i + 1} of {len(tables)})"
            parts.append(_float("table*", f"Configuration of each variant (spec.json), every data set{part}.",
                                CONFIG_LABEL + (f"-{i + 1}" if i else ""), "l" * len(hc), hc, rc))
        parts.append(_float("table*", "Environment of the trained runs (manifest.json).", ENV_LABEL,
                            "lp{0.7\\textwidth}", ["Field", "Value"],
                            [[tex_escape(a), tex_escape(b)] for a, b in environment_rows(trained)]))
    return head + "\n\n".join(parts) + "\n"


CONFIG_LABEL, ENV_LABEL = "tab:config", "tab:environment"
