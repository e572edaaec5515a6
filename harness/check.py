"""Regression checks: does a candidate behave like a baseline?

``gan-harness check CANDIDATE --baseline BASELINE`` (:func:`check`) answers "does my implementation,
my new commit, this machine, behave like the reference?". CANDIDATE and BASELINE are each a runs
directory (summarised in memory with harness.baseline.build_baseline; nothing is written next to
it) or a recorded baseline file (``gan-harness record``). ``gan-harness check --dataset D --samples
F1 F2 ... --baseline BASELINE`` (:func:`check_samples`) scores final samples of a GAN trained
outside the harness, one file per seed, with the evaluator of the baseline's protocol.

Matching. Groups are matched by (variant, data set, grid point); ``pairs={"mine": "wgan-gp"}``
matches candidate variant "mine" with baseline variant "wgan-gp". Each matched pair must share its
protocol (evaluator settings, latent bank, budget, metric versions; ``budget.n_dis`` excepted, as
in reports: D steps per G step belong to a variant): otherwise HarnessError listing the differing
keys, "evaluator.n_eval: 2500 vs 1000" (candidate vs baseline). Other config differences are
allowed and listed. Unmatched groups on either side are listed; no match at all is an error.

Statistical part, default (``statistic="permutation"``): one joint permutation test over every row
of the check (harness.permutation; Westfall & Young 1993, min-p step-down). Per row the
candidate's rank sum over the pooled seeds of its matched pair (oriented values; NaN, a diverged
run's missing value, ranks worst), one-sided for metrics and the "diverged" row, two-sided for
"probe:" rows; one relabelling of a pair's seeds applies to all its rows at once (pairs
independently), and a row fails iff its adjusted p <= alpha: at most alpha of checks of an
exchangeable candidate fail, whatever the distribution of seeds and the rows' correlation
(:func:`_decide_permutation_rows`). A row whose most extreme outcome could not reach alpha with
these seed counts is "n/a".

Verdict (:attr:`CheckResult.verdict`): FAIL (exit 1) when a row or the exact part fails;
INCONCLUSIVE (exit 3) when nothing failed but a row is "n/a" and its group was not shown identical
bit for bit by the exact part (a check that judged nothing must not pass; the result line says how
many candidate seeds would judge it); PASS (exit 0) otherwise.

Statistical part with ``statistic="rank"``: per matched pair and metric an exact one-sided
Mann-Whitney test of "candidate worse" on oriented values (a ``--margin`` δ shifts the candidate by
+δ first), per training-behaviour summary ("probe:" rows) two one-sided tests; every rank row of the
check is then judged at alpha / m (Bonferroni over its m rank rows: :func:`_decide_rank_rows`), so
that a candidate exchangeable with the baseline fails at most alpha of checks whatever the
distribution of seeds; a row that cannot reach alpha / m with its seed counts is "n/a". NaN and
diverged counts as below. docs/CHECK.md compares the three statistics.

Statistical part with ``statistic="mean"``, per matched pair and per metric the baseline stores
(registered metrics, in registration order), oriented so that larger is better (a lower-is-better
metric is negated):

- Margin δ (metric units): ``margin_sds`` × s, s the baseline's seed standard deviation (finite
  values), floored by the baseline's evaluation-noise sd (summary ``eval_noise`` sd, mean over its
  seeds) and by SD_FLOOR; ``margins={metric: δ}`` replaces it for one metric.
- Non-inferiority (default): Welch's one-sided lower (1 − α) confidence bound L of Δ = mean(candidate)
  − mean(baseline) (oriented); pass iff L > −δ, "better" (still a pass) iff L > +δ, else REGRESSION.
- Equivalence (``test="equivalence"``): TOST, pass iff the two-sided (1 − 2α) Welch interval lies
  inside (−δ, δ), else NOT EQUIVALENT (a failure, in either direction).
- NaN (a run without a value: it diverged before an evaluation) is left out of the tests and
  counted: a candidate with a larger share of NaN seeds than the baseline fails ("diverged in 2/3
  seeds against 0/3"). The same rule applies to runs whose status is ``diverged`` (one row per
  pair, metric "diverged"), since a diverged run keeps the metrics of its last finite evaluation.
- ±inf (reverse KL with no high-quality sample is +inf, the worst value): if either side has an
  infinite value the t test is not used. Instead the exact one-sided Mann–Whitney test of
  "candidate worse" on the oriented values (inf ranks as the worst value, equal infinities tie;
  harness.report.stats.mannwhitney) and the medians: fail iff p < α AND median(candidate) is worse
  than median(baseline) by more than δ (δ from the finite baseline values); "better" iff the
  mirrored test says so. Equivalence applies the same rule in both directions. The same values on
  both sides (a rerun, or +inf in every seed of both) pass without a test. With too few seeds for the
  exact test to reach p < α at all (3 against 3: its smallest one-sided p is 1/20 = 0.05) the
  metric is "n/a", not judged: the row says how many seeds it needs, and the check is INCONCLUSIVE
  unless something else fails (the finite metrics of the same runs, e.g. modes_covered, are judged).
- Fewer than 2 seeds in a matched group: HarnessError (the t test needs 2 on each side).

Default k (``DEFAULT_MARGIN_SDS`` = 8), chosen by simulation (tests/test_check.py,
:func:`simulate_noninferiority`: candidate and baseline seeds from one normal distribution, the
baseline sd estimated from the same seeds as the margin, α = 0.05, 200,000 tries): false-alarm
rate 4.8 % at n = 3 candidate and 3 baseline seeds (7.75 gives 5.1 %; the test's 20,000 tries
with seed 20240 give 4.69 %), 0.16 % at n = 5, < 0.01 % at n = 10, but 26 % at 2 against 2 (a note
says so when a side has fewer than 3 seeds). Power at n = 3: a true shift of 8.2 σ (σ the seed sd) toward worse is detected in
80 % of tries (4 σ: 38 %, 6 σ: 60 %, 10 σ: 91 %). Three seeds estimate a standard deviation
poorly (a 5 % chance that s < 0.23 σ), which is what forces a margin this wide; with more seeds a
smaller ``margin_sds`` keeps the 5 % level (see docs/CHECK.md).

Exact part, per common seed of a matched pair with the same variant, the same config and the same
numeric ``signature_id`` (harness.runs.numeric_signature): identical final metrics and identical
history (per-record hashes, harness.baseline.record_hash), else the first seed, step and keys at
which they part. A mismatch under an identical signature is a regression of determinism and fails
the check; with different signatures the exact part says "not applicable" and only informs.
"""
from __future__ import annotations

import functools
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .baseline import FORMAT, FORMAT_VERSION, decode_non_finite, dumps, encode_non_finite
from .errors import HarnessError
from .runs import atomic_write_bytes, to_jsonable

TESTS = ("noninferiority", "equivalence")
#: how rows compare the seeds: "permutation" (default: one joint permutation test over every row of
#: the check, Westfall-Young min-p step-down: at most alpha of checks of an exchangeable candidate
#: fail, whatever the distribution of seeds and however correlated the rows; harness.permutation),
#: "rank" (exact Mann-Whitney per row, Bonferroni over the rows: the same guarantee, less power) or
#: "mean" (Welch's t bounds, a margin of k seed sds; normal theory)
STATISTICS = ("permutation", "rank", "mean")
DEFAULT_STATISTIC = "permutation"
#: the seed of the Monte-Carlo permutations (pairs with more than PERMUTATION_MAX_EXACT label
#: assignments; fewer are enumerated exactly), so that a check repeats bit for bit
PERMUTATION_SEED = 0
PERMUTATION_MAX_EXACT = 50_000
PERMUTATION_RESAMPLES = 20_000
DEFAULT_TEST = "noninferiority"
DEFAULT_ALPHA = 0.05
#: margin δ = DEFAULT_MARGIN_SDS × the baseline's seed sd (see the module docstring for the simulation)
DEFAULT_MARGIN_SDS = 8.0
#: absolute floor of the sd a margin is made from (a baseline whose seeds all agree)
SD_FLOOR = 1e-12
#: seeds per side the t test needs
MIN_SEEDS = 2
CHECK_FORMAT = "gan-harness-check"
CHECK_FORMAT_VERSION = 2  # 2: verdict (PASS, FAIL, INCONCLUSIVE), seeds_needed

PASS, BETTER, REGRESSION, NOT_EQUIVALENT, NA = "pass", "better", "REGRESSION", "NOT EQUIVALENT", "n/a"
#: the check's verdicts and their exit statuses (2 is bad input, raised as HarnessError before any work)
VERDICT_PASS, VERDICT_FAIL, VERDICT_INCONCLUSIVE = "PASS", "FAIL", "INCONCLUSIVE"
EXIT_STATUS = {VERDICT_PASS: 0, VERDICT_FAIL: 1, VERDICT_INCONCLUSIVE: 3}
PENDING = "pending"  # a rank row before the check decides all of them (Bonferroni)
FAILING = (REGRESSION, NOT_EQUIVALENT)
DIVERGED_ROW = "diverged"


