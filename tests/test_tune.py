"""gan-harness tune: knobs declared by the parts, equal N per variant with the published points,
selection on tuning seeds disjoint from the report seeds, and the tuned setting file."""
import json
import math
import re

import pandas as pd
import pytest

import harness
from harness.cli import main
from harness.errors import HarnessError
from harness.resolve import resolve_run
from harness.settings import Setting
from harness.space import Knob, declare_knobs, space_for
from harness.suite import SUITES
from harness.tune import Objective, Study, plan_study, select
from harness.tuned import read_setting_file, setting_payload, write_setting_file

VARIANTS = ("vanilla", "wgan", "wgan-gp", "sngan")


def study(n=6, **kw):
    suite = SUITES.get("quick").with_(setting="authors", seeds=(0, 1, 2, 3, 4), variants=VARIANTS)
    return Study(suite, n=n, tuning_seeds=kw.pop("tuning_seeds", (1000,)), **kw)


# ----------------------------------------------------------------------------- knobs
def test_each_part_declares_its_own_knobs():
    names = {v: [k.name for k in space_for(resolve_run(v, "ring8", 0).config)] for v in VARIANTS}
    shared = ["lr_g", "lr_d", "n_dis", "lr_schedule"]
    assert names["vanilla"] == shared + ["beta1", "beta2"]  # Adam owns its betas
    assert names["wgan"] == shared + ["clip_value"]  # RMSprop owns none; clipping owns its bound
    assert names["wgan-gp"] == shared + ["penalty_weight", "beta1", "beta2"]  # the GP owns lambda
    assert names["sngan"] == shared + ["beta1", "beta2"]
    n_dis = next(k for k in space_for(resolve_run("vanilla", "ring8", 0).config) if k.name == "n_dis")
    assert n_dis.choices == (1, 2, 5)


def test_a_plugin_part_declares_knobs_and_is_tuned_the_same_way():
    from harness.parts import PENALTIES
    from harness.parts.penalties import r1_penalty

    PENALTIES.register("test-r1-copy", r1_penalty, replace=True)
    declare_knobs("penalty", "test-r1-copy", Knob("penalty_weight", "linear", 0.5, 2.0), replace=True)
    cfg = resolve_run("vanilla", "ring8", 0, {"penalty": "test-r1-copy"}).config
    knob = next(k for k in space_for(cfg) if k.name == "penalty_weight")
    assert (knob.scale, knob.low, knob.high) == ("linear", 0.5, 2.0)


def test_knob_values_are_the_quantiles_of_the_declared_distribution():
    log = Knob("lr_g", "log", 1e-4, 1e-2)
    assert log.value(0.0) == 1e-4 and log.value(0.5) == pytest.approx(1e-3) and log.value(0.999999) == pytest.approx(1e-2)
    lin = Knob("beta1", "linear", 0.0, 0.9)
    assert lin.value(0.5) == pytest.approx(0.45)
    ch = Knob("n_dis", "choice", choices=(1, 2, 5))
    assert [ch.value(u) for u in (0.0, 0.34, 0.67, 0.9999)] == [1, 2, 5, 5]


@pytest.mark.parametrize("text,message", [
    ("lr_g=1e-3:1e-3", "empty range"), ("lr_g=0:1e-3:log", "low > 0"), ("nope=1:2", "unknown config key"),
    ("lr_g=a:b", "must be numbers"), ("lr_g=1:2:cubic", "unknown scale"), ("lr_g", "expected name=")])
def test_bad_ranges_are_refused_in_one_line(text, message):
    with pytest.raises(HarnessError, match=message):
        Knob.parse(text)


def test_a_range_for_a_knob_the_variant_does_not_have_is_refused():
    with pytest.raises(HarnessError, match="unknown knob 'clip_value'"):
        plan_study(study(ranges=(Knob("clip_value", "log", 1e-3, 1e-1),)))  # vanilla clips nothing


