"""METHODS.md: the definitions a report cites, written next to it so that they travel with it:
the metrics (from the metric registry), the statistics and tests, the reference rows and "≈ null",
the stability verdicts with the thresholds this report used, and the curve statistics. The text
comes from the code that computes each number (the registry's descriptions, the verdict module's
own rules), so it cannot drift from what was computed; docs/REPORTS.md gives the same rules at
greater length in the repository.
"""
from __future__ import annotations

import inspect

from ..metrics import METRICS
from . import verdicts
from .analysis import Analysis
from .names import metric_label


def _verdict_rules() -> str:
    doc = inspect.cleandoc(verdicts.__doc__ or "")
    start = doc.find("A run gets one label")
    return doc[start:] if start >= 0 else doc


def methods_markdown(analysis: Analysis) -> str:
    from .document import NEAR_NULL_RULE, REFERENCE_MEANING, TEST_TEXT, EFFECT_TEXT, rules_text

    shown = list(dict.fromkeys(m for ds in analysis.datasets for m in ds.metrics))
    lines = ["# Methods", "",
             "The definitions behind the report next to this file (report.md, report.html, table.tex, "
             "table-appendix.tex, the CSV files), written by `gan-harness report` from the code that computed "
             "the numbers.", "", "## Metrics", "",
             "| metric | label | better | definition | version |", "|:---|:---|:---|:---|---:|"]
    for m in shown:
        info = METRICS.get(m)
        versions = sorted({str(ds.protocols[m].get(f"metric_versions.{m}", "?")) for ds in analysis.datasets
                           if m in ds.metrics})
        lines.append(f"| `{m}` | {metric_label(m)}{' (%)' if info.percent else ''} | "
                     f"{'higher' if info.higher_is_better else 'lower'} | {info.description} | {', '.join(versions)} |")
    lines += ["", "## Statistics and tests", ""]
    lines += [p.replace(" (definitions in [METHODS.md](METHODS.md))", "") + "\n" for p in rules_text(analysis)]
    lines += [f"Test: {TEST_TEXT[analysis.test]}. Effect size: {EFFECT_TEXT[analysis.test]}.", "",
              "Differences to a baseline (shown where no test can reach the level, e.g. with 3 seeds): each "
              "variant's mean minus the baseline's (NS-GAN, `vanilla`, where present), with the Welch interval "
              "mean difference ± t(df, 0.975) × sqrt(s_A²/n_A + s_B²/n_B), Welch–Satterthwaite df; Cliff's δ = "
              "P(A > B) − P(A < B) over all pairs of runs; an infinite value leaves the difference undefined "
              "(n/a) while δ still ranks it.", "",
              "## Reference rows", ""]
    lines += [f"- `{k}`: {v}." for k, v in REFERENCE_MEANING.items()]
    lines += ["", NEAR_NULL_RULE, "", "## Stability verdicts", "", _verdict_rules(), "",
              "Thresholds used in this report:", ""]
    lines += [f"- `{k}` = {v:g}" for k, v in analysis.thresholds.to_dict().items()]
    lines += ["", "## Curve statistics", "",
              "Per run and metric, from evaluations.jsonl: the best value during training and its step, the "
              "final value, the gap (how much worse the final value is than the best; infinite when the run "
              "ended infinite), the area under the curve divided by the steps (the curve's average value), and "
              "the first evaluation step that reached the target (all of the data set's modes for mode "
              "coverage); the report's table gives the median over a row's runs, a run that never reached the "
              "target counting as never.", ""]
    return "\n".join(lines)
