"""Regression checks (harness.check, `gan-harness check`): a candidate against a baseline, on
synthetic run directories with known values, on sample files, and on really trained tiny runs."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import functools

from harness import check as check_module
from harness.baseline import record_baseline
from harness.check import (DEFAULT_MARGIN_SDS, REGRESSION, margin_from_sd, simulate_noninferiority, t_decision,
                           welch_bounds)
from harness.cli import main
from harness.errors import HarnessError
from harness.runs import atomic_write_json, read_json
from report_runs import default_history, make_run, mixture_metrics, protocol

# These tests pin the Welch ("mean") statistic on 3-seed groups, where its bounds have known values;
# the rank statistic in tests/test_check_behaviour.py, the default (permutation) in tests/test_check_permutation.py.
check = functools.partial(check_module.check, statistic="mean")
check_samples = functools.partial(check_module.check_samples, statistic="mean")

SIG = "5" * 16

# three seeds of a group: every metric varies a little across seeds (seed sds known)
BASE = {0: mixture_metrics(8, hq=0.500, kl=0.010, fd=0.050, w1=1.00),
        1: mixture_metrics(8, hq=0.501, kl=0.011, fd=0.052, w1=1.01),
        2: mixture_metrics(8, hq=0.502, kl=0.012, fd=0.054, w1=1.02)}


def write_group(root: Path, per_seed: dict, variant: str = "vanilla", sig: str | None = None,
                histories: dict | None = None, **kw) -> None:
    for seed, metrics in per_seed.items():
        path = make_run(root, variant, "ring8", seed, metrics, history=(histories or {}).get(seed), **kw)
        if sig is not None:
            manifest = read_json(path / "manifest.json")
            manifest["environment"] = {"numeric_signature": {"signature_id": sig, "cpu_model": "test cpu"}}
            atomic_write_json(path / "manifest.json", manifest)


def cli(capsys, *args) -> tuple[int, str, str]:
    args = list(map(str, args))
    if "--statistic" not in args and "--variant" not in args:
        args += ["--statistic", "mean"]
    code = main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def row_line(out: str, metric: str, group: str = "vanilla/ring8") -> str:
    [line] = [ln for ln in out.splitlines() if ln.startswith(group) and f"  {metric}  " in ln]
    return line


def decisions(result) -> dict[str, str]:
    return {r.metric: r.decision for r in result.rows}


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("gan-harness: error: ")
    return lines[0]


# ----------------------------------------------------------------------------- identical and shifted runs
def test_identical_runs_pass_with_an_exact_match(tmp_path, capsys):
    write_group(tmp_path / "a", BASE, sig=SIG)
    write_group(tmp_path / "b", BASE, sig=SIG)
    code, out, err = cli(capsys, tmp_path / "b", "--baseline", tmp_path / "a")
    assert code == 0, out + err
    assert "vanilla/ring8: exact: match (3 seeds)" in out
    assert "result: PASS" in out and "REGRESSION" not in out
    for metric in ("diverged", "modes_covered", "hq_fraction", "reverse_kl", "frechet_distance", "w1"):
        assert "  pass  " in row_line(out, metric)
    # the same against a recorded baseline file, and a recorded candidate file
    record_baseline(tmp_path / "a", tmp_path / "a.json")
    record_baseline(tmp_path / "b", tmp_path / "b.json")
    for cand in (tmp_path / "b", tmp_path / "b.json"):
        result = check(cand, tmp_path / "a.json")
        assert result.passed and result.exit_status == 0
        assert [e.text for e in result.exact] == ["exact: match (3 seeds)"]
        metric_rows = [r for r in result.rows if not r.metric.startswith("probe:")]
        assert len(metric_rows) == 6 and {r.n_candidate for r in result.rows} == {3}
        assert {r.metric for r in result.rows} - {r.metric for r in metric_rows} == {
            "probe:" + k for k in ("loss_d", "loss_g", "grad_norm_d", "grad_norm_g", "input_grad_real",
                                   "input_grad_fake", "input_grad_interp")}  # the probes default_history writes


@pytest.mark.parametrize("metric, change, decision", [
    ("w1", +1.0, REGRESSION),          # lower is better: a bigger w1 regresses
    ("w1", -0.5, "better"),            # a smaller one is better beyond the margin: still a pass
    ("hq_fraction", +0.3, "better"),   # higher is better: a bigger hq_fraction does not regress
    ("hq_fraction", -0.3, REGRESSION),
    ("frechet_distance", +1.0, REGRESSION),
])
def test_a_candidate_shifted_by_many_sds_fails_on_that_metric_only(tmp_path, capsys, metric, change, decision):
    write_group(tmp_path / "a", BASE)
    write_group(tmp_path / "b", {s: {**m, metric: m[metric] + change} for s, m in BASE.items()})
    code, out, _ = cli(capsys, tmp_path / "b", "--baseline", tmp_path / "a")
    assert code == (1 if decision == REGRESSION else 0), out
    line = row_line(out, metric)
    assert f"  {decision}  " in line
    others = [row_line(out, m) for m in ("modes_covered", "hq_fraction", "reverse_kl", "frechet_distance", "w1")
              if m != metric]
    assert all("  pass  " in ln for ln in others), others
    if decision == REGRESSION:
        assert out.strip().endswith(f"result: FAIL: regression in 1: vanilla/ring8 {metric}")
    result = check(tmp_path / "b", tmp_path / "a")
    r = result.row("vanilla/ring8", metric)
    assert r.decision == decision
    sign = 1 if metric == "hq_fraction" else -1  # oriented: positive is better
    assert r.delta_hat == pytest.approx(sign * change)
    assert r.margin == pytest.approx(DEFAULT_MARGIN_SDS * np.std([m[metric] for m in BASE.values()], ddof=1))


def test_equivalence_fails_in_both_directions_and_margins_can_be_set_per_metric(tmp_path, capsys):
    write_group(tmp_path / "a", BASE)
    write_group(tmp_path / "better", {s: {**m, "w1": m["w1"] - 0.5} for s, m in BASE.items()})
    write_group(tmp_path / "near", {s: {**m, "w1": m["w1"] + 0.05} for s, m in BASE.items()})  # 5 sds worse
    assert check(tmp_path / "better", tmp_path / "a").passed
    eq = check(tmp_path / "better", tmp_path / "a", test="equivalence")
    assert decisions(eq)["w1"] == "NOT EQUIVALENT" and not eq.passed
    r = eq.row("vanilla/ring8", "w1")
    assert r.low < r.high < math.inf and r.low > r.margin  # the whole interval above +δ
    assert check(tmp_path / "a", tmp_path / "a", test="equivalence").passed
    # 5 sds worse is inside the default margin of 8 sds; a margin of 0.02 (2 sds) in w1's units is not
    assert check(tmp_path / "near", tmp_path / "a").passed
    code, out, _ = cli(capsys, tmp_path / "near", "--baseline", tmp_path / "a", "--margin", "w1=0.02")
    assert code == 1 and "  REGRESSION  " in row_line(out, "w1") and "; --margin w1=0.02" in out
    assert check(tmp_path / "near", tmp_path / "a", margin_sds=2).row("vanilla/ring8", "w1").decision == REGRESSION


# ----------------------------------------------------------------------------- non-finite values
def test_infinite_reverse_kl_in_every_candidate_seed_fails(tmp_path, capsys):
    base = {**BASE, 3: mixture_metrics(8, hq=0.503, kl=0.013, fd=0.056, w1=1.03)}
    write_group(tmp_path / "a", base)
    write_group(tmp_path / "b", {s: {**m, "reverse_kl": math.inf} for s, m in base.items()})
    code, out, _ = cli(capsys, tmp_path / "b", "--baseline", tmp_path / "a")
    assert code == 1
    line = row_line(out, "reverse_kl")
    assert "  REGRESSION  " in line and "Mann-Whitney" in line and "non-finite in 4/4 seeds against 0/4" in line
    assert "∞" in line
    r = check(tmp_path / "b", tmp_path / "a").row("vanilla/ring8", "reverse_kl")
    assert r.p == pytest.approx(1 / 70)  # the four tied worst values are the candidate's: 1 of C(8, 4) splits
    assert r.delta_hat == -math.inf
    assert [x.metric for x in check(tmp_path / "b", tmp_path / "a").regressions] == ["reverse_kl"]


def test_infinities_on_both_sides_alike_pass(tmp_path):
    base = {**BASE, 3: mixture_metrics(8, kl=math.inf)}
    cand = {s: {**m, "reverse_kl": m["reverse_kl"] + 0.0005} for s, m in base.items()}  # +inf stays +inf
    write_group(tmp_path / "a", base)
    write_group(tmp_path / "b", cand)
    result = check(tmp_path / "b", tmp_path / "a")
    r = result.row("vanilla/ring8", "reverse_kl")
    assert r.decision == "pass" and "Mann-Whitney" in r.test and r.p > 0.05
    assert result.passed
    # the same values on both sides need no test, even at 3 against 3: +inf everywhere, or a rerun
    write_group(tmp_path / "c", {s: {**m, "reverse_kl": math.inf} for s, m in BASE.items()})
    write_group(tmp_path / "d", {**BASE, 1: {**BASE[1], "reverse_kl": math.inf}})
    for runs in ("c", "d"):
        r = check(tmp_path / runs, tmp_path / runs).row("vanilla/ring8", "reverse_kl")
        assert r.decision == "pass" and r.test.startswith("none needed")


def test_an_infinite_value_with_too_few_seeds_for_the_rank_test_is_not_judged(tmp_path, capsys):
    write_group(tmp_path / "a", BASE)
    write_group(tmp_path / "b", {s: {**m, "reverse_kl": math.inf} for s, m in BASE.items()})
    code, out, _ = cli(capsys, tmp_path / "b", "--baseline", tmp_path / "a")
    assert code == 3, out  # INCONCLUSIVE: a row that matters could not be judged with these seeds
    line = row_line(out, "reverse_kl")
    assert "  n/a  " in line and "non-finite in 3/3 seeds against 0/3" in line
    assert "smallest p with 3 candidate and 3 baseline values is 1/20, not < 0.05" in line
    assert "it needs 4 candidate seeds against these 3, or 4 baseline seeds against these 3" in line
    assert ("result: INCONCLUSIVE: 1 of 13 rows not judged with these seeds (vanilla/ring8 reverse_kl); 4 candidate "
            "seeds (here 3) against this baseline would judge it; nothing regressed among the rest") in out
    result = check(tmp_path / "b", tmp_path / "a")
    assert [r.metric for r in result.not_judged] == ["reverse_kl"] and result.inconclusive and not result.passed
    # --allow-inconclusive: the same verdict, exit 0
    code, out, _ = cli(capsys, tmp_path / "b", "--baseline", tmp_path / "a", "--allow-inconclusive")
    assert code == 0 and "result: INCONCLUSIVE" in out
    # one more candidate seed (p = 1/35 is reachable) and the same candidate fails
    write_group(tmp_path / "b", {3: {**BASE[0], "reverse_kl": math.inf}})
    assert [r.metric for r in check(tmp_path / "b", tmp_path / "a").regressions] == ["reverse_kl"]


def test_more_diverged_candidate_seeds_fail(tmp_path, capsys):
    write_group(tmp_path / "a", BASE)
    nan = {k: math.nan for k in BASE[0]}
    write_group(tmp_path / "b", {0: BASE[0], 1: nan, 2: nan}, status="diverged", step=400, reason="loss_d is nan")
    code, out, _ = cli(capsys, tmp_path / "b", "--baseline", tmp_path / "a")
    assert code == 1
    for metric in ("modes_covered", "w1"):
        line = row_line(out, metric)
        assert "  REGRESSION  " in line and "diverged in 2/3 seeds against 0/3" in line
    assert "diverged in 3/3 seeds against 0/3" in row_line(out, "diverged")  # status: all three diverged
    # diverged with the metrics of their last finite evaluation: the status row still fails
    write_group(tmp_path / "c", BASE, status="diverged", step=900, reason="loss_d is nan")
    result = check(tmp_path / "c", tmp_path / "a")
    assert [r.metric for r in result.regressions] == ["diverged"]
    # as many diverged seeds on both sides: no failure from divergence
    assert not check(tmp_path / "b", tmp_path / "b").regressions


# ----------------------------------------------------------------------------- bad input
def test_protocol_mismatch_is_refused_listing_the_keys(tmp_path, capsys):
    write_group(tmp_path / "a", BASE)
    write_group(tmp_path / "b", BASE, proto=protocol(n_eval=1000, steps=3000))
    code, out, err = cli(capsys, tmp_path / "b", "--baseline", tmp_path / "a")
    assert code == 2 and out == ""
    line = one_error_line(err)
    assert "protocols differ (candidate vs baseline)" in line and "vanilla/ring8: " in line
    assert "budget.steps: 3000 vs 1000" in line and "evaluator.n_eval: 1000 vs 2500" in line
    # D steps per G step belong to the variant, as in reports: budget.n_dis is not compared
    write_group(tmp_path / "c", BASE, proto=protocol(n_dis=5))
    assert check(tmp_path / "c", tmp_path / "a").passed


def _write_bad(path: Path, kind: str, good: Path) -> None:
    if kind == "missing":
        return
    data = json.loads(good.read_text())
    if kind == "version":
        data["format_version"] = 99
        path.write_text(json.dumps(data))
    elif kind == "truncated":
        path.write_text(good.read_text()[:200])
    elif kind == "no seeds":
        del data["groups"][0]["seeds"]
        path.write_text(json.dumps(data))
    elif kind == "not a baseline":
        path.write_text('{"format": "something"}')


@pytest.mark.parametrize("kind, needle", [
    ("missing", "baseline not found: "),
    ("version", "baseline format version 99, this gan-harness reads 1"),
    ("truncated", "unreadable baseline (JSONDecodeError"),
    ("no seeds", "corrupt baseline (group 0 lacks"),
    ("not a baseline", "not a gan-harness baseline"),
])
def test_missing_corrupt_or_other_version_baseline_is_exit_2_writing_nothing(tmp_path, capsys, kind, needle):
    write_group(tmp_path / "runs", BASE)
    record_baseline(tmp_path / "runs", tmp_path / "good.json")
    bad = tmp_path / "bad.json"
    _write_bad(bad, kind, tmp_path / "good.json")
    for args in ((tmp_path / "runs", "--baseline", bad), (bad, "--baseline", tmp_path / "good.json")):
        code, out, err = cli(capsys, *args, "--out", tmp_path / "out")
        assert code == 2 and out == ""
        line = one_error_line(err)
        assert needle.replace("baseline not found", "not found") in line, line
        assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, needle", [
    (["--test", "tost"], "unknown --test 'tost'"),
    (["--alpha", "0.7"], "--alpha must be in (0, 0.5)"),
    (["--margin-sds", "0"], "--margin-sds must be a positive number"),
    (["--margin", "w2=0.1"], "--margin: unknown metric 'w2'; known: "),
    (["--margin", "w1"], "expected METRIC=VALUE"),
    (["--margin", "w1=-1"], "the margin must be a positive number"),
    (["--margin", "fid=1"], "--margin fid: no compared group reports fid"),
    (["--dataset", "ring8"], "--dataset applies to --samples and --variant modes only"),
    (["--against", "wgan"], "--against applies to --samples and --variant modes only"),
])
def test_bad_options_are_exit_2(tmp_path, capsys, args, needle):
    write_group(tmp_path / "a", BASE)
    code, out, err = cli(capsys, tmp_path / "a", "--baseline", tmp_path / "a", *args)
    assert code == 2 and out == "" and needle in one_error_line(err)


def test_too_few_seeds_and_no_match_are_exit_2(tmp_path, capsys):
    write_group(tmp_path / "a", BASE)
    write_group(tmp_path / "one", {0: BASE[0]})
    code, _, err = cli(capsys, tmp_path / "one", "--baseline", tmp_path / "a")
    assert code == 2 and "the candidate has 1 seed; the check needs at least 2 seeds on each side" in one_error_line(err)
    write_group(tmp_path / "other", BASE, variant="wgan")
    code, _, err = cli(capsys, tmp_path / "other", "--baseline", tmp_path / "a")
    line = one_error_line(err)
    assert code == 2 and "no candidate group matches" in line and "wgan/ring8" in line and "vanilla/ring8" in line


def test_unmatched_groups_and_config_differences_are_listed(tmp_path, capsys):
    write_group(tmp_path / "a", BASE, sig=SIG)
    write_group(tmp_path / "a", BASE, variant="sngan")
    write_group(tmp_path / "b", BASE, sig=SIG, config={"lr_g": 1e-3})
    write_group(tmp_path / "b", BASE, variant="wgan")
    code, out, _ = cli(capsys, tmp_path / "b", "--baseline", tmp_path / "a")
    assert code == 0, out
    assert "note: candidate group without a baseline group: wgan/ring8" in out
    assert "note: baseline group without a candidate group: sngan/ring8" in out
    assert "note: config differs (allowed; candidate vs baseline) in vanilla/ring8: lr_g: 0.001 vs (absent)" in out
    assert "vanilla/ring8: exact: not applicable (configs differ: lr_g)" in out


def test_pairs_map_a_candidate_variant_to_a_baseline_variant(tmp_path):
    write_group(tmp_path / "a", BASE, variant="wgan-gp")
    write_group(tmp_path / "a", BASE, variant="sngan")
    write_group(tmp_path / "b", {s: {**m, "w1": m["w1"] + 1} for s, m in BASE.items()}, variant="mine")
    with pytest.raises(HarnessError, match="no candidate group matches"):
        check(tmp_path / "b", tmp_path / "a")
    result = check(tmp_path / "b", tmp_path / "a", pairs={"mine": "wgan-gp"})
    assert {r.label for r in result.rows} == {"mine/ring8 vs wgan-gp/ring8"}
    assert [r.metric for r in result.regressions] == ["w1"]
    assert result.unmatched_baseline == ["sngan/ring8"]
    assert result.exact[0].text == "exact: not applicable (variants mine vs wgan-gp)"
    with pytest.raises(HarnessError, match="the candidate has no variant 'yours'"):
        check(tmp_path / "b", tmp_path / "a", pairs={"yours": "sngan"})


# ----------------------------------------------------------------------------- the exact part
def _histories(changed: tuple[int, int, str] | None = None) -> dict:
    out = {s: default_history(grad_g=0.5 + 0.01 * s) for s in BASE}
    if changed:
        seed, index, key = changed
        out[seed][index][key] = math.nextafter(out[seed][index][key], math.inf)  # one ulp
    return out


@pytest.mark.parametrize("old_baseline", [False, True])
def test_exact_check_names_the_first_differing_seed_step_and_key(tmp_path, capsys, old_baseline):
    write_group(tmp_path / "a", BASE, sig=SIG, histories=_histories())
    write_group(tmp_path / "b", BASE, sig=SIG, histories=_histories((1, 2, "grad_norm_d")))
    record_baseline(tmp_path / "a", tmp_path / "a.json")
    if old_baseline:  # recorded before per-record hashes existed
        data = json.loads((tmp_path / "a.json").read_text())
        for seed in data["groups"][0]["seeds"]:
            del seed["history"]["record_hashes"], seed["history"]["record_steps"]
        (tmp_path / "a.json").write_text(json.dumps(data))
    code, out, _ = cli(capsys, tmp_path / "b", "--baseline", tmp_path / "a.json")
    assert code == 1  # statistically the same, but not bit for bit under one signature
    assert all("  pass  " in row_line(out, m) for m in ("diverged", "w1", "hq_fraction"))
    if old_baseline:
        assert "exact: differs at seed 1, step unknown (no per-record history hashes), keys grad_norm_d" in out
    else:
        assert "vanilla/ring8: exact: differs at seed 1, step 300, keys grad_norm_d" in out
    assert out.strip().endswith("result: FAIL: regression in 1: vanilla/ring8 exact")
    e = check(tmp_path / "b", tmp_path / "a.json").exact[0]
    assert (e.status, e.seed, e.keys) == ("differs", 1, ("grad_norm_d",))
    assert e.step == (None if old_baseline else 300)


def test_exact_check_compares_final_metrics_and_only_under_one_signature(tmp_path):
    write_group(tmp_path / "a", BASE, sig=SIG)
    nudged = {s: dict(m) for s, m in BASE.items()}
    nudged[2]["w1"] = math.nextafter(nudged[2]["w1"], 2.0)
    write_group(tmp_path / "b", nudged, sig=SIG)
    result = check(tmp_path / "b", tmp_path / "a")
    assert not result.regressions and not result.passed and result.exit_status == 1
    assert result.exact[0].text == "exact: differs at seed 2, final values: w1 (histories identical)"
    write_group(tmp_path / "c", nudged, sig="6" * 16)
    result = check(tmp_path / "c", tmp_path / "a")
    assert result.passed and result.exact[0].text == f"exact: not applicable (signatures {'6' * 16} vs {SIG})"
    write_group(tmp_path / "d", BASE)
    assert check(tmp_path / "d", tmp_path / "a").exact[0].text == (
        "exact: not applicable (no numeric signature recorded for the candidate)")


# ----------------------------------------------------------------------------- outputs
def test_out_writes_check_json_and_md(tmp_path, capsys):
    write_group(tmp_path / "a", BASE, sig=SIG)
    write_group(tmp_path / "b", {s: {**m, "w1": m["w1"] + 1, "reverse_kl": math.inf} for s, m in BASE.items()} |
                {3: mixture_metrics(8, w1=2.0, kl=math.inf)})
    write_group(tmp_path / "a", {3: mixture_metrics(8, hq=0.503, kl=0.013, fd=0.056, w1=1.03)}, sig=SIG)
    code, out, _ = cli(capsys, tmp_path / "b", "--baseline", tmp_path / "a", "--out", tmp_path / "o")
    assert code == 1
    data = json.loads((tmp_path / "o" / "check.json").read_text(),
                      parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))  # plain JSON: no NaN/Infinity
    assert data["format"] == "gan-harness-check" and data["passed"] is False and data["exit_status"] == 1
    rows = {r["metric"]: r for r in data["rows"]}
    assert {m for m in rows if not m.startswith("probe:")} == {"diverged", "modes_covered", "hq_fraction", "reverse_kl",
                                                               "frechet_distance", "w1"}
    assert rows["w1"]["decision"] == REGRESSION and rows["w1"]["failed"] is True
    assert rows["reverse_kl"]["delta_hat"] == "-inf" and rows["reverse_kl"]["candidate_mean"] == "nan"
    assert data["exact"][0]["text"].startswith("exact: not applicable")
    md = (tmp_path / "o" / "check.md").read_text()
    assert md.startswith("# Regression check") and "| vanilla/ring8 | w1 |" in md and "**REGRESSION**" in md
    assert f"written: {tmp_path / 'o' / 'check.md'}" in out


# ----------------------------------------------------------------------------- the default margin
def test_default_margin_keeps_false_alarms_at_most_5_percent_at_3_seeds(record_property):
    """The simulation behind DEFAULT_MARGIN_SDS (docs/CHECK.md): 3 candidate and 3 baseline seeds
    from one normal distribution, the baseline's sd estimated from its own 3 seeds."""
    rates = {n: simulate_noninferiority(n, n, tries=20000, seed=20240) for n in (3, 5, 10)}
    record_property("false_alarm_rates", rates)
    print(f"false-alarm rates at k = {DEFAULT_MARGIN_SDS}: {rates}")
    assert rates[3] <= 0.05 and rates[5] <= 0.01 and rates[10] <= 0.001
    assert simulate_noninferiority(3, 3, margin_sds=7.0, tries=20000, seed=20240) > 0.05  # 8 is about the smallest
    # power at n = 3: the smallest true shift (in seed sds) detected in >= 80 % of tries
    shifts = np.arange(0.0, 15.01, 0.1)
    power = [simulate_noninferiority(3, 3, shift=s, tries=20000, seed=7) for s in shifts]
    smallest = float(shifts[next(i for i, p in enumerate(power) if p >= 0.8)])
    record_property("shift_for_80_percent_power_at_3", smallest)
    print(f"80 % power at n = 3 from a shift of {smallest:.1f} sd")
    assert 7.5 <= smallest <= 9.0
    assert all(b >= a - 0.01 for a, b in zip(power, power[1:]))  # power grows with the shift