# ----------------------------------------------------------------------------- the plan
def test_every_variant_gets_the_same_n_distinct_points_with_the_published_ones_first():
    plans = plan_study(study(n=7))
    assert {len(points) for _, points in plans.values()} == {7}
    for (v, d), (knobs, points) in plans.items():
        values = [json.dumps(dict(p.values), sort_keys=True) for p in points]
        assert len(set(values)) == 7, (v, d)
        assert points[0].source == "authors"
        authors = resolve_run(v, d, 0, setting="authors").config
        assert all(points[0].values[k.name] == getattr(authors, k.name) for k in knobs)
    gp = {p.source: p.values for p in plans[("wgan-gp", "ring8")][1]}
    assert gp["authors"]["penalty_weight"] == 10.0 and gp["authors"]["n_dis"] == 5
    toy = gp["gan_toy.py 2-D"]  # WGAN-GP's own 2-D values: lambda 0.1, 5 critic steps, Adam 1e-4 (0.5, 0.9)
    assert (toy["penalty_weight"], toy["n_dis"], toy["lr_g"], toy["lr_d"], toy["beta1"], toy["beta2"]) == \
        (0.1, 5, 1e-4, 1e-4, 0.5, 0.9)
    wgan = {p.source: p.values for p in plans[("wgan", "ring8")][1]}
    assert wgan["authors"]["clip_value"] == 0.01 and wgan["authors"]["lr_d"] == 5e-5 and wgan["authors"]["n_dis"] == 5
    van = {p.source for p in plans[("vanilla", "grid25")][1]}
    assert {"authors", "PacGAN 2-D", "Unrolled GAN notebook 2-D"} <= van


def test_the_incumbent_regime_is_one_more_point_with_the_variants_published_weights():
    plans = plan_study(study(n=6, incumbent="2d"))
    for (v, d), (_, points) in plans.items():
        inc = [p for p in points if p.source.startswith("2d setting")]
        assert len(inc) == 1 and len(points) == 6, (v, d)
        x = inc[0].values
        assert (x["optimizer"], x["lr_g"], x["lr_d"], x["n_dis"], x["lr_schedule"]) == ("adam", 2e-3, 2e-3, 1, "linear")
    gp = next(p for p in plans[("wgan-gp", "ring8")][1] if p.source.startswith("2d"))
    assert gp.values["penalty_weight"] == 0.1 and "gan_toy.py 2-D" in gp.source  # lambda from the 2-D toy script
    wgan = next(p for p in plans[("wgan", "ring8")][1] if p.source.startswith("2d"))
    assert wgan.values["clip_value"] == 0.01
    with pytest.raises(HarnessError, match="fewer than the 4 published points of vanilla"):
        plan_study(study(n=3, incumbent="2d"))


def test_sampled_points_lie_in_the_declared_ranges_and_depend_on_the_sampler_seed():
    plans = plan_study(study(n=12))
    for (v, d), (knobs, points) in plans.items():
        for p in points:
            if p.source:
                continue
            for k in knobs:
                x = p.values[k.name]
                assert (x in k.choices) if k.scale == "choice" else (k.low * 0.999 <= x <= k.high * 1.001), (k, x)
    again = plan_study(study(n=12))
    other = plan_study(study(n=12, sampler_seed=1))
    key = ("sngan", "ring8")
    assert [p.values for p in again[key][1]] == [p.values for p in plans[key][1]]
    assert [p.values for p in other[key][1]][2:] != [p.values for p in plans[key][1]][2:]


def test_n_smaller_than_the_published_points_and_shared_seeds_are_refused():
    with pytest.raises(HarnessError, match="fewer than the 3 published points of vanilla"):
        plan_study(study(n=2))
    with pytest.raises(HarnessError, match="disjoint; both hold \\[3\\]"):
        study(tuning_seeds=(3, 1000))
    with pytest.raises(HarnessError, match="--n must be"):
        study(n=0)


