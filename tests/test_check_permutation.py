"""The check's default statistic (one joint permutation test over all rows, Westfall-Young min-p
step-down: harness.permutation) and its verdicts PASS, FAIL and INCONCLUSIVE (exit 0, 1 and 3).
Every p value below is a count of label assignments: C(5 + 5, 5) = 252, C(4 + 4, 4) = 70."""
from __future__ import annotations

import json
import math

import pytest

from harness import check as check_module
from harness.check import NA, NOT_EQUIVALENT, PASS, REGRESSION
from harness.cli import main
from harness.errors import HarnessError
from report_runs import default_history, mixture_metrics
from test_check import one_error_line, row_line, write_group

check = check_module.check


def _group(seeds, w1_shift=0.0, fd_shift=0.0, hq_shift=0.0):
    """Metrics that vary across seeds, each in its own order (distinct values; seeds 0-4 and 5-9
    interleave); shifts make them worse. The most extreme ("worst") seed sets differ per metric:
    hq lowest for {0, 2, 3, 6, 9}, kl highest for {2, 3, 5, 6, 9}, fd highest for {1, .., 5}."""
    return {s: mixture_metrics(8, hq=0.5 + 0.001 * ((7 * s) % 10) - hq_shift, kl=0.01 + 0.0001 * ((3 * s) % 10),
                               fd=0.05 + 0.001 * ((9 * s) % 10) + fd_shift, w1=1.0 + 0.001 * ((3 * s) % 10) + w1_shift)
            for s in seeds}


