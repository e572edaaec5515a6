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
(:func:`harness.check.statistics._decide_permutation_rows`). A row whose most extreme outcome could not reach alpha with
these seed counts is "n/a".

Verdict (:attr:`CheckResult.verdict`): FAIL (exit 1) when a row or the exact part fails;
INCONCLUSIVE (exit 3) when nothing failed but a row is "n/a" and its group was not shown identical
bit for bit by the exact part (a check that judged nothing must not pass; the result line says how
many candidate seeds would judge it); PASS (exit 0) otherwise.

Statistical part with ``statistic="rank"``: per matched pair and metric an exact one-sided
Mann-Whitney test of "candidate worse" on oriented values (a ``--margin`` δ shifts the candidate by
+δ first), per training-behaviour summary ("probe:" rows) two one-sided tests; every rank row of the
check is then judged at alpha / m (Bonferroni over its m rank rows: :func:`harness.check.statistics._decide_rank_rows`), so
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

The package, by room (this module re-exports their public names; set a constant such as
PERMUTATION_MAX_EXACT on the submodule that reads it, harness.check.statistics, not here):

- :mod:`harness.check.options`: the tests, statistics and their defaults; option validation.
- :mod:`harness.check.result`: :class:`Row`, :class:`Exact`, :class:`CheckResult`, the decision and
  verdict constants, :func:`write_check`, formatting.
- :mod:`harness.check.matching`: loading a side (:func:`load_side`, packaged baselines), matching
  groups, protocol and config differences.
- :mod:`harness.check.statistics`: Welch's bounds and margins, false-alarm rates, the rank and
  permutation statistics, deciding a check's rows.
- :mod:`harness.check.rows`: the rows of one matched pair (metrics, "diverged", "probe:").
- :mod:`harness.check.exact`: the exact part (:func:`exact_check`).
- :mod:`harness.check.modes`: the entry points :func:`check`, :func:`check_samples` and
  :func:`check_variant`.
"""
from .exact import exact_check
from .matching import (config_differences, load_side, match_groups, packaged_baseline, protocol_differences,
                       resolve_baseline_arg)
from .modes import FEW_SEEDS_NOTE, check, check_samples, check_variant
from .options import (DEFAULT_ALPHA, DEFAULT_MARGIN_SDS, DEFAULT_STATISTIC, DEFAULT_TEST, STATISTICS, TESTS,
                      parse_margins)
from .result import (BETTER, CHECK_FORMAT, CHECK_FORMAT_VERSION, DIVERGED_ROW, EXIT_STATUS, FAILING, NA,
                     NOT_EQUIVALENT, PASS, PENDING, PROBE_PREFIX, REGRESSION, VERDICT_FAIL, VERDICT_INCONCLUSIVE,
                     VERDICT_PASS, CheckResult, Exact, Row, write_check)
from .rows import BEHAVIOUR_SD_FLOOR
from .statistics import (MIN_SEEDS, PERMUTATION_MAX_EXACT, PERMUTATION_RESAMPLES, PERMUTATION_SEED, SD_FLOOR,
                         family_false_alarm, margin_from_sd, row_false_alarm, simulate_noninferiority, t_decision,
                         welch_bounds)

__all__ = [
    # entry points
    "check", "check_samples", "check_variant", "write_check", "parse_margins", "packaged_baseline",
    "resolve_baseline_arg",
    # results
    "CheckResult", "Row", "Exact",
    # decisions and verdicts
    "PASS", "BETTER", "REGRESSION", "NOT_EQUIVALENT", "NA", "PENDING", "FAILING", "DIVERGED_ROW", "PROBE_PREFIX",
    "VERDICT_PASS", "VERDICT_FAIL", "VERDICT_INCONCLUSIVE", "EXIT_STATUS", "CHECK_FORMAT", "CHECK_FORMAT_VERSION",
    # options
    "TESTS", "STATISTICS", "DEFAULT_STATISTIC", "DEFAULT_TEST", "DEFAULT_ALPHA", "DEFAULT_MARGIN_SDS",
    # inputs and matching
    "load_side", "match_groups", "protocol_differences", "config_differences",
    # statistics
    "welch_bounds", "margin_from_sd", "t_decision", "simulate_noninferiority", "row_false_alarm",
    "family_false_alarm", "SD_FLOOR", "MIN_SEEDS", "BEHAVIOUR_SD_FLOOR", "FEW_SEEDS_NOTE",
    "PERMUTATION_SEED", "PERMUTATION_MAX_EXACT", "PERMUTATION_RESAMPLES",
    # exact part
    "exact_check",
]
