"""The regression check's newer parts: training-behaviour rows, the resolution floor of counts,
the family false-alarm bound, training mode (check_variant / --variant) and --plugin modules."""
from __future__ import annotations

import math
import textwrap

import pytest

from harness.baseline import behaviour_summary
import functools

from harness import check as check_module
from harness.check import (NA, NOT_EQUIVALENT, PASS, REGRESSION, check_variant, packaged_baseline, row_false_alarm,
                           simulate_noninferiority)
from harness.cli import main
from harness.errors import HarnessError
from harness.plugins import load_plugin
from report_runs import default_history, make_run, mixture_metrics
from test_check import BASE, one_error_line, write_group


# the Welch statistic on 3-seed groups (known bounds); the rank statistic's tests are below (the
# default, joint permutation statistic has its own file, tests/test_check_permutation.py)
check = functools.partial(check_module.check, statistic="mean")
rank_check = functools.partial(check_module.check, statistic="rank")


# ----------------------------------------------------------------------------- behaviour summaries
def test_behaviour_summary_is_the_median_over_the_last_half():
    records = [{"step": s, "wall_time_s": 0.0, "loss_d": s / 10, "grad_norm_g": 1.0,
                "sigma_max/net.0": s, "sigma_max/net.2": 100 - s} for s in range(10, 101, 10)]
    out = behaviour_summary(records)
    assert out["loss_d"] == 7.5  # steps 50..100: 5, 6, ..., 10
    # per record the largest layer: max(s, 100 - s) over s = 50..100 -> 50, 60, ..., 100
    assert out["sigma_max"] == 75.0
    assert out["grad_norm_g"] == 1.0
    assert "input_grad_interp" not in out and "critic_gap" not in out  # absent probes stay absent
    records[-1]["loss_d"] = math.nan
    assert math.isnan(behaviour_summary(records)["loss_d"])  # a diverged tail is NaN, not ignored
    assert behaviour_summary([]) == {}


def _histories(grad_d: float) -> dict:
    return {s: [{**r, "grad_norm_d": grad_d * (1 + 0.05 * s + 0.01 * i)} for i, r in enumerate(default_history())]
            for s in BASE}


def test_a_tenfold_gradient_norm_is_not_equivalent_on_a_log_scale(tmp_path):
    write_group(tmp_path / "a", BASE, histories=_histories(2.0))
    write_group(tmp_path / "b", BASE, histories=_histories(20.0))
    result = check(tmp_path / "b", tmp_path / "a")
    row = result.row("vanilla/ring8", "probe:grad_norm_d")
    assert row.decision == NOT_EQUIVALENT and row.failed and not result.passed
    assert row.delta_hat == pytest.approx(1.0, abs=1e-9)  # one decade, candidate - baseline, in log10
    assert row.baseline_text.startswith("log10 ")
    assert "probe:grad_norm_d" in result.summary_line()
    # the metrics themselves are identical: only the behaviour row fails
    assert {r.metric for r in result.regressions} == {"probe:grad_norm_d"}
    # the same histories pass, and --no-behaviour drops the rows
    assert check(tmp_path / "a", tmp_path / "a").passed
    lean = check(tmp_path / "b", tmp_path / "a", behaviour=False)
    assert lean.passed and not any(r.metric.startswith("probe:") for r in lean.rows)


def test_a_small_behaviour_shift_within_the_margin_passes(tmp_path):
    write_group(tmp_path / "a", BASE, histories=_histories(2.0))
    write_group(tmp_path / "b", BASE, histories=_histories(2.02))  # 1 % = 0.0043 decades
    row = check(tmp_path / "b", tmp_path / "a").row("vanilla/ring8", "probe:grad_norm_d")
    assert row.decision == PASS and row.margin_source.endswith("seed sd")


# ----------------------------------------------------------------------------- resolution floor
def test_a_count_whose_baseline_seeds_agree_is_floored_at_its_resolution(tmp_path):
    base = {s: mixture_metrics(8, hq=0.5 + 0.001 * s) for s in range(3)}
    write_group(tmp_path / "a", base)
    write_group(tmp_path / "one-lost", {s: mixture_metrics(8 if s else 7, hq=0.5 + 0.001 * s) for s in range(3)})
    write_group(tmp_path / "collapsed", {s: mixture_metrics(5, hq=0.5 + 0.001 * s) for s in range(3)})
    row = check(tmp_path / "one-lost", tmp_path / "a").row("vanilla/ring8", "modes_covered")
    assert row.margin == pytest.approx(8 / math.sqrt(12)) and row.margin_source == "8.00 × resolution/√12"
    assert row.decision == PASS  # one mode lost in one of three seeds is within rounding noise x k
    row = check(tmp_path / "collapsed", tmp_path / "a").row("vanilla/ring8", "modes_covered")
    assert row.decision == REGRESSION