# ----------------------------------------------------------------------------- selection
def test_selection_takes_the_best_objective_then_the_tiebreak_with_failures_worst():
    g = pd.DataFrame({"objective": [7.0, 8.0, 8.0, math.nan, 8.0], "tiebreak": [0.9, 0.3, 0.6, 0.99, 0.6]},
                     index=[10, 11, 12, 13, 14])
    assert select(g, "modes_covered_k", "hq_fraction") == 12  # 8 modes; 0.6 beats 0.3; first of the exact tie
    lower = pd.DataFrame({"objective": [0.3, 0.1, math.nan], "tiebreak": [0, 0, 0]}, index=[0, 1, 2])
    assert select(lower, "w1", None) == 1  # lower W1 is better; NaN (a diverged point) never wins
    assert select(pd.DataFrame({"objective": [math.nan, 1.0], "tiebreak": [0, 0]}), "w1", None) == 1


def test_finalists_are_the_best_points_on_the_tuning_seeds_and_the_choice_uses_all_their_seeds(tmp_path):
    from harness.tune import point_table

    st = Study(SUITES.get("quick").with_(setting="authors", seeds=(0,), variants=("wgan",), datasets=("ring8",)),
               n=4, tuning_seeds=(7,), finalists=2, final_seeds=(8,))
    plans = plan_study(st)
    knobs, points = plans[("wgan", "ring8")]
    # hand-made summaries: on seed 7 the order is p02 > p01 > p00 = p03; on seed 8 p01 is far better than p02
    scores = {("p00", 7): 1, ("p01", 7): 6, ("p02", 7): 8, ("p03", 7): 1, ("p01", 8): 8, ("p02", 8): 2, ("p00", 8): 8}
    from harness.tune import TUNING_MEASUREMENT, base_spec
    from harness import runs as runs_mod

    for (pid, seed), k in scores.items():
        p = next(p for p in points if p.id == pid)
        d = runs_mod.run_dir(tmp_path, base_spec(st, "wgan", "ring8", seed, p.values, TUNING_MEASUREMENT))
        d.mkdir(parents=True)
        (d / "summary.json").write_text(json.dumps({"status": "completed", "metrics": {
            "modes_covered_k": k, "hq_fraction": 0.5}, "g_steps": 10, "d_steps": 50, "wall_time_s": 1.0}))
    t = point_table(st, plans, tmp_path).set_index("point")
    assert list(t.index[t["finalist"]]) == ["p01", "p02"]  # p00 scores 8 on seed 8 but was no finalist
    assert t.loc["p01", "final_objective"] == 7 and t.loc["p02", "final_objective"] == 5
    assert t.index[t["chosen"]].tolist() == ["p01"]  # 7 > 5 over both seeds, though p02 won on seed 7
    assert t.loc["p02", "objective"] == 8  # the sensitivity columns stay the tuning seed's
    with pytest.raises(HarnessError, match="go together"):
        Study(st.suite, n=4, tuning_seeds=(7,), finalists=2)
    with pytest.raises(HarnessError, match="must differ"):
        Study(st.suite, n=4, tuning_seeds=(7,), finalists=2, final_seeds=(7,))


def test_an_objective_must_name_metrics():
    assert Objective.parse("w1") == Objective("w1")
    assert Objective.parse("modes_covered_k,hq_fraction").tiebreak == "hq_fraction"
    with pytest.raises(HarnessError, match="'modes' is not a metric"):
        Objective.parse("modes")


# ----------------------------------------------------------------------------- settings
def test_a_setting_may_set_weights_but_not_the_method():
    Setting("weights", "lambda and c", overrides={"penalty_weight": 0.1, "clip_value": 0.05})
    with pytest.raises(HarnessError, match="may not set 'penalty'"):
        Setting("m", "", per_variant={"wgan-gp": {"ring8": {"penalty": "none"}}})


def test_a_tuned_setting_holds_values_per_variant_and_data_set():
    s = Setting("t", "", overrides={"lr_schedule": "linear"},
                per_variant={"wgan-gp": {"ring8": {"penalty_weight": 0.1, "n_dis": 2}}})
    assert s.values_for("wgan-gp", "ring8") == {"lr_schedule": "linear", "penalty_weight": 0.1, "n_dis": 2}
    with pytest.raises(HarnessError, match="no tuned values for sngan on ring8"):
        s.values_for("sngan", "ring8")
    with pytest.raises(HarnessError, match="no tuned values for wgan-gp on grid25"):
        s.values_for("wgan-gp", "grid25")  # no fallback declared
    f = Setting("t2", "", per_variant=s.per_variant, provenance={"fallback_dataset": "ring8"})
    with pytest.warns(UserWarning, match="'t2' was not tuned on grid25: wgan-gp takes its values for ring8"):
        assert f.values_for("wgan-gp", "grid25") == {"penalty_weight": 0.1, "n_dis": 2}