def test_the_simulation_runs_the_checks_own_decision(tmp_path):
    """The vectorised bound, margin and decision the simulation uses are those of check()."""
    rng = np.random.default_rng(3)
    for i in range(20):
        b, c = rng.normal(size=3), rng.normal(size=3) - rng.uniform(0, 12)
        base = {s: {**BASE[s], "w1": float(v)} for s, v in enumerate(-b)}  # w1: lower is better, so negate
        cand = {s: {**BASE[s], "w1": float(v)} for s, v in enumerate(-c)}
        write_group(tmp_path / f"a{i}", base)
        write_group(tmp_path / f"b{i}", cand)
        r = check(tmp_path / f"b{i}", tmp_path / f"a{i}").row("vanilla/ring8", "w1")
        _, low, high = welch_bounds(c[None], b[None])
        expected = t_decision(low, high, margin_from_sd(np.std(b, ddof=1)[None], np.nan))[0]
        assert r.decision == expected and r.low == pytest.approx(float(low[0]))


# ----------------------------------------------------------------------------- samples mode
@pytest.fixture(scope="module")
def ring8_samples_baseline(tmp_path_factory):
    """A baseline whose runs' metrics are the evaluator's on exact mixture samples (n_eval 500, n_w1 200)."""
    from harness.data import get_dataset

    root = tmp_path_factory.mktemp("samples")
    data = get_dataset("ring8")
    evaluator = data.evaluator(500, n_w1=200)
    proto = {**protocol(n_eval=500), "evaluator": evaluator.protocol()}
    for seed in range(4):
        make_run(root / "runs", "vanilla", "ring8", seed, evaluator.evaluate(data.sample_exact(500, 100 + seed)),
                 proto=proto, config={"n_eval": 500, "n_w1": 200})
    record_baseline(root / "runs", root / "base.json")
    for seed in range(3):
        np.save(root / f"s{seed}.npy", data.sample_exact(500, seed))
        one_mode = data.centres[0] + data.sigma * np.random.default_rng(seed).normal(size=(500, 2))
        np.save(root / f"collapsed{seed}.npy", one_mode)
    np.save(root / "short.npy", data.sample_exact(400, 9))
    return root