# ----------------------------------------------------------------------------- family false alarms
def test_row_false_alarm_rates_match_the_simulation_and_fall_with_more_seeds():
    assert row_false_alarm(3, 3, "noninferiority", 8.0) == pytest.approx(simulate_noninferiority(3, 3), abs=0.006)
    assert 0.035 < row_false_alarm(3, 3, "noninferiority", 8.0) < 0.06
    assert row_false_alarm(3, 10, "noninferiority", 8.0) < 0.005
    assert row_false_alarm(3, 3, "equivalence", 8.0) > row_false_alarm(3, 3, "noninferiority", 8.0)


def test_the_check_states_its_family_false_alarm_bound(tmp_path):
    write_group(tmp_path / "a", BASE)
    result = check(tmp_path / "a", tmp_path / "a")
    [note] = [n for n in result.notes if n.startswith("false alarms:")]
    assert "above 5 %" in note  # 12 t-test rows at 3 against 3 seeds: about 5 % each


# ----------------------------------------------------------------------------- training mode
def test_training_mode_refuses_another_protocol_before_training(tmp_path):
    with pytest.raises(HarnessError, match=r"protocols differ .*budget.steps: 7 vs 1000"):
        check_variant("vanilla", "vanilla", baseline="ci", suite_overrides={"steps": 7}, runs_out=tmp_path / "r")
    assert not (tmp_path / "r").exists()  # nothing trained, nothing written


@pytest.mark.parametrize("kwargs, message", [
    (dict(variant="vanilla", against="vanilla"), "both 'vanilla'"),
    (dict(variant="vanila", against="wgan"), "unknown variant 'vanila'"),
    (dict(variant="vanilla", against="wgan", seeds=[0]), "at least 2"),
    (dict(variant="vanilla", against="wgan", seeds=[0, 0]), "listed twice"),
    (dict(variant="vanilla", against="wgan", baseline="quick", datasets=["grid25"], seeds=[0, 1]),
     "protocols differ"),
])
def test_training_mode_bad_input(tmp_path, kwargs, message):
    with pytest.raises(HarnessError, match=message):
        check_variant(runs_out=tmp_path / "r", **kwargs)
    assert not (tmp_path / "r").exists()


def test_shipped_baselines_are_found_by_name():
    assert packaged_baseline("ci").name == "ci.json" and packaged_baseline("quick").name == "quick.json"
    assert packaged_baseline("nope") is None