# ----------------------------------------------------------------------------- results
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
    """What :func:`check` and :func:`check_samples` return. `passed`: no statistical row fails and
    no exact comparison under an identical numeric signature differs."""

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
    from .report.fmt import num

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


def _show(value: Any) -> str:
    return "(absent)" if value is _ABSENT else json.dumps(value, sort_keys=True, default=str)


_ABSENT = object()


# ----------------------------------------------------------------------------- inputs
def _label(group: Mapping[str, Any]) -> str:
    return "/".join([group["variant"], group["dataset"]] + ([group["point"]] if group.get("point") else []))


def _validate(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise HarnessError(f"{what}: not a gan-harness baseline")
    if data.get("format_version") != FORMAT_VERSION:
        raise HarnessError(f"{what}: baseline format version {data.get('format_version')}, this gan-harness reads "
                           f"{FORMAT_VERSION}")
    groups = data.get("groups")
    if not isinstance(groups, list):
        raise HarnessError(f"{what}: corrupt baseline (no 'groups' list)")
    for i, g in enumerate(groups):
        ok = (isinstance(g, Mapping) and all(isinstance(g.get(k), str) for k in ("variant", "dataset"))
              and isinstance(g.get("seeds"), list) and isinstance(g.get("protocol"), Mapping)
              and all(isinstance(s, Mapping) and isinstance(s.get("metrics"), Mapping) for s in g["seeds"]))
        if not ok:
            raise HarnessError(f"{what}: corrupt baseline (group {i} lacks variant, dataset, protocol or seeds with "
                               "metrics)")
    return dict(data)


def load_side(source: Any, role: str) -> tuple[dict[str, Any], str]:
    """(baseline dict with non-finite floats as floats, description) of a check input: a recorded
    baseline file, a runs directory (harness.baseline.build_baseline, in memory; skipped runs are
    warned about) or an already loaded baseline dict. HarnessError naming `role` otherwise."""
    if isinstance(source, Mapping):
        return _validate(decode_non_finite(dict(source)), f"{role} (in memory)"), f"{role} (in memory)"
    from .baseline import build_baseline, load_baseline

    path = Path(resolve_baseline_arg(source))
    if not path.exists():
        raise HarnessError(f"{role} not found: {path}")
    if path.is_dir():
        return _validate(decode_non_finite(build_baseline(path)), str(path)), f"{path} (runs directory)"
    return _validate(load_baseline(path), str(path)), str(path)


def _check_options(test: str, alpha: float, margin_sds: float, margins: Mapping[str, float] | None) -> dict[str, float]:
    from .metrics import METRICS
    from .spec import unknown_key_message

    if test not in TESTS:
        raise HarnessError(unknown_key_message(str(test), list(TESTS), what="--test"))
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 0.5):
        raise HarnessError(f"--alpha must be in (0, 0.5), got {alpha!r}")
    if not (isinstance(margin_sds, (int, float)) and math.isfinite(margin_sds) and margin_sds > 0):
        raise HarnessError(f"--margin-sds must be a positive number, got {margin_sds!r}")
    out = {}
    for metric, value in (margins or {}).items():
        if metric not in METRICS:
            raise HarnessError(METRICS.unknown_message(metric).replace("unknown metric", "--margin: unknown metric", 1))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise HarnessError(f"--margin {metric}={value!r}: the margin must be a positive number in {metric}'s units")
        out[metric] = float(value)
    return out


def _check_statistic(statistic: str, test: str = DEFAULT_TEST, margins: Mapping[str, float] | None = None) -> None:
    from .spec import unknown_key_message

    if statistic not in STATISTICS:
        raise HarnessError(unknown_key_message(str(statistic), list(STATISTICS), what="--statistic"))
    if statistic == "permutation" and test == "equivalence" and margins:
        raise HarnessError("--margin with --test equivalence needs --statistic rank or mean (the permutation "
                           "statistic's equivalence rows test for any difference, without a margin)")


def parse_margins(items: Iterable[str] | None) -> dict[str, float]:
    """``--margin METRIC=VALUE`` (repeatable) -> {metric: δ}; validated by :func:`check`."""
    out: dict[str, float] = {}
    for item in items or []:
        if "=" not in item:
            raise HarnessError(f"--margin {item!r}: expected METRIC=VALUE, e.g. w1=0.05")
        metric, value = (x.strip() for x in item.split("=", 1))
        if metric in out:
            raise HarnessError(f"--margin {metric} is given twice")
        try:
            out[metric] = float(value)
        except ValueError:
            raise HarnessError(f"--margin {item!r}: {value!r} is not a number") from None
    return out


# ----------------------------------------------------------------------------- matching
def protocol_differences(candidate: Mapping[str, Any], baseline: Mapping[str, Any]) -> list[str]:
    """'key: candidate value vs baseline value' for every flattened protocol key that differs
    (harness.report.protocols.IGNORED_FIELDS left out)."""
    from .report.protocols import IGNORED_FIELDS, flatten

    fc = {k: v for k, v in flatten(candidate).items() if k not in IGNORED_FIELDS}
    fb = {k: v for k, v in flatten(baseline).items() if k not in IGNORED_FIELDS}
    return [f"{k}: {_show(fc.get(k, _ABSENT))} vs {_show(fb.get(k, _ABSENT))}" for k in sorted(set(fc) | set(fb))
            if _show(fc.get(k, _ABSENT)) != _show(fb.get(k, _ABSENT))]


def config_differences(candidate: Mapping[str, Any], baseline: Mapping[str, Any]) -> list[str]:
    """The same for two groups' configs and settings."""
    from .report.protocols import flatten

    a = {**flatten(candidate.get("config") or {}), "setting": candidate.get("setting", "")}
    b = {**flatten(baseline.get("config") or {}), "setting": baseline.get("setting", "")}
    return [f"{k}: {_show(a.get(k, _ABSENT))} vs {_show(b.get(k, _ABSENT))}" for k in sorted(set(a) | set(b))
            if _show(a.get(k, _ABSENT)) != _show(b.get(k, _ABSENT))]


def match_groups(candidate: Mapping[str, Any], baseline: Mapping[str, Any], pairs: Mapping[str, str] | None = None
                 ) -> tuple[list[tuple[dict, dict]], list[str], list[str]]:
    """(matched (candidate group, baseline group) pairs, unmatched candidate labels, unmatched
    baseline labels). Groups match on (variant, data set, grid point), the candidate's variant
    first mapped through `pairs` (candidate variant -> baseline variant)."""
    pairs = dict(pairs or {})
    cand_variants = sorted({g["variant"] for g in candidate["groups"]})
    for name in pairs:
        if name not in cand_variants:
            raise HarnessError(f"pairs: the candidate has no variant {name!r} (it has: {', '.join(cand_variants)})")
    base = {(g["variant"], g["dataset"], g.get("point", "")): g for g in baseline["groups"]}
    matched, used, unmatched_c = [], set(), []
    for g in candidate["groups"]:
        key = (pairs.get(g["variant"], g["variant"]), g["dataset"], g.get("point", ""))
        if key in base:
            matched.append((g, base[key]))
            used.add(key)
        else:
            unmatched_c.append(_label(g))
    unmatched_b = [_label(g) for k, g in base.items() if k not in used]
    return matched, unmatched_c, unmatched_b


# ----------------------------------------------------------------------------- statistics
def welch_bounds(candidate: np.ndarray, baseline: np.ndarray, alpha: float = DEFAULT_ALPHA,
                 test: str = DEFAULT_TEST) -> tuple[Any, Any, Any]:
    """(Δ̂, low, high) of Δ = mean(candidate) - mean(baseline) from Welch's t (seeds on the last axis;
    vectorised over leading axes for simulation): non-inferiority the one-sided lower (1 - α)
    bound (high = +inf), equivalence the two-sided (1 - 2α) interval; both are Δ̂ -+ t_{1-α, df} se.
    With both variances 0 the difference is exact: low = high = Δ̂ (one-sided: high = +inf)."""
    from scipy import stats as sps

    from .report.stats import welch_difference

    diff, se, df = welch_difference(candidate, baseline)
    diff, se, df = np.asarray(diff, np.float64), np.asarray(se, np.float64), np.asarray(df, np.float64)
    with np.errstate(invalid="ignore"):
        q = np.where(se > 0, sps.t.ppf(1 - alpha, np.where(se > 0, df, 1.0)), 0.0)
    low = diff - q * se
    high = diff + q * se if test == "equivalence" else np.full_like(diff, np.inf)
    if diff.ndim == 0:
        return float(diff), float(low), float(high)
    return diff, low, high