def test_samples_of_the_true_distribution_pass_and_a_collapsed_generator_fails(ring8_samples_baseline, capsys):
    root = ring8_samples_baseline
    good = [root / f"s{i}.npy" for i in range(3)]
    code, out, _ = cli(capsys, "--dataset", "ring8", "--samples", *good, "--baseline", root / "base.json")
    assert code == 0, out
    assert "exact: not applicable (sample files: statistical check only)" in out
    assert "samples/ring8 vs vanilla/ring8" in out and "diverged" not in out
    bad = [root / f"collapsed{i}.npy" for i in range(3)]
    result = check_samples(bad, "ring8", root / "base.json")
    failed = {r.metric for r in result.regressions}
    # one mode, sampled well: fewer modes, a worse KL and distances; its samples are high quality all the same
    assert {"modes_covered", "reverse_kl", "frechet_distance", "w1"} <= failed and not result.passed
    assert result.row("samples/ring8", "modes_covered").candidate_mean == 1.0


def test_samples_mode_bad_input(ring8_samples_baseline, capsys, tmp_path):
    root = ring8_samples_baseline
    base = root / "base.json"
    code, _, err = cli(capsys, "--dataset", "ring8", "--samples", root / "s0.npy", "--baseline", base)
    assert code == 2 and "1 file given; the check needs at least 2 sample files (one per seed) for Welch's t test" in err
    code, out, _ = cli(capsys, "--dataset", "ring8", "--samples", root / "s0.npy", root / "s1.npy", "--baseline", base)
    assert code in (0, 1) and "note: fewer than 3 seeds on a side in samples/ring8 (2 candidate, 4 baseline)" in out
    code, _, err = cli(capsys, "--dataset", "ring8", "--samples", root / "s0.npy", root / "short.npy", "--baseline", base)
    assert code == 2 and f"{root / 'short.npy'}: 400 samples, but the baseline's protocol evaluates n_eval = 500" in err
    code, _, err = cli(capsys, "--dataset", "grid25", "--samples", root / "s0.npy", root / "s1.npy", "--baseline", base)
    assert code == 2 and "has no group on data set 'grid25' (it has: ring8)" in one_error_line(err)
    code, _, err = cli(capsys, "--samples", root / "s0.npy", root / "s1.npy", "--baseline", base)
    assert code == 2 and "--samples needs --dataset" in one_error_line(err)
    # two variants on the data set: --against names one
    runs = tmp_path / "runs"
    for variant in ("vanilla", "wgan"):
        for seed in range(3):
            src = root / "runs" / "vanilla" / "ring8" / f"seed-{seed}"
            make_run(runs, variant, "ring8", seed, read_json(src / "summary.json")["metrics"],
                     proto=read_json(src / "summary.json")["protocol"], config={"n_eval": 500, "n_w1": 200})
    files = [root / "s0.npy", root / "s1.npy", root / "s2.npy"]
    code, _, err = cli(capsys, "--dataset", "ring8", "--samples", *files, "--baseline", runs)
    assert code == 2 and "name the one to compare with --against VARIANT" in one_error_line(err)
    code, out, _ = cli(capsys, "--dataset", "ring8", "--samples", *files, "--baseline", runs, "--against", "wgan")
    assert code == 0 and "samples/ring8 vs wgan/ring8" in out
    code, _, err = cli(capsys, "--dataset", "ring8", "--samples", *files, "--baseline", runs, "--against", "sngan")
    assert code == 2 and "--against sngan: no such group on ring8" in one_error_line(err)