def _payload(name="tuned-test-file", lam=0.1):
    return setting_payload(name, "test", {}, {"wgan-gp": {"ring8": {"penalty_weight": lam, "n_dis": 2}}},
                           {"n": 3, "report": ""})


def test_setting_file_round_trip_and_run_under_it(tmp_path):
    path = write_setting_file(tmp_path / "s.json", _payload())
    spec = resolve_run("wgan-gp", "ring8", 0, setting=str(path))
    assert spec.setting == "tuned-test-file"
    assert (spec.config.penalty_weight, spec.config.n_dis) == (0.1, 2)
    assert spec.config.lr_g == 1e-4  # what the file does not set stays the variant's


@pytest.mark.parametrize("damage,message", [
    (lambda p: p["values"]["wgan-gp"]["ring8"].update(penalty_weight=10.0), "sha256 does not match"),
    (lambda p: p.update(version=2), "version 2"),
    (lambda p: p.update(format="something"), "not a tuned setting"),
])
def test_a_damaged_setting_file_exits_2_in_one_line(tmp_path, capsys, damage, message):
    payload = _payload("tuned-damaged")
    damage(payload)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(payload))
    assert main(["run", "--variants", "wgan-gp", "--datasets", "ring8", "--seeds", "0", "--setting", str(path),
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not (tmp_path / "o").exists()


def test_a_missing_setting_file_is_named(tmp_path, capsys):
    assert main(["run", "--setting", str(tmp_path / "none.json")]) == 2
    assert "setting file not found" in capsys.readouterr().err


def test_published_values_may_not_change_the_method():
    with pytest.raises(HarnessError, match="set loss, which is the method"):
        harness.Variant(name="x", defaults={}, published={"paper": {"loss": "hinge"}})


# ----------------------------------------------------------------------------- end to end
@pytest.mark.slow
def test_tune_selects_on_tuning_seeds_and_reports_on_disjoint_seeds(tmp_path):
    out, setting = tmp_path / "study", tmp_path / "tuned-e2e.json"
    code = main(["tune", "--variants", "vanilla,wgan-gp", "--datasets", "ring8", "--n", "3", "--steps", "30",
                 "--tuning-seeds", "7", "--report-seeds", "0,1", "--set", "n_eval=200", "--set", "log_every=10",
                 "--set", "eval_every=10", "--set", "noise_banks=2", "--name", "tuned-e2e", "--out", str(out),
                 "--setting-out", str(setting), "--report-out", str(tmp_path / "report"), "--jobs", "1", "--quiet",
                 "--incumbent", "none", "--finalists", "2", "--final-seeds", "8"])
    assert code == 0
    tuning = harness.load_runs(out / "tuning")
    report = harness.load_runs(out / "report-seeds")
    report = report[~report["reference"]]
    assert set(tuning["seed"]) == {7, 8} and set(report["seed"]) == {0, 1}
    # the same N for both on the tuning seed; two finalists each on the final seed
    assert tuning[tuning["seed"] == 7].groupby("variant").size().to_dict() == {"vanilla": 3, "wgan-gp": 3}
    assert tuning[tuning["seed"] == 8].groupby("variant").size().to_dict() == {"vanilla": 2, "wgan-gp": 2}
    points = pd.read_csv(out / "points.csv")
    payload = read_setting_file(setting)
    for v in ("vanilla", "wgan-gp"):
        rows = points[points["variant"] == v]
        chosen = rows[rows["chosen"]]
        assert len(chosen) == 1 and chosen["finalist"].iloc[0]
        assert chosen["final_objective"].iloc[0] == rows["final_objective"].max()
        values = json.loads(chosen["values"].iloc[0])
        assert payload["values"][v]["ring8"] == values
        spec = json.loads((out / "report-seeds" / v / "ring8" / "seed-0" / "spec.json").read_text())
        assert all(spec["config"][k] == x for k, x in values.items())  # the report runs use the chosen point
        assert spec["setting"] == "tuned-e2e"
    prov = payload["provenance"]
    assert prov["tuning_seeds"] == [7] and prov["report_seeds"] == [0, 1] and prov["n"] == 3
    assert prov["finalists"] == 2 and prov["final_seeds"] == [8]
    assert "gan_toy.py 2-D" in prov["published_points"]["wgan-gp on ring8"]
    text = (tmp_path / "report" / "tune.md").read_text()
    assert "Sensitivity to hyper-parameters" in text and (tmp_path / "report" / "sensitivity.png").stat().st_size > 0
    # findings first (issue 20): the paragraph under the title names variants with their report-seed numbers
    first = text.split("\n\n")[1]
    assert first.startswith("Found, with each variant's chosen point on the report seeds [0, 1]"), first
    assert "ring8 (tuned-e2e; 30 G steps; 2 seeds per variant)" in first and re.search(r"(NS-GAN|WGAN-GP), [0-9.]+ of 8", first)
    assert "Provenance" not in text or prov["commit"].endswith("-dirty")
    assert (tmp_path / "report" / "report-seeds" / "report.md").exists()
    # the tuning runs measure only the end; the report seeds measure the whole protocol
    assert json.loads((out / "tuning" / "vanilla" / "ring8").glob("*/seed-7").__next__().joinpath(
        "spec.json").read_text())["config"]["eval_every"] == 0
    assert spec["config"]["eval_every"] == 10
    # resumable: a second call trains nothing and writes the same setting file
    before = setting.read_bytes()
    assert main(["tune", "--variants", "vanilla,wgan-gp", "--datasets", "ring8", "--n", "3", "--steps", "30",
                 "--tuning-seeds", "7", "--report-seeds", "0,1", "--set", "n_eval=200", "--set", "log_every=10",
                 "--set", "eval_every=10", "--set", "noise_banks=2", "--name", "tuned-e2e", "--out", str(out),
                 "--setting-out", str(setting), "--no-report", "--jobs", "1", "--quiet", "--incumbent", "none",
                 "--finalists", "2", "--final-seeds", "8"]) == 0
    assert json.loads(setting.read_text())["values"] == json.loads(before)["values"]


def test_a_study_from_an_uncommitted_tree_is_refused_in_a_committed_report_folder_or_said_in_bold(tmp_path,
                                                                                                    monkeypatch):
    from harness import tune

    out = tmp_path / "study"
    assert main(["tune", "--variants", "vanilla", "--datasets", "ring8", "--n", "3", "--steps", "10",
                 "--tuning-seeds", "7", "--report-seeds", "0,1", "--set", "n_eval=200", "--name", "tuned-dirty",
                 "--out", str(out), "--setting-out", str(tmp_path / "s.json"), "--no-report", "--jobs", "1",
                 "--quiet", "--incumbent", "none", "--finalists", "0"]) == 0
    payload = read_setting_file(tmp_path / "s.json")
    payload["provenance"]["commit"] = "0123abc-dirty"
    table = pd.read_csv(out / "points.csv")
    monkeypatch.setattr(harness.runs, "committed_report_dir", lambda path: True)
    with pytest.raises(HarnessError, match="the study comes from a working tree with uncommitted changes"):
        tune.write_study_report(out, tmp_path / "r", table, payload)
    assert not (tmp_path / "r").exists()
    tune.write_study_report(out, tmp_path / "r", table, payload, allow_dirty=True)
    assert "**Provenance: the study was run from a working tree with uncommitted changes (commit 0123abc-dirty)" \
        in (tmp_path / "r" / "tune.md").read_text()


def test_the_setting_file_is_written_only_after_the_report_seed_runs(tmp_path, monkeypatch):
    """Written into the checkout (harness/tuned/) before the report seeds trained, it made them
    record a "-dirty" commit: they train under a copy in the runs folder instead."""
    import harness.suite
    import harness.tuned

    events = []
    run_specs, write = harness.suite.run_specs, harness.tuned.write_setting_file
    monkeypatch.setattr(harness.suite, "run_specs",
                        lambda specs, root, **kw: events.append(("train", root.name)) or run_specs(specs, root, **kw))
    monkeypatch.setattr(harness.tuned, "write_setting_file",
                        lambda path, payload: events.append(("write", path.name)) or write(path, payload))
    out = tmp_path / "study"
    assert main(["tune", "--variants", "vanilla", "--datasets", "ring8", "--n", "3", "--steps", "10",
                 "--tuning-seeds", "7", "--report-seeds", "0", "--set", "n_eval=200", "--name", "tuned-order",
                 "--out", str(out), "--setting-out", str(tmp_path / "final.json"), "--no-report", "--jobs", "1",
                 "--quiet", "--incumbent", "none", "--finalists", "0"]) == 0
    assert events == [("train", "tuning"), ("write", "setting.json"), ("train", "report-seeds"),
                      ("write", "final.json")]
    assert (out / "setting.json").read_bytes() == (tmp_path / "final.json").read_bytes()


def test_an_untuned_candidate_trains_with_the_tuned_values_of_the_reference_it_is_checked_against(tmp_path):
    path = write_setting_file(tmp_path / "s.json", _payload("tuned-as-test"))
    harness.register_variant(harness.Variant(name="my-wgan-gp-copy", defaults=dict(
        loss="wasserstein", penalty="gp", optimizer="adam", lr_g=1e-4, lr_d=1e-4)), replace=True)
    with pytest.raises(HarnessError, match="no tuned values for my-wgan-gp-copy on ring8"):
        resolve_run("my-wgan-gp-copy", "ring8", 0, setting=str(path))
    spec = resolve_run("my-wgan-gp-copy", "ring8", 0, setting=str(path), tuned_as="WGAN-GP")
    assert (spec.config.penalty_weight, spec.config.n_dis, spec.variant) == (0.1, 2, "my-wgan-gp-copy")


@pytest.mark.parametrize("args,message", [
    (["--n", "0"], "--n must be a whole number >= 1"),
    (["--knobs", "lr_x"], "unknown knob 'lr_x'"),
    (["--range", "lr_g=1e-3:1e-4"], "empty range"),
    (["--objective", "modes"], "'modes' is not a metric"),
    (["--tuning-seeds", "0"], "disjoint"),
    (["--finalists", "13"], "--finalists must be a whole number from 0 to --n"),
    (["--set", "penalty_weight=1"], "a tuned knob of wgan-gp cannot also be fixed"),
    (["--incumbent", "nope"], "unknown setting 'nope'"),
])
def test_tune_bad_input_exits_2_in_one_line_before_any_work(tmp_path, capsys, args, message):
    assert main(["tune", "--out", str(tmp_path / "o"), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "o").exists()


def test_a_rerun_study_that_chooses_another_point_sets_the_earlier_report_runs_aside(tmp_path):
    from harness.runs import atomic_write_json, run_dir
    from harness.tune import set_aside_superseded

    old = resolve_run("wgan-gp", "ring8", 0, {"penalty_weight": 10.0})
    new = resolve_run("wgan-gp", "ring8", 0, {"penalty_weight": 0.1})
    same = resolve_run("wgan-gp", "ring8", 1, {"penalty_weight": 0.1})
    for spec in (old, same):
        d = run_dir(tmp_path / "report-seeds", spec)
        atomic_write_json(d / "spec.json", spec.to_dict())
        (d / "summary.json").write_text("{}")
    set_aside_superseded([new, same], tmp_path / "report-seeds", tmp_path / "superseded")
    moved = tmp_path / "superseded" / old.fingerprint() / "wgan-gp" / "ring8" / "seed-0"
    assert (moved / "summary.json").exists()  # kept, out of the way
    assert not run_dir(tmp_path / "report-seeds", new).exists()
    assert (run_dir(tmp_path / "report-seeds", same) / "summary.json").exists()  # the same choice stays