def margin_from_sd(seed_sd: Any, noise_sd: Any, margin_sds: float = DEFAULT_MARGIN_SDS) -> Any:
    """δ = margin_sds × max(seed sd, evaluation-noise sd, SD_FLOOR), NaN inputs ignored
    (vectorised)."""
    s = np.fmax(np.fmax(np.asarray(seed_sd, np.float64), np.asarray(noise_sd, np.float64)), SD_FLOOR)
    return margin_sds * s if s.ndim else float(margin_sds * s)


def t_decision(low: Any, high: Any, margin: Any, test: str = DEFAULT_TEST) -> Any:
    """The decision from Welch's bounds (vectorised): non-inferiority REGRESSION iff low <= -δ,
    better iff low > δ, else pass; equivalence pass iff -δ < low and high < δ."""
    low, high, margin = (np.asarray(x, np.float64) for x in (low, high, margin))
    if test == "equivalence":
        out = np.where((low > -margin) & (high < margin), PASS, NOT_EQUIVALENT)
    else:
        out = np.where(low > -margin, np.where(low > margin, BETTER, PASS), REGRESSION)
    return str(out) if out.ndim == 0 else out


def simulate_noninferiority(n_candidate: int, n_baseline: int, shift: float = 0.0, *,
                            margin_sds: float = DEFAULT_MARGIN_SDS, alpha: float = DEFAULT_ALPHA,
                            tries: int = 20000, seed: int = 0) -> float:
    """Share of `tries` simulated checks that call a REGRESSION with the default test, when the
    baseline's seeds are N(0, 1) and the candidate's N(-shift, 1) (shift > 0: truly worse by `shift`
    seed sds): the false-alarm rate at shift 0, the power otherwise. The margin comes from the
    baseline's own simulated seeds (its sd estimated from them), as in a real check; the bound and
    the decision are the functions a real check uses (:func:`welch_bounds`, :func:`margin_from_sd`,
    :func:`t_decision`)."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(tries, n_baseline))
    cand = rng.normal(size=(tries, n_candidate)) - shift
    _, low, high = welch_bounds(cand, base, alpha, DEFAULT_TEST)
    margin = margin_from_sd(base.std(axis=1, ddof=1), np.nan, margin_sds)
    return float(np.mean(t_decision(low, high, margin, DEFAULT_TEST) == REGRESSION))


@functools.lru_cache(maxsize=256)
def row_false_alarm(n_candidate: int, n_baseline: int, test: str = DEFAULT_TEST, margin_sds: float = DEFAULT_MARGIN_SDS,
                    alpha: float = DEFAULT_ALPHA, tries: int = 20000) -> float:
    """The share of one row's checks that fail when candidate and baseline seeds come from one
    normal distribution (the margin from the baseline's own seeds, as in a real check): the row's
    false-alarm rate under normal theory, for `test` "noninferiority" or "equivalence"
    (simulated with a fixed seed, so the same arguments give the same number)."""
    rng = np.random.default_rng(20240)
    base = rng.normal(size=(tries, n_baseline))
    cand = rng.normal(size=(tries, n_candidate))
    _, low, high = welch_bounds(cand, base, alpha, test)
    margin = margin_from_sd(base.std(axis=1, ddof=1), np.nan, margin_sds)
    decision = t_decision(low, high, margin, test)
    return float(np.mean((decision == REGRESSION) | (decision == NOT_EQUIVALENT)))


def family_false_alarm(rows: Sequence[Row], test: str, margin_sds: float, alpha: float) -> tuple[float, int]:
    """(the sum of the per-row false-alarm rates of the rows judged by a t test, their number): an
    upper bound, under normal theory, on the share of checks of a candidate that behaves exactly
    like the baseline that fail at least one of these rows (rows are correlated, so the true share
    is lower)."""
    total, n = 0.0, 0
    for r in rows:
        if not r.test.startswith(("Welch", "behaviour")) or r.decision == NA:
            continue
        row_test = "equivalence" if r.metric.startswith(PROBE_PREFIX) else test
        total += row_false_alarm(r.n_candidate, r.n_baseline, row_test, margin_sds, alpha)
        n += 1
    return min(total, 1.0), n


def _seeds_for_rank_test(n_c: int, n_b: int, alpha: float) -> tuple[int, int]:
    """(candidate seeds needed against n_b, baseline seeds needed against n_c) for the exact
    one-sided Mann-Whitney test to reach p < alpha at all: 1 / C(n_c + n_b, n_c) < alpha."""
    need_c = next(n for n in range(max(n_c, 1), 10_000) if 1 / math.comb(n + n_b, n) < alpha)
    need_b = next(n for n in range(max(n_b, 1), 10_000) if 1 / math.comb(n + n_c, n) < alpha)
    return need_c, need_b


def _metric_values(seeds: Sequence[Mapping[str, Any]], metric: str) -> np.ndarray:
    out = []
    for s in seeds:
        v = s["metrics"].get(metric)
        out.append(math.nan if v is None else float(v))
    return np.asarray(out, np.float64)


def _noise_sd(seeds: Sequence[Mapping[str, Any]], metric: str) -> float:
    sds = []
    for s in seeds:
        noise = s.get("eval_noise")
        sd = (noise.get("sd") or {}).get(metric) if isinstance(noise, Mapping) else None
        if isinstance(sd, (int, float)) and not isinstance(sd, bool) and math.isfinite(sd):
            sds.append(float(sd))
    return float(np.mean(sds)) if sds else math.nan


def _share_text(k: int, n: int, k_b: int, n_b: int, what: str) -> str:
    return f"{what} in {k}/{n} seeds against {k_b}/{n_b}"


class _Options:
    def __init__(self, test: str, alpha: float, margin_sds: float, margins: dict[str, float],
                 statistic: str = DEFAULT_STATISTIC):
        self.test, self.alpha, self.margin_sds, self.margins = test, alpha, margin_sds, margins
        self.statistic = statistic
        #: permutation statistic: (row label, metric) -> the row's oriented values, until the check
        #: decides all rows at once (:func:`_decide_permutation_rows`)
        self.permutation_inputs: dict[tuple[str, str], Any] = {}

    def pending_permutation_row(self, common: dict, c: np.ndarray, b: np.ndarray, sided: str, shift: float = 0.0,
                                detail: str = "") -> Row:
        """A row of the permutation statistic before its decision; `c` and `b` oriented (NaN: worst)."""
        from .permutation import RowInput
        from .report.stats import quantile

        label = common["group"] if common["group"] == common["baseline_group"] else \
            f"{common['group']} vs {common['baseline_group']}"
        self.permutation_inputs[(label, common["metric"])] = RowInput(label, c, b, sided, shift)
        cf, bf = c[~np.isnan(c)], b[~np.isnan(b)]
        with np.errstate(invalid="ignore"):
            med = quantile(cf, 0.5) - quantile(bf, 0.5) if len(cf) and len(bf) else math.nan
        what = "one-sided" if sided == "less" else "two-sided"
        return Row(**{"n_candidate_finite": int(len(cf)), "n_baseline_finite": int(len(bf)), **common},
                   delta_hat=float(med) if not math.isnan(med) else math.nan, low=math.nan, high=math.nan,
                   p=math.nan, decision=PENDING, test=f"joint permutation, rank sum, {what}", detail=detail)


def _rank_row(common: dict, c: np.ndarray, b: np.ndarray, margin: float, test: str, detail: str = "") -> Row:
    """A row of the rank statistic before its decision: the exact Mann-Whitney p of "candidate worse
    than the baseline by more than δ" (oriented values, candidate shifted by +δ; equivalence: the
    smaller of the two one-sided p's of a shift beyond ±δ, doubled). The decision comes once the
    check knows how many rows it judges (:func:`_decide_rank_rows`)."""
    from .report.stats import mannwhitney, quantile

    with np.errstate(invalid="ignore"):
        med = quantile(c, 0.5) - quantile(b, 0.5)
    if math.isnan(med):  # inf - inf
        med = 0.0
    _, p_worse, method = mannwhitney(c + margin, b, "less")
    if test == "equivalence":
        _, p_better, _ = mannwhitney(c - margin, b, "greater")
        p = min(1.0, 2 * min(p_worse, p_better))
        what = f"exact Mann-Whitney, two one-sided ({method})"
    else:
        p = p_worse
        what = f"exact Mann-Whitney, one-sided ({method})"
    return Row(**common, delta_hat=float(med), low=math.nan, high=math.nan, p=float(p), decision=PENDING,
               test=what, detail=detail)


def _decide_rank_rows(rows: list[Row], alpha: float) -> tuple[list[Row], int]:
    """Decide the rank rows of a whole check at once: Bonferroni, each row at alpha / m with m the
    number of rank rows that can reach that level at all (a row whose smallest possible p is above
    it is "n/a", with the seeds it would need)."""
    from dataclasses import replace

    from .report.stats import min_pvalue_mannwhitney

    pending = [r for r in rows if r.decision == PENDING]
    m = len(pending)
    out = []
    for r in rows:
        if r.decision != PENDING:
            out.append(r)
            continue
        two = r.metric.startswith(PROBE_PREFIX) or "two one-sided" in r.test
        level = alpha / max(m, 1)
        floor = min_pvalue_mannwhitney(r.n_candidate_finite, r.n_baseline_finite, "two-sided" if two else "less")
        if floor >= level:
            need = next(n for n in range(r.n_candidate_finite, 10_000)
                        if min_pvalue_mannwhitney(n, r.n_baseline_finite, "two-sided" if two else "less") < level)
            out.append(replace(r, decision=NA, seeds_needed=need, detail=(r.detail + "; " if r.detail else "") +
                               f"not judged: its smallest p with {r.n_candidate_finite} candidate and "
                               f"{r.n_baseline_finite} baseline seeds is {floor:.2g}, not < α/m = {level:.2g} "
                               f"(m = {m} rows); it needs {need} candidate seeds against these"))
            continue
        failed = r.p < level
        decision = (NOT_EQUIVALENT if two else REGRESSION) if failed else PASS
        out.append(replace(r, decision=decision, detail=(r.detail + "; " if r.detail else "") +
                           f"p = {r.p:.3g} vs α/m = {level:.2g}"))
    return out, m


def _decide_permutation_rows(rows: list[Row], opts: _Options) -> list[Row]:
    """Decide the permutation rows of a whole check at once: one joint permutation test over all
    of them (harness.permutation: labels permuted per matched pair, all its rows at once; pairs
    independent), Westfall-Young min-p step-down adjusted p <= alpha fails the row. A row that could
    not reach alpha with these seed counts even at its most extreme (its ``seeds_floor``) and did not
    fail is "n/a", with the candidate seeds that would judge it."""
    from dataclasses import replace

    from .permutation import joint_permutation_test, seeds_needed

    pending = [r for r in rows if r.decision == PENDING]
    if not pending:
        return rows
    inputs = [opts.permutation_inputs[(r.label, r.metric)] for r in pending]
    results = dict(zip(((r.label, r.metric) for r in pending),
                       joint_permutation_test(inputs, max_exact=PERMUTATION_MAX_EXACT,
                                              n_resamples=PERMUTATION_RESAMPLES, seed=PERMUTATION_SEED)))
    m, a = len(pending), opts.alpha
    out = []
    for r in rows:
        if r.decision != PENDING:
            out.append(r)
            continue
        res, inp = results[(r.label, r.metric)], opts.permutation_inputs[(r.label, r.metric)]
        two = inp.sided == "two-sided"
        mc = f" ± {res.mc_error:.2g} (Monte Carlo)" if res.mc_error > 0 else ""
        where = (r.detail + "; " if r.detail else "")
        if res.p_adjusted <= a:
            decision = NOT_EQUIVALENT if two else REGRESSION
            text = f"p = {res.p:.3g}, adjusted {res.p_adjusted:.3g}{mc} ≤ α = {_fmt_alpha(a)} (min-p over {m} rows)"
            out.append(replace(r, decision=decision, p=res.p, p_adjusted=res.p_adjusted, detail=where + text))
        elif res.seeds_floor > a:
            n_c, n_b = len(inp.candidate), len(inp.baseline)
            need = seeds_needed(n_b, m, a, inp.sided)
            text = (f"not judged: at its most extreme this row's adjusted p would be {res.seeds_floor:.2g} > α = "
                    f"{_fmt_alpha(a)} with {n_c} candidate and {n_b} baseline seeds ({m} rows); {need.bonferroni} "
                    f"candidate seeds against these judge it whatever the rows' correlation (fewer than "
                    f"{need.minimum} never do)")
            out.append(replace(r, decision=NA, p=res.p, p_adjusted=res.p_adjusted, seeds_needed=need.bonferroni,
                               detail=where + text))
        else:
            text = f"p = {res.p:.3g}, adjusted {res.p_adjusted:.3g}{mc} > α = {_fmt_alpha(a)}"
            out.append(replace(r, decision=PASS, p=res.p, p_adjusted=res.p_adjusted, detail=where + text))
    return out


def _decide_rows(rows: list[Row], opts: _Options) -> list[Row]:
    """The decisions a check takes once it has every row (rank: Bonferroni; permutation: joint)."""
    if opts.statistic == "rank":
        return _decide_rank_rows(rows, opts.alpha)[0]
    if opts.statistic == "permutation":
        return _decide_permutation_rows(rows, opts)
    return rows


def _metric_row(label: str, base_label: str, metric: str, cand_seeds: list, base_seeds: list, opts: _Options) -> Row:
    from .report.collect import higher_is_better
    from .report.fmt import cell
    from .report.stats import describe, finite, mannwhitney, min_pvalue_mannwhitney, quantile

    hib = higher_is_better(metric)
    sign = 1.0 if hib else -1.0
    c_raw, b_raw = _metric_values(cand_seeds, metric), _metric_values(base_seeds, metric)
    cs, bs = describe(c_raw), describe(b_raw)
    b_fin = finite(b_raw)
    seed_sd = float(np.std(b_fin, ddof=1)) if len(b_fin) >= 2 else math.nan
    noise = _noise_sd(base_seeds, metric)
    from .metrics import METRICS

    resolution = METRICS.get(metric).resolution if metric in METRICS else 0.0
    quantum = resolution / math.sqrt(12) if resolution > 0 else math.nan
    if metric in opts.margins:
        margin, source = opts.margins[metric], "--margin"
    elif opts.statistic in ("rank", "permutation"):
        margin, source = 0.0, f"none ({opts.statistic} test: same distribution)"
    else:
        # the same value as margin_from_sd(seed_sd, noise, k), naming which sd it came from
        sds = ((seed_sd, "seed sd"), (noise, "eval-noise sd"), (quantum, "resolution/√12"), (SD_FLOOR, "sd floor"))
        s_used, which = max(((v, w) for v, w in sds if not math.isnan(v)), key=lambda x: x[0])
        margin = opts.margin_sds * s_used
        source = f"{_num(opts.margin_sds)} × {which}"
    common = dict(group=label, baseline_group=base_label, metric=metric, higher_is_better=hib,
                  n_candidate=len(c_raw), n_baseline=len(b_raw), candidate_mean=cs.mean, candidate_sd=cs.std,
                  baseline_mean=bs.mean, baseline_sd=bs.std, candidate_text=cell(cs, nan_label="diverged"),
                  baseline_text=cell(bs, nan_label="diverged"), margin=float(margin), margin_source=source)
    nan = math.nan
    k_c, k_b = int(np.isnan(c_raw).sum()), int(np.isnan(b_raw).sum())
    if opts.statistic == "permutation":  # NaN (no value: diverged) ranks as the worst value
        if opts.test == "equivalence":
            sided, shift = "two-sided", 0.0
        else:
            sided, shift = "less", (margin if metric in opts.margins else 0.0)
        inf_c, inf_b = int(np.isinf(c_raw).sum()), int(np.isinf(b_raw).sum())
        notes = [_share_text(k, len(c_raw), kb, len(b_raw), what) for k, kb, what in
                 ((k_c, k_b, "no value (diverged)"), (inf_c, inf_b, "non-finite")) if k or kb]
        return opts.pending_permutation_row(common, sign * c_raw, sign * b_raw, sided, shift, "; ".join(notes))
    if k_c * len(b_raw) > k_b * len(c_raw):  # a larger share of seeds without a value
        return Row(**common, delta_hat=nan, low=nan, high=nan, p=nan, decision=REGRESSION,
                   test="divergence (NaN) count", detail=_share_text(k_c, len(c_raw), k_b, len(b_raw), "diverged"))
    c, b = sign * c_raw[~np.isnan(c_raw)], sign * b_raw[~np.isnan(b_raw)]
    if len(c) < MIN_SEEDS or len(b) < MIN_SEEDS:
        return Row(**common, delta_hat=nan, low=nan, high=nan, p=nan, decision=NA, test="none",
                   detail=f"fewer than {MIN_SEEDS} values on a side once NaN (diverged) seeds are left out "
                          f"({len(c)} candidate, {len(b)} baseline)")
    if opts.statistic == "rank":
        inf_c, inf_b = int(np.isinf(c).sum()), int(np.isinf(b).sum())
        detail = _share_text(inf_c, len(c), inf_b, len(b), "non-finite") if inf_c or inf_b else ""
        return _rank_row({**common, "n_candidate_finite": len(c), "n_baseline_finite": len(b)}, c, b, margin,
                         opts.test, detail)
    if np.isfinite(c).all() and np.isfinite(b).all():
        diff, low, high = welch_bounds(c, b, opts.alpha, opts.test)
        test = (f"Welch one-sided {_pct(1 - opts.alpha)} lower bound" if opts.test == "noninferiority"
                else f"Welch TOST, {_pct(1 - 2 * opts.alpha)} interval")
        return Row(**common, delta_hat=diff, low=low, high=high, p=nan,
                   decision=t_decision(low, high, margin, opts.test), test=test)
    # an infinite value on either side: ranks and medians
    inf_c, inf_b = int(np.isinf(c).sum()), int(np.isinf(b).sum())
    detail = _share_text(inf_c, len(c), inf_b, len(b), "non-finite")
    if len(c) == len(b) and np.array_equal(np.sort(c), np.sort(b)):  # the same values (e.g. a rerun): no test
        return Row(**common, delta_hat=0.0, low=nan, high=nan, p=1.0, decision=PASS,
                   test="none needed: identical values", detail=detail)
    if min_pvalue_mannwhitney(len(c), len(b), "less") >= opts.alpha:
        need_c, need_b = _seeds_for_rank_test(len(c), len(b), opts.alpha)
        return Row(**common, delta_hat=nan, low=nan, high=nan, p=nan, decision=NA, seeds_needed=need_c,
                   test="not judged: exact Mann-Whitney, one-sided, cannot reach the level",
                   detail=f"{detail}; its smallest p with {len(c)} candidate and {len(b)} baseline values is "
                          f"1/{math.comb(len(c) + len(b), len(c))}, not < {_fmt_alpha(opts.alpha)}: it needs "
                          f"{need_c} candidate seeds against these {len(b)}, or {need_b} baseline seeds against "
                          f"these {len(c)}")
    _, p_worse, method = mannwhitney(c, b, "less")
    _, p_better, _ = mannwhitney(c, b, "greater")
    with np.errstate(invalid="ignore"):
        med = quantile(c, 0.5) - quantile(b, 0.5)  # inf - inf: NaN, neither worse nor better
    worse = p_worse < opts.alpha and med < -margin
    better = p_better < opts.alpha and med > margin
    if opts.test == "equivalence":
        decision = NOT_EQUIVALENT if (worse or better) else PASS
    else:
        decision = REGRESSION if worse else BETTER if better else PASS
    return Row(**common, delta_hat=float(med), low=nan, high=nan, p=float(p_worse), decision=decision,
               test=f"exact Mann-Whitney, one-sided ({method}), and medians", detail=detail)


def _diverged_row(label: str, base_label: str, cand_seeds: list, base_seeds: list, opts: _Options | None = None) -> Row:
    """The share of diverged runs: under the permutation statistic a row of the joint test (a
    diverged run is worse than a finished one); otherwise any larger share fails."""
    c = np.array([s.get("status") == "diverged" for s in cand_seeds], np.float64)
    b = np.array([s.get("status") == "diverged" for s in base_seeds], np.float64)
    k_c, k_b, n_c, n_b = int(c.sum()), int(b.sum()), len(c), len(b)
    nan = math.nan
    common = dict(group=label, baseline_group=base_label, metric=DIVERGED_ROW, higher_is_better=None,
                  n_candidate=n_c, n_baseline=n_b, candidate_mean=k_c / n_c, candidate_sd=nan, baseline_mean=k_b / n_b,
                  baseline_sd=nan, candidate_text=f"{k_c}/{n_c} diverged", baseline_text=f"{k_b}/{n_b} diverged",
                  margin=nan, margin_source="")
    if opts is not None and opts.statistic == "permutation":
        return opts.pending_permutation_row(common, -c, -b, "less", 0.0, _share_text(k_c, n_c, k_b, n_b, "diverged"))
    failed = k_c * n_b > k_b * n_c
    return Row(**common, delta_hat=nan, low=nan, high=nan, p=nan, decision=REGRESSION if failed else PASS,
               test="divergence (status) count", detail=_share_text(k_c, n_c, k_b, n_b, "diverged"))


#: the floor of a behaviour row's sd (log10 units for log-scale probes, i.e. 2.3 %; the probe's own
#: units for losses and the gap): a probe whose seeds agree closely (SN-GAN's largest singular value
#: is 1 in every seed) still gets a margin of BEHAVIOUR_SD_FLOOR x k
BEHAVIOUR_SD_FLOOR = 0.01
PROBE_PREFIX = "probe:"


def _behaviour_values(seeds: Sequence[Mapping[str, Any]], name: str, scale: str) -> np.ndarray:
    out = []
    for s in seeds:
        v = (s.get("behaviour") or {}).get(name)
        v = math.nan if v is None else float(v)
        if scale == "log":
            v = math.log10(v) if v > 0 and math.isfinite(v) else (math.nan if math.isnan(v) or v == math.inf else -math.inf)
        out.append(v)
    return np.asarray(out, np.float64)


def _behaviour_row(label: str, base_label: str, name: str, scale: str, cand_seeds: list, base_seeds: list,
                   opts: _Options) -> Row:
    """Equivalence (TOST) of one training-behaviour summary: no direction is better, so a candidate
    whose gradients, losses or singular values sit far from the baseline's fails either way."""
    from .report.stats import describe

    c_raw, b_raw = _behaviour_values(cand_seeds, name, scale), _behaviour_values(base_seeds, name, scale)
    cs, bs = describe(c_raw), describe(b_raw)
    b_fin = b_raw[np.isfinite(b_raw)]
    seed_sd = float(np.std(b_fin, ddof=1)) if len(b_fin) >= 2 else math.nan
    s_used, which = (seed_sd, "seed sd") if not math.isnan(seed_sd) and seed_sd >= BEHAVIOUR_SD_FLOOR else \
        (BEHAVIOUR_SD_FLOOR, "sd floor")
    margin = opts.margin_sds * s_used
    unit = "log10 " if scale == "log" else ""

    def txt(d: Any) -> str:
        return "no value" if math.isnan(d.mean) else f"{_num(d.mean)} ± {_num(d.std)}" if not math.isnan(d.std) \
            else _num(d.mean)

    common = dict(group=label, baseline_group=base_label, metric=PROBE_PREFIX + name, higher_is_better=None,
                  n_candidate=len(c_raw), n_baseline=len(b_raw), candidate_mean=cs.mean, candidate_sd=cs.std,
                  baseline_mean=bs.mean, baseline_sd=bs.std, candidate_text=unit + txt(cs),
                  baseline_text=unit + txt(bs), margin=float(margin),
                  margin_source=f"{_num(opts.margin_sds)} × {which}")
    nan = math.nan
    k_c, k_b = int((~np.isfinite(c_raw)).sum()), int((~np.isfinite(b_raw)).sum())
    if opts.statistic == "permutation":  # two-sided; a missing value (NaN) ranks lowest
        detail = _share_text(k_c, len(c_raw), k_b, len(b_raw), "non-finite") if k_c or k_b else ""
        return opts.pending_permutation_row({**common, "margin": 0.0, "margin_source": "none (same distribution)"},
                                            c_raw, b_raw, "two-sided", 0.0, detail)
    if k_c * len(b_raw) > k_b * len(c_raw):
        return Row(**common, delta_hat=nan, low=nan, high=nan, p=nan, decision=NOT_EQUIVALENT,
                   test="non-finite count", detail=_share_text(k_c, len(c_raw), k_b, len(b_raw), "non-finite"))
    c, b = c_raw[np.isfinite(c_raw)], b_raw[np.isfinite(b_raw)]
    if len(c) < MIN_SEEDS or len(b) < MIN_SEEDS:
        return Row(**common, delta_hat=nan, low=nan, high=nan, p=nan, decision=NA, test="none",
                   detail=f"fewer than {MIN_SEEDS} finite values on a side ({len(c)} candidate, {len(b)} baseline)")
    if opts.statistic == "rank":
        return _rank_row({**common, "n_candidate_finite": len(c), "n_baseline_finite": len(b),
                          "margin": 0.0, "margin_source": "none (rank test: same distribution)"},
                         c, b, 0.0, "equivalence")
    diff, low, high = welch_bounds(c, b, opts.alpha, "equivalence")
    return Row(**common, delta_hat=diff, low=low, high=high, p=nan,
               decision=t_decision(low, high, margin, "equivalence"),
               test=f"behaviour ({unit or 'linear '}scale, median of the last half of training), Welch TOST, "
                    f"{_pct(1 - 2 * opts.alpha)} interval")


def _behaviour_rows(label: str, base_label: str, cand_seeds: list, base_seeds: list, opts: _Options) -> list[Row]:
    from .baseline import BEHAVIOUR

    def names(seeds: list) -> set[str]:
        return set.intersection(*[set(s.get("behaviour") or {}) for s in seeds]) if seeds else set()

    common = names(cand_seeds) & names(base_seeds)
    return [_behaviour_row(label, base_label, n, BEHAVIOUR[n], cand_seeds, base_seeds, opts)
            for n in BEHAVIOUR if n in common]


def _metrics_of(group: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(registered metrics the group stores, in registration order; unregistered ones)."""
    from .metrics import METRICS

    names = {str(k) for s in group["seeds"] for k in s["metrics"]}
    order = METRICS.registration_order()
    return [m for m in order if m in names], sorted(names - set(order))


def _enough_seeds(label: str, group: Mapping[str, Any], role: str) -> None:
    n = len(group["seeds"])
    if n < MIN_SEEDS:
        raise HarnessError(f"{label}: the {role} has {n} seed{'s' if n != 1 else ''}; the check needs at least "
                           f"{MIN_SEEDS} seeds on each side for Welch's t (3 or more recommended: the default "
                           f"margin is calibrated for 3)")


#: simulated false-alarm rate of the default test with 2 seeds on a side (see the module docstring)
FEW_SEEDS_NOTE = ("fewer than 3 seeds on a side in {label} ({n_c} candidate, {n_b} baseline): the default margin keeps "
                  "false alarms at 5 % from 3 seeds per side; with 2 against 2 it raises about 26 % of them")


def _few_seeds_notes(label: str, n_c: int, n_b: int, opts: _Options) -> list[str]:
    if opts.statistic != "mean" or min(n_c, n_b) >= 3 or opts.margin_sds != DEFAULT_MARGIN_SDS:
        return []
    return [FEW_SEEDS_NOTE.format(label=label, n_c=n_c, n_b=n_b)]


def _compare(cand_group: Mapping[str, Any], base_group: Mapping[str, Any], opts: _Options, *,
             label: str | None = None, status_row: bool = True, behaviour: bool = True) -> list[Row]:
    label = label or _label(cand_group)
    base_label = _label(base_group)
    metrics, _ = _metrics_of(base_group)
    for s in cand_group["seeds"]:
        missing = [m for m in metrics if m not in s["metrics"]]
        if missing:
            raise HarnessError(f"{label}: candidate seed {s.get('seed')} has no {', '.join(missing)} (the baseline "
                               f"{base_label} reports {'it' if len(missing) == 1 else 'them'})")
    rows = [_diverged_row(label, base_label, cand_group["seeds"], base_group["seeds"], opts)] if status_row else []
    rows += [_metric_row(label, base_label, m, cand_group["seeds"], base_group["seeds"], opts) for m in metrics]
    if behaviour:
        rows += _behaviour_rows(label, base_label, cand_group["seeds"], base_group["seeds"], opts)
    return rows


# ----------------------------------------------------------------------------- exact part
def _same_value(a: Any, b: Any) -> bool:
    """a == b, NaN equal to NaN (a stored NaN compared with itself)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def _seed_difference(c: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[str, Any, list[str]] | None:
    """None when two seed entries agree bit for bit; else (where, step, keys): where "history"
    (step None when a side has no per-record hashes) or "final"."""
    hc, hb = c.get("history") or {}, b.get("history") or {}
    dc, db = hc.get("digest") or {}, hb.get("digest") or {}
    keys = sorted(k for k in set(dc) | set(db) if dc.get(k) != db.get(k))
    rc, rb = hc.get("record_hashes"), hb.get("record_hashes")
    if isinstance(rc, list) and isinstance(rb, list):
        sc, sb = hc.get("record_steps") or [], hb.get("record_steps") or []
        for i in range(max(len(rc), len(rb))):
            if i < len(rc) and i < len(rb) and rc[i] == rb[i]:
                continue
            if i < len(sc) and i < len(sb) and sc[i] != sb[i]:
                step: Any = f"{sc[i]} vs {sb[i]}"
            else:
                step = sc[i] if i < len(sc) else sb[i] if i < len(sb) else None
            if i >= len(rc) or i >= len(rb):
                keys = keys or [f"(the {'candidate' if i >= len(rc) else 'baseline'}'s history ends)"]
            return "history", step, keys or ["step"]
    if keys or hc.get("records") != hb.get("records"):
        return "history", None, keys or ["records"]
    cm, bm = c.get("metrics") or {}, b.get("metrics") or {}
    final = sorted(k for k in set(cm) | set(bm) if not _same_value(cm.get(k), bm.get(k)))
    final += [k for k in ("status", "g_steps", "d_steps") if c.get(k) != b.get(k)]
    if final:
        return "final", None, final
    return None


def exact_check(cand_group: Mapping[str, Any], base_group: Mapping[str, Any], label: str | None = None) -> Exact:
    """Bit-for-bit comparison of the seeds two matched groups share (see the module docstring)."""
    label = label or _label(cand_group)
    base_label = _label(base_group)

    def na(why: str) -> Exact:
        return Exact(label, base_label, "not applicable", f"exact: not applicable ({why})")

    if cand_group["variant"] != base_group["variant"]:
        return na(f"variants {cand_group['variant']} vs {base_group['variant']}")
    diff_cfg = config_differences(cand_group, base_group)
    if diff_cfg:
        return na("configs differ: " + ", ".join(d.split(":")[0] for d in diff_cfg))
    base_seeds = {s.get("seed"): s for s in base_group["seeds"]}
    common = [s for s in sorted(cand_group["seeds"], key=lambda s: s.get("seed")) if s.get("seed") in base_seeds]
    if not common:
        return na("no common seeds")
    compared, skipped = [], []
    for s in common:
        sc, sb = s.get("signature_id"), base_seeds[s["seed"]].get("signature_id")
        (compared if sc is not None and sc == sb else skipped).append((s, sc, sb))
    if not compared:
        _, sc, sb = skipped[0]
        if sc is None or sb is None:
            side = " and ".join(r for r, v in (("candidate", sc), ("baseline", sb)) if v is None)
            return na(f"no numeric signature recorded for the {side}")
        return na(f"signatures {sc} vs {sb}")
    for s, _, _ in compared:
        found = _seed_difference(s, base_seeds[s["seed"]])
        if found is None:
            continue
        where, step, keys = found
        if where == "final":
            text = f"exact: differs at seed {s['seed']}, final values: {', '.join(keys)} (histories identical)"
        elif step is None:
            text = (f"exact: differs at seed {s['seed']}, step unknown (no per-record history hashes), keys "
                    f"{', '.join(keys)}")
        else:
            text = f"exact: differs at seed {s['seed']}, step {step}, keys {', '.join(keys)}"
        return Exact(label, base_label, "differs", text, tuple(x[0]["seed"] for x in compared), s["seed"], step,
                     tuple(keys))
    text = f"exact: match ({len(compared)} seed{'s' if len(compared) != 1 else ''})"
    if skipped:
        text += (f"; seed{'s' if len(skipped) != 1 else ''} {', '.join(str(x[0]['seed']) for x in skipped)} not "
                 f"compared (signatures {skipped[0][1]} vs {skipped[0][2]})")
    return Exact(label, base_label, "match", text, tuple(x[0]["seed"] for x in compared))


# ----------------------------------------------------------------------------- entry points
def _check_margins_apply(margins: Mapping[str, float], groups: Iterable[Mapping[str, Any]]) -> None:
    present = {m for g in groups for m in _metrics_of(g)[0]}
    for m in margins:
        if m not in present:
            raise HarnessError(f"--margin {m}: no compared group reports {m} (they report: {', '.join(sorted(present))})")


def check(candidate: Any, baseline: Any, *, pairs: Mapping[str, str] | None = None, test: str = DEFAULT_TEST,
          alpha: float = DEFAULT_ALPHA, margin_sds: float = DEFAULT_MARGIN_SDS,
          margins: Mapping[str, float] | None = None, behaviour: bool = True,
          statistic: str = DEFAULT_STATISTIC) -> CheckResult:
    """Check `candidate` against `baseline` (each a runs directory, a recorded baseline file or a
    loaded baseline dict): the statistical and exact parts of the module docstring.

    `pairs`: candidate variant -> baseline variant ({"mine": "wgan-gp"}); `test`: "noninferiority"
    or "equivalence"; `alpha`: the level; `margin_sds`: k of the default margin; `margins`: {metric:
    δ in metric units}; `behaviour`: also compare the training-behaviour summaries ("probe:" rows)
    where both sides recorded them. Raises HarnessError (the CLI's exit 2) for bad input: a missing, corrupt or
    other-version file, differing protocols, no matched group, too few seeds, unknown options.
    Returns a :class:`CheckResult`; ``result.passed`` is the verdict."""
    margins = _check_options(test, alpha, margin_sds, margins)
    _check_statistic(statistic, test, margins)
    opts = _Options(test, float(alpha), float(margin_sds), margins, statistic)
    cand, cand_desc = load_side(candidate, "candidate")
    base, base_desc = load_side(baseline, "baseline")
    matched, unmatched_c, unmatched_b = match_groups(cand, base, pairs)
    if not matched:
        have_c = ", ".join(_label(g) for g in cand["groups"]) or "none"
        have_b = ", ".join(_label(g) for g in base["groups"]) or "none"
        raise HarnessError(f"no candidate group matches a baseline group (variant, data set, grid point): candidate "
                           f"has {have_c}; baseline has {have_b}")
    mismatches = []
    for cg, bg in matched:
        diffs = protocol_differences(cg["protocol"], bg["protocol"])
        if diffs:
            mismatches.append(f"{_label(cg)}: {'; '.join(diffs)}")
    if mismatches:
        raise HarnessError("protocols differ (candidate vs baseline), refusing to compare: " + " | ".join(mismatches))
    for cg, bg in matched:
        _enough_seeds(_label(cg), cg, "candidate")
        _enough_seeds(_label(bg), bg, "baseline")
    _check_margins_apply(margins, [bg for _, bg in matched])
    rows, exact, cfg, notes = [], [], {}, []
    unregistered = sorted({m for _, bg in matched for m in _metrics_of(bg)[1]})
    if unregistered:
        notes.append(f"not compared (not in the metric registry, so their direction is unknown): {', '.join(unregistered)}")
    for cg, bg in matched:
        rows += _compare(cg, bg, opts, behaviour=behaviour)
        notes += _few_seeds_notes(_label(cg), len(cg["seeds"]), len(bg["seeds"]), opts)
        exact.append(exact_check(cg, bg))
        diffs = config_differences(cg, bg)
        if diffs:
            label = _label(cg) if _label(cg) == _label(bg) else f"{_label(cg)} vs {_label(bg)}"
            cfg[label] = diffs
    rows = _decide_rows(rows, opts)
    notes += _family_note(rows, opts)
    return CheckResult(cand_desc, base_desc, "runs", test, float(alpha), float(margin_sds), margins, rows, exact,
                       unmatched_c, unmatched_b, cfg, notes, statistic=statistic)


def _family_note(rows: Sequence[Row], opts: _Options) -> list[str]:
    if opts.statistic == "permutation":
        m = sum(r.test.startswith("joint permutation") for r in rows)
        if not m:
            return []
        return [f"false alarms: at most {_fmt_alpha(opts.alpha)} of checks of a candidate whose seeds are exchangeable "
                f"with the baseline's fail one of these {m} rows (one joint permutation test, Westfall-Young min-p "
                "step-down: exact family-wise control, no assumption on the distribution of seeds or on how the rows "
                "correlate); the exact part comes on top"]
    if opts.statistic == "rank":
        m = sum(r.test.startswith("exact Mann-Whitney") and r.decision != NA and r.metric != DIVERGED_ROW
                for r in rows)
        if not m:
            return []
        return [f"false alarms: at most {_fmt_alpha(opts.alpha)} of checks of a candidate whose seeds are exchangeable "
                f"with the baseline's fail one of these {m} rank-test rows (exact tests, each at α/{m}: Bonferroni; "
                "no assumption on the distribution of seeds); the diverged rows and the exact part come on top"]
    rate, n = family_false_alarm(rows, opts.test, opts.margin_sds, opts.alpha)
    if n == 0:
        return []
    what = "t-test rows"
    advice = "" if rate <= 0.05 else " (above 5 %: record the baseline with more seeds, e.g. 10, or check more candidate seeds)"
    return [f"false alarms: a candidate that behaves exactly like the baseline fails one of these {n} {what} in "
            f"at most {100 * rate:.1f} % of checks (normal theory, the sum of the rows' rates at these seed counts){advice}"]


def _pick_group(base: Mapping[str, Any], dataset: str, against: str | None, desc: str) -> dict[str, Any]:
    groups = [g for g in base["groups"] if g["dataset"] == dataset]
    if not groups:
        have = sorted({g["dataset"] for g in base["groups"]})
        raise HarnessError(f"baseline {desc} has no group on data set {dataset!r} (it has: {', '.join(have)})")
    labels = [_label(g) for g in groups]
    if against is None:
        if len(groups) > 1:
            raise HarnessError(f"baseline {desc} has {len(groups)} groups on {dataset} ({', '.join(labels)}); name the "
                               "one to compare with --against VARIANT (or VARIANT/POINT)")
        return groups[0]
    variant, _, point = against.partition("/")
    if variant not in {g["variant"] for g in groups}:  # a display spelling (SN-GAN) of a registered variant
        from .variant import VARIANTS

        try:
            variant = VARIANTS.canonical(variant)
        except HarnessError:
            pass  # reported below with the groups the baseline has
    chosen = [g for g in groups if g["variant"] == variant and (not point or g.get("point", "") == point)]
    if not chosen:
        raise HarnessError(f"--against {against}: no such group on {dataset} in baseline {desc} (it has: "
                           f"{', '.join(labels)})")
    if len(chosen) > 1:
        raise HarnessError(f"--against {against}: {len(chosen)} grid points ({', '.join(_label(g) for g in chosen)}); "
                           "name one as VARIANT/POINT")
    return chosen[0]


def _evaluator_for(group: Mapping[str, Any], dataset: str, device: str) -> Any:
    """The evaluator of the group's protocol: the group's config (its evaluation options, data path,
    image size), n_eval and scalar evaluation options taken from the recorded protocol."""
    from .resolve import EVAL_OPTIONS, check_device, dataset_defaults, make_dataset, make_evaluator
    from .spec import FIELDS, make_config

    check_device(device)
    layer = {k: v for k, v in (group.get("config") or {}).items() if k in FIELDS}
    recorded = group["protocol"].get("evaluator") or {}
    for key in ("n_eval",) + EVAL_OPTIONS:
        value = recorded.get(key)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and key in FIELDS:
            layer[key] = value
    cfg = make_config(dataset_defaults(dataset), layer)
    data = make_dataset(dataset, cfg)
    return make_evaluator(data, cfg, device)


def check_samples(samples: Sequence[Any], dataset: str, baseline: Any, *, against: str | None = None,
                  test: str = DEFAULT_TEST, alpha: float = DEFAULT_ALPHA, margin_sds: float = DEFAULT_MARGIN_SDS,
                  margins: Mapping[str, float] | None = None, device: str = "cpu",
                  statistic: str = DEFAULT_STATISTIC) -> CheckResult:
    """Check final samples of a GAN trained outside the harness against one baseline group on
    `dataset`: each item of `samples` (a .npy/.npz/.pt path as `gan-harness evaluate` reads, or an
    array) is one seed's samples, scored by the evaluator of the baseline's protocol; statistical
    part only. `against`: the baseline variant (or VARIANT/POINT), required when the baseline has
    more than one group on `dataset`. Each file must hold exactly the protocol's n_eval samples."""
    from .data import DATASETS
    from .evaluate import load_samples
    from .metrics import METRICS

    margins = _check_options(test, alpha, margin_sds, margins)
    _check_statistic(statistic, test, margins)
    opts = _Options(test, float(alpha), float(margin_sds), margins, statistic)
    samples = list(samples)
    if len(samples) < MIN_SEEDS:
        raise HarnessError(f"--samples: {len(samples)} file{'s' if len(samples) != 1 else ''} given; the check needs at "
                           f"least {MIN_SEEDS} sample files (one per seed) for Welch's t test, 3 or more recommended "
                           "(the default margin is calibrated for 3)")
    dataset = DATASETS.canonical(dataset)  # an unknown name: one line with the known ones
    base, base_desc = load_side(baseline, "baseline")
    group = _pick_group(base, dataset, against, base_desc)
    base_label = _label(group)
    _enough_seeds(base_label, group, "baseline")
    _check_margins_apply(margins, [group])
    evaluator = _evaluator_for(group, dataset, device)
    mine = {"evaluator": evaluator.protocol(),
            "metric_versions": {m: METRICS.get(m).version for m in evaluator.metrics if m in METRICS}}
    theirs = {"evaluator": group["protocol"].get("evaluator") or {},
              "metric_versions": {m: v for m, v in (group["protocol"].get("metric_versions") or {}).items()}}
    diffs = protocol_differences(mine, theirs)
    if diffs:
        raise HarnessError(f"protocols differ (this evaluator vs baseline {base_label}), refusing to compare: "
                           + "; ".join(diffs))
    n_eval = int(evaluator.n_eval)
    arrays, names = [], []
    for i, item in enumerate(samples):
        name = str(item) if isinstance(item, (str, Path)) else f"samples[{i}]"
        arr = load_samples(item) if isinstance(item, (str, Path)) else item
        try:
            arr = evaluator.check_samples(arr)
        except HarnessError as exc:
            raise HarnessError(f"{name}: {exc}") from None
        if len(arr) != n_eval:
            raise HarnessError(f"{name}: {len(arr)} samples, but the baseline's protocol evaluates n_eval = {n_eval} "
                               "samples per seed")
        arrays.append(arr)
        names.append(name)
    seeds = [{"seed": i, "status": "completed", "metrics": evaluator.evaluate(arr), "source": name}
             for i, (arr, name) in enumerate(zip(arrays, names))]
    cand_group = {"variant": "samples", "dataset": dataset, "point": group.get("point", ""), "config": {},
                  "protocol": group["protocol"], "seeds": seeds}
    label = f"samples/{dataset}"
    rows = _compare(cand_group, group, opts, label=label, status_row=False)
    rows = _decide_rows(rows, opts)
    exact = [Exact(label, base_label, "not applicable",
                   "exact: not applicable (sample files: statistical check only)")]
    desc = f"{len(samples)} sample files ({', '.join(names)})"
    return CheckResult(desc, base_desc, "samples", test, float(alpha), float(margin_sds), margins, rows, exact,
                       notes=_few_seeds_notes(label, len(seeds), len(group["seeds"]), opts) + _family_note(rows, opts),
                       statistic=statistic)


# ----------------------------------------------------------------------------- training mode
def packaged_baseline(name: str) -> Path | None:
    """The path of a baseline shipped with the harness (``baselines/<name>.json``, e.g. "ci" or
    "quick"), or None when there is no such file."""
    from importlib import resources

    try:
        path = resources.files("baselines") / f"{name}.json"
    except ModuleNotFoundError:
        return None
    return Path(str(path)) if path.is_file() else None


def resolve_baseline_arg(value: Any) -> Any:
    """A --baseline value: an existing path as given; otherwise the name of a packaged baseline
    ("ci" -> baselines/ci.json); otherwise the path as given (load_side then names it as missing)."""
    if isinstance(value, (str, Path)) and not Path(value).exists() and "/" not in str(value) \
            and not str(value).endswith(".json"):
        packaged = packaged_baseline(str(value))
        if packaged is not None:
            return packaged
    return value


def check_variant(variant: str, against: str, *, suite: str = "ci", seeds: Sequence[int] | None = None,
                  datasets: Sequence[str] | None = None, baseline: Any = None, runs_out: str | Path | None = None,
                  overrides: Mapping[str, Any] | None = None, suite_overrides: Mapping[str, Any] | None = None,
                  jobs: int = 1, device: str = "cpu",
                  progress: bool = False, test: str = DEFAULT_TEST, alpha: float = DEFAULT_ALPHA,
                  margin_sds: float = DEFAULT_MARGIN_SDS, margins: Mapping[str, float] | None = None,
                  behaviour: bool = True, statistic: str = DEFAULT_STATISTIC) -> CheckResult:
    """Train `variant` under `suite`'s protocol (its data sets, setting and budget; `seeds`,
    `datasets` replace the suite's; `overrides` apply to `variant` only, `suite_overrides` to both
    sides, as if the suite defined them: a budget such as {"steps": 200}) and check it against the
    reference variant `against`:

    - with `baseline` (a recorded baseline file, a packaged baseline name such as "ci", or a runs
      directory): against that baseline's `against` groups; only `variant` is trained;
    - without: `against` is trained too, on the same seeds and protocol (no overrides), and the
      two are compared.

    Runs land in `runs_out` (default: a new temporary directory; a given directory is reused, so
    finished runs of the same config are not trained again). Everything is validated before any
    training; bad input raises HarnessError."""
    import tempfile

    from .baseline import build_baseline
    from .suite import SUITES, expand_suite, run_specs
    from .variant import get_variant

    margins_checked = _check_options(test, alpha, margin_sds, margins)
    _check_statistic(statistic, test, margins_checked)
    from .variant import canonical_variant

    # display spellings (SN-GAN) to registered names; unknown names: one line with the known ones
    variant, against = canonical_variant(variant), canonical_variant(against)
    get_variant(variant), get_variant(against)
    spec_suite = SUITES.get(suite)
    changes: dict[str, Any] = {}
    if seeds is not None:
        changes["seeds"] = tuple(int(s) for s in seeds)
    if datasets is not None:
        changes["datasets"] = tuple(datasets)
    if suite_overrides:
        changes["overrides"] = {**spec_suite.overrides, **suite_overrides}
    spec_suite = spec_suite.with_(**changes) if changes else spec_suite
    if len(spec_suite.seeds) < MIN_SEEDS:
        raise HarnessError(f"--seeds: {len(spec_suite.seeds)} seed{'s' if len(spec_suite.seeds) != 1 else ''}; the check "
                           f"needs at least {MIN_SEEDS} (3 or more recommended)")
    if len(set(spec_suite.seeds)) != len(spec_suite.seeds):
        raise HarnessError(f"--seeds: a seed is listed twice ({', '.join(map(str, spec_suite.seeds))})")
    # under a tuned setting the candidate trains with the reference's tuned values (it claims to be it)
    specs = expand_suite(spec_suite.with_(variants=(variant,), tuned_as={variant: against}), overrides, device=device)
    base = None
    if baseline is not None:
        base, _ = load_side(resolve_baseline_arg(baseline), "baseline")
        have = {(g["variant"], g["dataset"]) for g in base["groups"]}
        missing = [d for d in spec_suite.datasets if (against, d) not in have]
        if missing:
            groups = ", ".join(sorted(f"{v}/{d}" for v, d in have)) or "none"
            raise HarnessError(f"baseline has no {against} group on {', '.join(missing)} (it has: {groups})")
        from .trainer import run_protocol

        for d in spec_suite.datasets:  # refuse another protocol before training, not after
            group = next(g for g in base["groups"] if g["variant"] == against and g["dataset"] == d)
            first = next(s for s in specs if s.dataset == d)
            diffs = protocol_differences(to_jsonable(run_protocol(first)), group["protocol"])
            if diffs:
                raise HarnessError(f"protocols differ ({variant} under suite {spec_suite.name} vs baseline "
                                   f"{_label(group)}), refusing to compare: {'; '.join(diffs)}")
    elif variant == against:
        raise HarnessError(f"--variant and --against are both {variant!r}: without --baseline the check trains the "
                           "two side by side; to check a variant against its own recorded runs, give --baseline")
    else:
        specs += expand_suite(spec_suite.with_(variants=(against,)), None, device=device)
    out = Path(runs_out) if runs_out is not None else Path(tempfile.mkdtemp(prefix="gan-harness-check-"))
    if out.exists() and not out.is_dir():
        raise HarnessError(f"--runs-out {out} is a file, not a directory")
    results = run_specs(specs, out, jobs=jobs, progress=progress, references=False)
    failed = [r for r in results if r["status"] == "failed"]
    if failed:
        raise HarnessError(f"{len(failed)} run{'s' if len(failed) != 1 else ''} failed (not a result: the code raised), "
                           f"e.g. {failed[0]['run_id']}: {failed[0]['reason']}")
    built = decode_non_finite(build_baseline(out))
    built["created_from"] = str(out)
    # a reused --runs-out may hold other seeds (an earlier check): compare the seeds asked for only
    wanted = set(spec_suite.seeds)
    built["groups"] = [{**g, "seeds": [s for s in g["seeds"] if s.get("seed") in wanted]} for g in built["groups"]]
    cand = {**built, "groups": [g for g in built["groups"] if g["variant"] == variant]}
    if base is None:
        base = {**built, "groups": [g for g in built["groups"] if g["variant"] == against]}
    else:
        base = {**base, "groups": [g for g in base["groups"] if g["variant"] == against]}
    result = check(cand, base, pairs={variant: against} if variant != against else None, test=test, alpha=alpha,
                   margin_sds=margin_sds, margins=margins_checked, behaviour=behaviour, statistic=statistic)
    result.candidate = f"{variant} trained in {out} ({len(spec_suite.seeds)} seeds, suite {spec_suite.name})"
    return result