def test_samples_are_scored_only_under_the_recorded_evaluator_protocol(ring8_samples_baseline, capsys, tmp_path):
    root = ring8_samples_baseline
    data = json.loads((root / "base.json").read_text())
    data["groups"][0]["protocol"]["evaluator"]["hq_threshold_sigma"] = 2.5
    (tmp_path / "other.json").write_text(json.dumps(data))
    files = [root / f"s{i}.npy" for i in range(3)]
    code, out, err = cli(capsys, "--dataset", "ring8", "--samples", *files, "--baseline", tmp_path / "other.json")
    line = one_error_line(err)
    assert code == 2 and out == "" and "protocols differ (this evaluator vs baseline vanilla/ring8)" in line
    assert "evaluator.hq_threshold_sigma: 3.0 vs 2.5" in line


def test_skipped_candidate_runs_are_warned_about_after_the_check(tmp_path, capsys):
    write_group(tmp_path / "a", BASE)
    write_group(tmp_path / "b", {**BASE, 3: BASE[0]})
    (tmp_path / "b" / "vanilla" / "ring8" / "seed-3" / "summary.json").write_text("{not json")
    code, out, err = cli(capsys, tmp_path / "b", "--baseline", tmp_path / "a")
    assert code == 0 and "  3/3  " in row_line(out, "w1")
    assert err.startswith("gan-harness: warning: skipping run ") and "seed-3: unreadable summary.json" in err