def _cli(capsys, *args) -> tuple[int, str, str]:
    code = main(["check", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_default_statistic_is_the_joint_permutation_test(tmp_path):
    write_group(tmp_path / "a", _group(range(5)))
    r = check(tmp_path / "a", tmp_path / "a", behaviour=False)
    assert r.statistic == "permutation" and r.verdict == "PASS" and r.exit_status == 0
    assert "Westfall-Young" in r.describe_test()
    assert all(row.test.startswith("joint permutation") for row in r.rows)


def test_one_worse_metric_fails_with_the_exact_count_of_assignments(tmp_path, capsys):
    write_group(tmp_path / "base", _group(range(5)))
    write_group(tmp_path / "cand", _group(range(5, 10), w1_shift=1.0))
    r = check(tmp_path / "cand", tmp_path / "base", behaviour=False)
    w1 = r.row("vanilla/ring8", "w1")
    # every candidate w1 is worse than every baseline one: 1 of C(10, 5) = 252 assignments is as extreme
    assert w1.p == pytest.approx(1 / 252) and w1.decision == REGRESSION
    # min-p over the rows: modes_covered and the diverged row tie everywhere (p = 1); hq, kl and fd
    # are each at their own extreme (p = 1/252) in one other assignment, so the minimum over rows is
    # <= 1/252 in exactly 4 of the 252 assignments
    assert w1.p_adjusted == pytest.approx(4 / 252) and r.verdict == "FAIL" and r.exit_status == 1
    assert r.row("vanilla/ring8", "modes_covered").p == 1.0
    code, out, _ = _cli(capsys, tmp_path / "cand", "--baseline", tmp_path / "base", "--no-behaviour")
    assert code == 1 and out.strip().endswith("result: FAIL: regression in 1: vanilla/ring8 w1")


def test_correlated_rows_cost_no_power_where_bonferroni_does(tmp_path):
    # w1 and frechet_distance worse by the same ordering: two perfectly correlated rows
    write_group(tmp_path / "base", _group(range(4)))
    write_group(tmp_path / "cand", _group(range(4, 8), w1_shift=1.0, fd_shift=1.0))
    perm = check(tmp_path / "cand", tmp_path / "base", behaviour=False)
    rank = check(tmp_path / "cand", tmp_path / "base", behaviour=False, statistic="rank")
    w1, fd = perm.row("vanilla/ring8", "w1"), perm.row("vanilla/ring8", "frechet_distance")
    assert w1.p == fd.p == pytest.approx(1 / 70)
    # the two correlated rows are extreme in one assignment (the observed one), hq and kl each in
    # one other: min-p gives 3/70, where Bonferroni over the 4 varying rows would give 4/70 per row
    # and more for the tied ones
    assert w1.p_adjusted == fd.p_adjusted == pytest.approx(3 / 70) and w1.decision == REGRESSION
    # Bonferroni over the rank rows cannot: 1/70 = 0.014 > 0.05 / 5
    assert rank.row("vanilla/ring8", "w1").decision == NA
    assert perm.verdict == "FAIL" and rank.verdict == "INCONCLUSIVE"


def test_two_against_two_is_inconclusive_and_names_the_seeds_needed(tmp_path, capsys):
    write_group(tmp_path / "base", _group(range(2)))
    write_group(tmp_path / "cand", _group(range(2, 4), w1_shift=1.0))
    r = check(tmp_path / "cand", tmp_path / "base", behaviour=False)
    w1 = r.row("vanilla/ring8", "w1")
    # 1/C(4, 2) = 1/6 > 0.05 whatever the values: nothing can be judged
    assert w1.decision == NA and w1.p == pytest.approx(1 / 6)
    assert "at its most extreme this row's adjusted p would be" in w1.detail
    assert r.verdict == "INCONCLUSIVE" and not r.passed and not r.failed and r.exit_status == 3
    # 6 rows (diverged + 5 metrics), 2 baseline seeds: 6 / C(k + 2, k) <= 0.05 first at k = 14
    assert w1.seeds_needed == 14 and r.seeds_needed == 14
    code, out, _ = _cli(capsys, tmp_path / "cand", "--baseline", tmp_path / "base", "--no-behaviour",
                        "--out", tmp_path / "chk")
    assert code == 3
    assert "result: INCONCLUSIVE: 6 of 6 rows not judged with these seeds" in out
    assert "14 candidate seeds (here 2) against this baseline would judge them" in out
    saved = json.loads((tmp_path / "chk" / "check.json").read_text())
    assert saved["verdict"] == "INCONCLUSIVE" and saved["exit_status"] == 3 and saved["seeds_needed"] == 14
    assert saved["passed"] is False
    code, out, _ = _cli(capsys, tmp_path / "cand", "--baseline", tmp_path / "base", "--no-behaviour",
                        "--allow-inconclusive")
    assert code == 0 and "result: INCONCLUSIVE" in out


def test_a_constant_row_is_judged_not_inconclusive(tmp_path):
    # modes_covered is 8 in every seed on both sides: p = 1 (no difference), not "not judged"
    write_group(tmp_path / "base", _group(range(4)))
    write_group(tmp_path / "cand", _group(range(4, 8)))
    r = check(tmp_path / "cand", tmp_path / "base", behaviour=False)
    assert r.row("vanilla/ring8", "modes_covered").decision == PASS
    assert r.verdict == "PASS"


def test_diverged_runs_rank_worst_and_the_diverged_row_joins_the_family(tmp_path):
    write_group(tmp_path / "base", _group(range(5)))
    cand = _group(range(5, 10))
    nan_metrics = {k: math.nan for k in cand[5]}
    write_group(tmp_path / "cand", {s: nan_metrics for s in range(5, 10)}, status="diverged")
    r = check(tmp_path / "cand", tmp_path / "base", behaviour=False)
    row = r.row("vanilla/ring8", "diverged")
    assert row.p == pytest.approx(1 / 252) and row.decision == REGRESSION
    # NaN is the worst value of a metric row, not left out
    assert r.row("vanilla/ring8", "hq_fraction").decision == REGRESSION
    assert r.row("vanilla/ring8", "modes_covered").p == pytest.approx(1 / 252)


def test_a_tenfold_gradient_norm_is_not_equivalent_two_sided(tmp_path):
    hist = {s: [{**h, "grad_norm_d": 2.0 * (1 + 0.01 * s)} for h in default_history()] for s in range(5)}
    big = {s: [{**h, "grad_norm_d": 20.0 * (1 + 0.01 * s)} for h in default_history()] for s in range(5, 10)}
    small = {s: [{**h, "grad_norm_d": 0.2 * (1 + 0.01 * s)} for h in default_history()] for s in range(5, 10)}
    write_group(tmp_path / "base", _group(range(5)), histories=hist)
    for name, h in (("big", big), ("small", small)):
        write_group(tmp_path / name, {s: _group(range(5))[s - 5] for s in range(5, 10)}, histories=h)
        r = check(tmp_path / name, tmp_path / "base")
        row = r.row("vanilla/ring8", "probe:grad_norm_d")
        # two-sided: both extremes count, 2 of 252 assignments
        assert row.p == pytest.approx(2 / 252) and row.decision == NOT_EQUIVALENT, name


def test_a_margin_shifts_the_candidate_before_ranking(tmp_path):
    write_group(tmp_path / "base", _group(range(5)))
    write_group(tmp_path / "cand", _group(range(5, 10), w1_shift=0.02))
    assert check(tmp_path / "cand", tmp_path / "base", behaviour=False).row("vanilla/ring8", "w1").failed
    ok = check(tmp_path / "cand", tmp_path / "base", behaviour=False, margins={"w1": 0.03})
    assert ok.row("vanilla/ring8", "w1").decision == PASS and ok.verdict == "PASS"


def test_equivalence_with_a_margin_is_refused_under_the_permutation_statistic(tmp_path, capsys):
    write_group(tmp_path / "a", _group(range(3)))
    with pytest.raises(HarnessError, match="--margin with --test equivalence needs --statistic rank or mean"):
        check(tmp_path / "a", tmp_path / "a", test="equivalence", margins={"w1": 0.1})
    code, _, err = _cli(capsys, tmp_path / "a", "--baseline", tmp_path / "a", "--test", "equivalence",
                        "--margin", "w1=0.1")
    assert code == 2 and "--statistic rank or mean" in one_error_line(err)


def test_the_check_repeats_bit_for_bit_with_monte_carlo_pairs(tmp_path, monkeypatch):
    # force the Monte-Carlo branch; set where it is read (harness.check only re-exports the constant)
    monkeypatch.setattr(check_module.statistics, "PERMUTATION_MAX_EXACT", 10)
    write_group(tmp_path / "base", _group(range(5)))
    write_group(tmp_path / "cand", _group(range(5, 10), w1_shift=1.0))
    a = check(tmp_path / "cand", tmp_path / "base", behaviour=False).as_dict()
    b = check(tmp_path / "cand", tmp_path / "base", behaviour=False).as_dict()
    assert a == b
    w1 = [r for r in a["rows"] if r["metric"] == "w1"][0]
    assert "(Monte Carlo)" in w1["detail"] and w1["decision"] == REGRESSION


def test_the_row_table_shows_the_adjusted_p(tmp_path, capsys):
    write_group(tmp_path / "base", _group(range(5)))
    write_group(tmp_path / "cand", _group(range(5, 10), w1_shift=1.0))
    _, out, _ = _cli(capsys, tmp_path / "cand", "--baseline", tmp_path / "base", "--no-behaviour")
    assert "p = 0.00397, adjusted" in row_line(out, "w1")


# ----------------------------------------------------------------------------- the pytest fixture
def test_the_fixture_fails_an_inconclusive_check_unless_allowed(tmp_path):
    from harness.pytest_plugin import GanCheck

    write_group(tmp_path / "base", _group(range(2)))
    write_group(tmp_path / "cand", _group(range(2, 4)))
    fixture = GanCheck(tmp_path)
    with pytest.raises(AssertionError, match="inconclusive"):
        fixture.runs(tmp_path / "cand", tmp_path / "base", behaviour=False)
    result = fixture.runs(tmp_path / "cand", tmp_path / "base", behaviour=False, allow_inconclusive=True)
    assert result.verdict == "INCONCLUSIVE"
    write_group(tmp_path / "cand5", _group(range(10, 15), w1_shift=1.0))
    write_group(tmp_path / "base5", _group(range(5)))
    with pytest.raises(AssertionError, match="check failed"):
        fixture.runs(tmp_path / "cand5", tmp_path / "base5", behaviour=False, allow_inconclusive=True)


def test_the_family_is_adjusted_one_extreme_row_among_four_varying_ones(tmp_path):
    # 4 against 4: w1 at its extreme (p = 1/70 = 0.014 < 0.05 alone), but hq, kl and fd are each at
    # their own extreme in one other assignment (fd highest for seeds {1, 2, 3, 4}): min-p over the
    # rows is <= 1/70 in 4 of 70 assignments, adjusted p = 4/70 = 0.057 > 0.05: not a regression, and
    # since that is the row's most extreme outcome, these seeds cannot judge it: INCONCLUSIVE
    write_group(tmp_path / "base", _group(range(4)))
    write_group(tmp_path / "cand", _group(range(4, 8), w1_shift=1.0))
    r = check(tmp_path / "cand", tmp_path / "base", behaviour=False)
    w1 = r.row("vanilla/ring8", "w1")
    assert w1.p == pytest.approx(1 / 70) and w1.p_adjusted == pytest.approx(4 / 70)
    assert w1.decision == NA and r.verdict == "INCONCLUSIVE" and not r.failed


# ----------------------------------------------------------------------------- record warns
def test_record_warns_when_a_baseline_cannot_judge_k_candidate_seeds(tmp_path, capsys):
    write_group(tmp_path / "two", _group(range(2)))
    code = main(["record", str(tmp_path / "two"), "--out", str(tmp_path / "two.json")])
    _, err = capsys.readouterr()
    # 4 candidate against 2 baseline seeds: the two-sided behaviour rows' smallest p is 2/C(6, 4) = 0.13
    assert code == 0 and "vanilla/ring8: 2 seeds: a check of 4 candidate seeds can never judge its rows" in err
    assert "smallest p 0.13 > 0.05" in err
    write_group(tmp_path / "five", _group(range(5)))
    main(["record", str(tmp_path / "five"), "--out", str(tmp_path / "five.json")])
    _, err = capsys.readouterr()
    # 2/C(9, 4) = 0.016 is reachable, but 13 rows x 0.016 > 0.05: a softer warning
    assert "5 seeds: a check of 4 candidate seeds may leave rows not judged" in err
    write_group(tmp_path / "twelve", _group(range(12)))
    main(["record", str(tmp_path / "twelve"), "--out", str(tmp_path / "twelve.json")])
    _, err = capsys.readouterr()
    assert "seeds" not in err  # 13 rows x 2/C(16, 4) = 0.014: every row judgeable
    code = main(["record", str(tmp_path / "two"), "--out", str(tmp_path / "x.json"), "--judge-seeds", "0"])
    _, err = capsys.readouterr()
    assert code == 2 and "--judge-seeds must be a positive integer" in one_error_line(err)
    assert not (tmp_path / "x.json").exists()


def test_a_bit_for_bit_rerun_passes_where_statistics_cannot_judge(tmp_path):
    from test_check import SIG

    write_group(tmp_path / "a", _group(range(2)), sig=SIG)
    write_group(tmp_path / "b", _group(range(2)), sig=SIG)
    r = check(tmp_path / "b", tmp_path / "a", behaviour=False)
    assert all(row.decision == NA for row in r.rows)  # 2 against 2: no row can reach 0.05
    assert r.exact[0].status == "match" and r.verdict == "PASS" and r.exit_status == 0
    assert "identical bit for bit" in r.summary_line()
    # the same numbers from another machine (another numeric signature): nothing is proven
    write_group(tmp_path / "c", _group(range(2)), sig="6" * 16)
    assert check(tmp_path / "c", tmp_path / "a", behaviour=False).verdict == "INCONCLUSIVE"


def test_training_mode_compares_only_the_seeds_asked_for_in_a_reused_runs_dir(tmp_path, tiny):
    from harness.check import check_variant
    from harness.spec import SuiteSpec
    from harness.suite import SUITES

    SUITES.register("tiny-reuse", SuiteSpec(name="tiny-reuse", variants=("vanilla",), datasets=("ring8",),
                                            seeds=(0, 1, 2), overrides=tiny, setting="2d"), replace=True)
    out = tmp_path / "r"
    first = check_variant("sngan", "vanilla", suite="tiny-reuse", runs_out=out)
    assert {(r.n_candidate, r.n_baseline) for r in first.rows} == {(3, 3)}
    # the same directory again with two of its seeds: seed 2's runs are there but not asked for
    second = check_variant("sngan", "vanilla", suite="tiny-reuse", seeds=(0, 1), runs_out=out)
    assert {(r.n_candidate, r.n_baseline) for r in second.rows} == {(2, 2)}
    assert second.verdict == "INCONCLUSIVE"  # 2 against 2 judges nothing