def test_cli_training_mode_trains_both_and_compares(tmp_path, capsys, tiny):
    from harness.spec import SuiteSpec
    from harness.suite import SUITES

    # the ci suite's shape at a tiny budget (the real one evaluates 2,500 samples: minutes here)
    SUITES.register("tiny-check", SuiteSpec(name="tiny-check", variants=("vanilla",), datasets=("ring8",),
                                            seeds=(0, 1), overrides=tiny, setting="2d"), replace=True)
    code = main(["check", "--variant", "SN-GAN", "--against", "vanilla", "--suite", "tiny-check",
                 "--runs-out", str(tmp_path / "r"), "--jobs", "1", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 3, err  # 2 seeds against 2: no row can be judged, and the variants differ (no exact part)
    assert "result: INCONCLUSIVE" in out
    assert "sngan/ring8 vs vanilla/ring8" in out and "probe:sigma_max" in out
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["sngan", "vanilla"]
    assert "config differs (allowed" in out  # the two variants' configs are listed, not refused


@pytest.mark.parametrize("args, message", [
    (["--variant", "vanilla"], "--variant needs --against"),
    (["--seeds", "0,1", "--baseline", "ci", "runs"], "--seeds applies to training mode"),
    (["--variant", "vanilla", "--against", "wgan", "--jobs", "0"], "--jobs must be >= 1"),
    (["--plugin", "no_such_module_xyz", "--variant", "vanilla", "--against", "wgan"], "no module named"),
])
def test_cli_training_mode_bad_input_is_one_line(tmp_path, capsys, args, message):
    code = main(["check", *args])
    _, err = capsys.readouterr()
    assert code == 2 and message in one_error_line(err)


# ----------------------------------------------------------------------------- plugins
PLUGIN = textwrap.dedent('''
    import harness
    from harness.parts import LOSSES, LossPair
    import torch.nn.functional as F

    LOSSES.register("plugin-ls", LossPair(
        d=lambda r, f: 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f ** 2).mean(),
        g=lambda f: 0.5 * ((f - 1) ** 2).mean(), description="least squares"), replace=True)
    harness.register_variant(harness.Variant(name="plugin-lsgan", defaults={"loss": "plugin-ls"}), replace=True)
''')


@pytest.mark.slow
def test_a_plugin_file_reaches_worker_processes(tmp_path, tiny):
    from harness.resolve import resolve_run
    from harness.suite import run_specs

    path = tmp_path / "my_gans.py"
    path.write_text(PLUGIN)
    load_plugin(str(path))
    specs = [resolve_run("plugin-lsgan", "ring8", s, tiny) for s in (0, 1)]
    results = run_specs(specs, tmp_path / "runs", jobs=2, progress=False, references=False)
    assert [r["status"] for r in results] == ["completed", "completed"], results


def test_a_broken_plugin_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(HarnessError, match=r"--plugin .*bad.py: importing it raised RuntimeError: boom"):
        load_plugin(str(bad))
    with pytest.raises(HarnessError, match="no such file"):
        load_plugin(str(tmp_path / "missing.py"))


# ----------------------------------------------------------------------------- the rank statistic (Bonferroni)
def _group(seeds, shift=0.0, modes=8):
    """Per seed metrics that vary across seeds; `shift` makes every metric worse by that much."""
    return {s: mixture_metrics(modes, hq=0.5 + 0.003 * (s % 7) - shift, kl=0.01 + 0.001 * (s % 5) + shift,
                               fd=0.05 + 0.002 * (s % 6) + shift, w1=1.0 + 0.01 * (s % 4) + shift) for s in seeds}


def test_rank_rows_have_exact_p_values_and_bonferroni(tmp_path):
    write_group(tmp_path / "base", _group(range(10)))
    write_group(tmp_path / "worse", _group(range(10, 13), shift=0.2))
    r = rank_check(tmp_path / "worse", tmp_path / "base", behaviour=False)
    assert r.statistic == "rank"
    row = r.row("vanilla/ring8", "w1")
    # all 3 candidate values below (worse than) all 10 baseline ones: the most extreme of C(13, 3) orders
    assert row.p == pytest.approx(1 / math.comb(13, 3))
    # 4 metrics vary (modes_covered is 8 everywhere: ties give p = 1): m = 5 rank rows, alpha / 5 = 0.01
    assert "vs α/m = 0.01" in row.detail and row.decision == REGRESSION
    assert r.row("vanilla/ring8", "modes_covered").decision == PASS
    assert not r.passed
    [note] = [n for n in r.notes if n.startswith("false alarms:")]
    assert "these 5 rank-test rows" in note


def test_rank_rows_pass_a_candidate_from_the_same_distribution_even_with_one_failed_seed(tmp_path):
    write_group(tmp_path / "base", _group(range(12)))
    cand = _group(range(12, 15))
    cand[12] = mixture_metrics(0, hq=0.0, kl=math.inf, fd=7.0, w1=2.4)  # one run that failed completely
    write_group(tmp_path / "cand", cand)
    ranked = rank_check(tmp_path / "cand", tmp_path / "base")
    # Bonferroni over 15 rows cannot judge the two-sided behaviour rows at 3 against 12 (2/C(15, 3) >
    # 0.05/15): nothing fails, but the verdict is INCONCLUSIVE; the joint permutation test judges all
    assert not ranked.failed and ranked.inconclusive
    assert check_module.check(tmp_path / "cand", tmp_path / "base").passed
    # the Welch statistic calls the same candidate a regression: its mean carries the failed seed
    assert not check(tmp_path / "cand", tmp_path / "base").passed


def test_rank_rows_with_too_few_seeds_are_not_judged_and_say_what_they_need(tmp_path):
    write_group(tmp_path / "a", BASE)
    write_group(tmp_path / "b", _group(range(3), shift=0.3))
    r = rank_check(tmp_path / "b", tmp_path / "a", behaviour=False)
    row = r.row("vanilla/ring8", "w1")
    assert row.decision == NA and "its smallest p with 3 candidate and 3 baseline seeds is 0.05" in row.detail
    # m = 5 rows, α/m = 0.01: 1/C(10, 7) = 0.0083 is the first below it (1/C(9, 6) = 0.012 is not)
    assert "it needs 7 candidate seeds" in row.detail and row.seeds_needed == 7
    # nothing regressed, but a check that could not judge its rows does not pass: INCONCLUSIVE, exit 3
    assert not r.passed and not r.failed and r.inconclusive and r.exit_status == 3
    assert r.summary_line().startswith("result: INCONCLUSIVE: 5 of 6 rows not judged with these seeds")
    many = rank_check(tmp_path / "b", tmp_path / "a")  # with the behaviour rows: 12 rows not judged
    assert "12 of 13 rows not judged" in many.summary_line() and "and 9 more)" in many.summary_line()


def test_an_unknown_statistic_is_refused(tmp_path):
    write_group(tmp_path / "a", BASE)
    with pytest.raises(HarnessError, match="--statistic"):
        check_module.check(tmp_path / "a", tmp_path / "a", statistic="medain")