# ----------------------------------------------------------------------------- really trained runs
def test_end_to_end_on_trained_tiny_runs_matches_exactly(tmp_path, tiny, monkeypatch, capsys):
    from harness.suite import SuiteSpec, expand_suite, run_specs

    monkeypatch.chdir(tmp_path)
    specs = expand_suite(SuiteSpec("t", ("vanilla",), ("ring8",), (0, 1), overrides=tiny))
    for out in ("first", "second"):
        results = run_specs(specs, Path(out), jobs=1, threads=1, progress=False)
        assert {r["status"] for r in results} <= {"completed", "diverged"}
    assert main(["record", "first", "--out", "first.json"]) == 0
    capsys.readouterr()
    before = sorted(Path("second").rglob("*"))
    code, out, err = cli(capsys, "second", "--baseline", "first.json", "--out", "chk")
    assert code == 0, out + err
    assert "vanilla/ring8: exact: match (2 seeds)" in out and "result: PASS" in out
    assert json.loads(Path("chk/check.json").read_text())["passed"] is True
    assert sorted(Path("second").rglob("*")) == before  # a runs directory is summarised in memory only
    # and the other way round: a runs directory as the baseline, a recorded file as the candidate
    assert main(["check", "first.json", "--baseline", "second"]) == 0
    # 2 against 2 seeds judge no row statistically, but every seed matched bit for bit: PASS, not INCONCLUSIVE
    assert "not judged statistically but every seed of their groups identical bit for bit" in capsys.readouterr().out
