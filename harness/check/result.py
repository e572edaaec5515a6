"""What a check returns: its rows (:class:`Row`), exact comparisons (:class:`Exact`) and
:class:`CheckResult` (verdict, exit status, text, Markdown and JSON), :func:`write_check`, and the
formatting helpers the rows' texts use."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..baseline import dumps, encode_non_finite
from ..errors import HarnessError
from ..runs import atomic_write_bytes
from .options import DEFAULT_STATISTIC

CHECK_FORMAT = "gan-harness-check"
CHECK_FORMAT_VERSION = 2  # 2: verdict (PASS, FAIL, INCONCLUSIVE), seeds_needed

PASS, BETTER, REGRESSION, NOT_EQUIVALENT, NA = "pass", "better", "REGRESSION", "NOT EQUIVALENT", "n/a"
#: the check's verdicts and their exit statuses (2 is bad input, raised as HarnessError before any work)
VERDICT_PASS, VERDICT_FAIL, VERDICT_INCONCLUSIVE = "PASS", "FAIL", "INCONCLUSIVE"
EXIT_STATUS = {VERDICT_PASS: 0, VERDICT_FAIL: 1, VERDICT_INCONCLUSIVE: 3}
PENDING = "pending"  # a rank row before the check decides all of them (Bonferroni)
FAILING = (REGRESSION, NOT_EQUIVALENT)
DIVERGED_ROW = "diverged"
#: the metric name of a training-behaviour row: "probe:<name>" (harness.baseline.BEHAVIOUR)
PROBE_PREFIX = "probe:"


@dataclass(frozen=True)
class Row:
    """One comparison: a matched pair of groups and one metric (or the "diverged" row).

    Means and sds describe the finite values in the metric's own units; `delta_hat`, `low` and
    `high` are oriented (positive: the candidate is better), `margin` is δ in metric units."""

    group: str  # the candidate group's label, "variant/dataset[/point]"
    baseline_group: str  # the baseline group's label (differs under a pairs mapping)
    metric: str
    higher_is_better: bool | None
    n_candidate: int
    n_baseline: int
    candidate_mean: float
    candidate_sd: float
    baseline_mean: float
    baseline_sd: float
    candidate_text: str  # "mean ± sd", with shares of infinite and NaN values (harness.report.fmt.cell)
    baseline_text: str
    delta_hat: float  # oriented: mean (Welch) or median (rank test) difference, candidate - baseline
    low: float  # Welch: lower confidence bound of the oriented difference
    high: float  # Welch TOST: upper bound; +inf for the one-sided bound
    p: float  # rank test: one-sided p of "candidate worse"; NaN otherwise
    margin: float  # δ in metric units
    margin_source: str
    decision: str  # pass, better, REGRESSION, NOT EQUIVALENT, n/a
    test: str
    detail: str = ""
    n_candidate_finite: int = 0  # values that entered the test (NaN left out)
    n_baseline_finite: int = 0
    #: for a row not judged ("n/a"): the candidate seeds (against these baseline seeds) that would let
    #: its test reach the level; None when more seeds would not help by themselves (e.g. every run diverged)
    seeds_needed: int | None = None
    #: permutation statistic: the Westfall-Young adjusted p (``p`` is the row's own permutation p)
    p_adjusted: float = math.nan

    @property
    def failed(self) -> bool:
        return self.decision in FAILING

    @property
    def label(self) -> str:
        return self.group if self.group == self.baseline_group else f"{self.group} vs {self.baseline_group}"


@dataclass(frozen=True)
class Exact:
    """The exact part of one matched pair."""

    group: str
    baseline_group: str
    status: str  # "match", "differs" or "not applicable"
    text: str  # "exact: match (2 seeds)", "exact: differs at seed 1, step 20, keys loss_d", ...
    seeds: tuple[int, ...] = ()  # the seeds compared bit for bit
    seed: int | None = None  # the first differing seed
    step: Any = None  # the first differing history step (None: not in the history, or unknown)
    keys: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.status == "differs"


@dataclass
class CheckResult:
    """What :func:`harness.check.check` and :func:`harness.check.check_samples` return. `passed`: no
    statistical row fails and no exact comparison under an identical numeric signature differs."""

    candidate: str
    baseline: str
    mode: str  # "runs" or "samples"
    test: str
    alpha: float
    margin_sds: float
    margins: dict[str, float]
    rows: list[Row]
    exact: list[Exact]
    unmatched_candidate: list[str] = field(default_factory=list)
    unmatched_baseline: list[str] = field(default_factory=list)
    config_differences: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # e.g. fewer seeds than the default margin is calibrated for
    statistic: str = DEFAULT_STATISTIC

    @property
    def regressions(self) -> list[Row]:
        return [r for r in self.rows if r.failed]

    @property
    def exact_failures(self) -> list[Exact]:
        return [e for e in self.exact if e.failed]

    @property
    def failed(self) -> bool:
        """A statistical row fails, or an exact comparison under an identical signature differs."""
        return bool(self.regressions or self.exact_failures)

    @property
    def verdict(self) -> str:
        """FAIL when something regressed; else INCONCLUSIVE when a row could not be judged with these
        seeds (a check that judged nothing must not pass); else PASS."""
        if self.failed:
            return VERDICT_FAIL
        return VERDICT_INCONCLUSIVE if self.unresolved else VERDICT_PASS

    def _identical(self, r: Row) -> bool:
        """Every candidate seed of the row's group matched its baseline seed bit for bit (the exact
        part under one numeric signature): the strongest judgement there is, whatever the seeds."""
        return any(e.status == "match" and e.group == r.group and e.baseline_group == r.baseline_group
                   and len(e.seeds) == r.n_candidate for e in self.exact)

    @property
    def unresolved(self) -> list[Row]:
        """Rows not judged statistically whose group was not judged bit for bit either: what makes
        a check INCONCLUSIVE."""
        return [r for r in self.not_judged if not self._identical(r)]

    @property
    def passed(self) -> bool:
        return self.verdict == VERDICT_PASS

    @property
    def inconclusive(self) -> bool:
        return self.verdict == VERDICT_INCONCLUSIVE

    @property
    def exit_status(self) -> int:
        """0 pass, 1 regression, 3 inconclusive (the CLI's --allow-inconclusive turns 3 into 0)."""
        return EXIT_STATUS[self.verdict]

    @property
    def seeds_needed(self) -> int | None:
        """The candidate seeds that would judge every unresolved row (the largest of their needs;
        None when no row gives one)."""
        needs = [r.seeds_needed for r in self.unresolved if r.seeds_needed is not None]
        return max(needs) if needs else None

    def row(self, group: str, metric: str) -> Row:
        """The row of `metric` for the candidate group `group` (KeyError if there is none)."""
        for r in self.rows:
            if r.metric == metric and group in (r.group, r.label):
                return r
        raise KeyError(f"no row for {group} {metric}")

    @property
    def not_judged(self) -> list[Row]:
        """Rows without a decision (too few values for their test): they do not fail the check."""
        return [r for r in self.rows if r.decision == NA]

    def summary_line(self) -> str:
        counts: dict[str, int] = {}
        for e in self.exact:
            counts[e.status] = counts.get(e.status, 0) + 1
        exact = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        verdict = self.verdict
        if verdict == VERDICT_PASS:
            identical = len(self.not_judged)
            how = (f"{len(self.rows)} rows, {identical} of them not judged statistically but every seed of their "
                   "groups identical bit for bit" if identical else f"{len(self.rows)} rows judged")
            return f"result: PASS ({how}; exact: {exact or 'none'})"
        if verdict == VERDICT_INCONCLUSIVE:
            unjudged = self.unresolved
            names = [f"{r.label} {r.metric}" for r in unjudged]
            if len(names) > 6:  # e.g. every row of a 2-seed check: name a few, count the rest
                names = names[:3] + [f"and {len(names) - 3} more"]
            need = self.seeds_needed
            n_c = max((r.n_candidate for r in unjudged), default=0)
            how = (f"; {need} candidate seeds (here {n_c}) against this baseline would judge "
                   f"{'it' if len(unjudged) == 1 else 'them'}" if need is not None else
                   "; more seeds that do not diverge would judge them")
            return (f"result: INCONCLUSIVE: {len(unjudged)} of {len(self.rows)} rows not judged with these seeds "
                    f"({', '.join(names)}){how}; nothing regressed among the rest (exact: {exact or 'none'})")
        what = [f"{r.label} {r.metric}" for r in self.regressions]
        what += [f"{e.group} exact" for e in self.exact_failures]
        return f"result: FAIL: regression in {len(what)}: {', '.join(what)}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (non-finite floats as the strings "inf", "-inf", "nan", as in a baseline)."""
        rows = []
        for r in self.rows:
            d = asdict(r)
            d["failed"] = r.failed
            rows.append(d)
        exact = []
        for e in self.exact:
            d = asdict(e)
            d["seeds"], d["keys"], d["failed"] = list(e.seeds), list(e.keys), e.failed
            exact.append(d)
        out = {"format": CHECK_FORMAT, "format_version": CHECK_FORMAT_VERSION, "verdict": self.verdict,
               "passed": self.passed, "exit_status": self.exit_status, "seeds_needed": self.seeds_needed, "candidate": self.candidate, "baseline": self.baseline,
               "mode": self.mode, "test": self.test, "statistic": self.statistic, "alpha": self.alpha,
               "margin_sds": self.margin_sds,
               "margins": dict(self.margins), "rows": rows, "exact": exact,
               "unmatched_candidate": list(self.unmatched_candidate),
               "unmatched_baseline": list(self.unmatched_baseline),
               "config_differences": {k: list(v) for k, v in self.config_differences.items()},
               "notes": list(self.notes), "summary": self.summary_line()}
        return encode_non_finite(out)

    def to_json(self) -> str:
        """check.json's text: sorted keys, one-space indent (harness.baseline.dumps)."""
        return dumps(self.as_dict())

    def describe_test(self) -> str:
        a = _fmt_alpha(self.alpha)
        if self.statistic == "permutation":
            margins = "".join(f"; --margin {m}={v:g}" for m, v in sorted(self.margins.items()))
            side = "one-sided per metric (candidate worse?)" if self.test == "noninferiority" else \
                "two-sided per metric"
            return (f"joint permutation test over all rows (rank sums; {side}, two-sided per training-behaviour "
                    f"row); Westfall-Young min-p step-down adjusted p ≤ α = {a}{margins}")
        if self.statistic == "rank":
            margins = "".join(f"; --margin {m}={v:g}" for m, v in sorted(self.margins.items()))
            test = ("exact one-sided Mann-Whitney per metric (candidate worse?)" if self.test == "noninferiority"
                    else "exact two-sided Mann-Whitney per metric")
            return (f"{test}, two-sided per training-behaviour row; Bonferroni: each row at α/m, α = {a}"
                    f"{margins}")
        test = (f"non-inferiority (Welch one-sided lower {_pct(1 - self.alpha)} bound > −δ)"
                if self.test == "noninferiority" else
                f"equivalence (TOST: Welch {_pct(1 - 2 * self.alpha)} interval inside ±δ)")
        margins = "".join(f"; --margin {m}={v:g}" for m, v in sorted(self.margins.items()))
        return f"{test}; α = {a}; δ = {_num(self.margin_sds)} × baseline seed sd{margins}"

    def _table(self) -> tuple[list[str], list[list[str]]]:
        headers = ["group", "metric", "n cand/base", "baseline", "candidate", "Δ (+ better)", "bound", "δ",
                   "decision", "test"]
        body = []
        for r in self.rows:
            body.append([r.label, r.metric, f"{r.n_candidate}/{r.n_baseline}", r.baseline_text, r.candidate_text,
                         _signed(r.delta_hat), _bound_text(r), _num(r.margin) if math.isfinite(r.margin) else "",
                         r.decision, r.test + (f": {r.detail}" if r.detail else "")])
        return headers, body

    def _notes(self) -> list[str]:
        notes = []
        for label in self.unmatched_candidate:
            notes.append(f"candidate group without a baseline group: {label}")
        for label in self.unmatched_baseline:
            notes.append(f"baseline group without a candidate group: {label}")
        for label, diffs in self.config_differences.items():
            notes.append(f"config differs (allowed; candidate vs baseline) in {label}: {'; '.join(diffs)}")
        return notes + list(self.notes)

    def to_text(self) -> str:
        """The readable table `gan-harness check` prints."""
        headers, body = self._table()
        widths = [max(len(x) for x in col) for col in zip(headers, *body)]
        lines = [f"check: {self.candidate} against baseline {self.baseline}", f"test: {self.describe_test()}", ""]
        for cells in [headers, *body]:
            lines.append("  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip())
        lines.append("")
        lines += [f"{e.group}: {e.text}" for e in self.exact]
        lines += [f"note: {n}" for n in self._notes()]
        lines.append(self.summary_line())
        return "\n".join(lines) + "\n"

    def to_markdown(self) -> str:
        """check.md: the same table and lines as :meth:`to_text`, in Markdown."""
        headers, body = self._table()

        def esc(x: str) -> str:
            return x.replace("|", "\\|")

        lines = ["# Regression check", "", f"- candidate: `{self.candidate}`", f"- baseline: `{self.baseline}`",
                 f"- test: {self.describe_test()}", f"- **{self.summary_line()}**", "",
                 "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        for cells in body:
            cells = list(cells)
            if cells[8] in FAILING:
                cells[8] = f"**{cells[8]}**"
            lines.append("| " + " | ".join(esc(c) for c in cells) + " |")
        lines += ["", "## Exact comparison", ""] + [f"- {e.group}: {e.text}" for e in self.exact]
        notes = self._notes()
        if notes:
            lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
        return "\n".join(lines) + "\n"

    def __str__(self) -> str:
        return self.to_text()


def write_check(result: CheckResult, out: str | Path) -> dict[str, Path]:
    """Write check.json and check.md into `out` (atomically); returns their paths."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise HarnessError(f"--out {out} is a file, not a directory")
    paths = {"json": out / "check.json", "md": out / "check.md"}
    atomic_write_bytes(paths["json"], result.to_json().encode("utf-8"))
    atomic_write_bytes(paths["md"], result.to_markdown().encode("utf-8"))
    return paths


# ----------------------------------------------------------------------------- formatting
def _num(x: float) -> str:
    from ..report.fmt import num

    if isinstance(x, float) and math.isfinite(x) and 0 < abs(x) < 1e-4:
        return f"{x:.3g}"
    return num(x)


def _signed(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    text = _num(x)
    return text if text.startswith(("-", "−")) or x == 0 else "+" + text


def _bound_text(r: Row) -> str:
    if not math.isnan(r.p_adjusted):
        return f"adj. p = {r.p_adjusted:.3g}"
    if not math.isnan(r.p):
        return f"p = {r.p:.3g}"
    if math.isnan(r.low):
        return ""
    if math.isinf(r.high):
        return f"≥ {_num(r.low)}"
    return f"[{_num(r.low)}, {_num(r.high)}]"


def _pct(x: float) -> str:
    return f"{100 * x:.4g} %"


def _fmt_alpha(a: float) -> str:
    return f"{a:g}"


def _label(group: Mapping[str, Any]) -> str:
    return "/".join([group["variant"], group["dataset"]] + ([group["point"]] if group.get("point") else []))
