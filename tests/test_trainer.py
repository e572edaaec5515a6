import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

import harness
from harness.runs import load_evaluations, load_history, read_json
from harness.suite import run_specs
from harness.trainer import resolve_run, train

SCRIPT = """
import json, sys, torch
torch.set_num_threads(1)
from harness.trainer import resolve_run, train
spec = resolve_run(sys.argv[1], "ring8", int(sys.argv[2]), json.loads(sys.argv[3]))
train(spec, sys.argv[4])
"""


def _train_in_subprocess(variant, seed, overrides, path):
    subprocess.run([sys.executable, "-c", SCRIPT, variant, str(seed), json.dumps(overrides), str(path)], check=True)
    return (load_history(path), load_evaluations(path), read_json(path / "summary.json")["metrics"],
            np.load(path / "samples.npy"))


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["wgan-gp", "sngan"])
def test_same_spec_twice_in_separate_processes_gives_identical_numbers(tmp_path, tiny, variant):
    h1, e1, m1, s1 = _train_in_subprocess(variant, 0, tiny, tmp_path / "a")
    h2, e2, m2, s2 = _train_in_subprocess(variant, 0, tiny, tmp_path / "b")
    drop = ["wall_time_s"]
    pd.testing.assert_frame_equal(h1.drop(columns=drop), h2.drop(columns=drop), check_exact=True)
    pd.testing.assert_frame_equal(e1.drop(columns=drop), e2.drop(columns=drop), check_exact=True)
    assert m1 == m2
    assert np.array_equal(s1, s2)
    h3, _, m3, s3 = _train_in_subprocess(variant, 1, tiny, tmp_path / "c")
    assert not np.array_equal(s1, s3)
    assert not h1["loss_d"].equals(h3["loss_d"])


def _g_state(tmp_path, name, spec):
    train(spec, tmp_path / name)
    return torch.load(tmp_path / name / "checkpoint.pt", weights_only=True)


@pytest.mark.parametrize("variant", ["vanilla", "wgan", "wgan-gp", "sngan"])
def test_evaluation_and_logging_frequency_never_change_training(tmp_path, tiny, variant):
    base = _g_state(tmp_path, "base", resolve_run(variant, "ring8", 0, {**tiny, "eval_every": 0, "log_every": 30}))
    busy = _g_state(tmp_path, "busy", resolve_run(variant, "ring8", 0, {**tiny, "eval_every": 3, "log_every": 1}))
    for net in ("G", "D"):
        for k, v in base[net].items():
            assert torch.equal(v, busy[net][k]), f"{net}.{k} differs"


def test_history_holds_every_probe(tmp_path, tiny):
    train(resolve_run("wgan-gp", "ring8", 0, tiny), tmp_path)
    h = load_history(tmp_path)
    assert h["step"].tolist() == [10, 20, 30]
    for key in ["loss_d", "loss_g", "penalty", "grad_norm_g", "grad_norm_d", "grad_norm_d/net.0", "grad_norm_g/net.4",
                "d_real", "d_fake", "critic_gap", "input_grad_real", "input_grad_fake", "input_grad_interp",
                "input_grad_frac_gt1_interp", "sigma_max/net.0", "wall_time_s"]:
        assert key in h.columns, key
        assert np.isfinite(h[key]).all()
    np.testing.assert_allclose(h["critic_gap"], h["d_real"] - h["d_fake"])
    # total gradient norm = sqrt(sum of squared per-layer norms)
    layers = [c for c in h.columns if c.startswith("grad_norm_d/")]
    np.testing.assert_allclose(h["grad_norm_d"], np.sqrt((h[layers] ** 2).sum(axis=1)), rtol=1e-9)
    e = load_evaluations(tmp_path)
    assert e["step"].tolist() == [15, 30]
    summary = read_json(tmp_path / "summary.json")
    assert summary["status"] == "completed" and summary["step"] == 30
    assert set(summary["metrics"]) == {"modes_covered_k", "modes_covered", "hq_fraction", "reverse_kl",
                                       "frechet_distance", "w1"}
    assert summary["metrics"] == {k: e.iloc[-1][k] for k in summary["metrics"]}
    snaps = np.load(tmp_path / "snapshots.npz")
    assert snaps["samples"].shape == (2, 500, 2) and snaps["d_grid"].shape == (2, 64, 64)
    assert np.load(tmp_path / "samples.npy").shape == (500, 2)


def test_sngan_spectral_norm_keeps_sigma_near_one(tmp_path, tiny):
    train(resolve_run("sngan", "ring8", 0, tiny), tmp_path)
    h = load_history(tmp_path)
    sig = h[[c for c in h.columns if c.startswith("sigma_max/")]].iloc[-1]
    assert ((sig > 0.9) & (sig < 1.1)).all(), sig


def test_wgan_clipping_bounds_critic_weights(tmp_path, tiny):
    train(resolve_run("wgan", "ring8", 0, tiny), tmp_path)
    d = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["D"]
    assert max(v.abs().max().item() for v in d.values()) <= 0.01 + 1e-12


def test_simultaneous_updates_differ_from_alternating(tiny):
    a = train(resolve_run("vanilla", "ring8", 0, tiny))
    s = train(resolve_run("vanilla", "ring8", 0, {**tiny, "update": "simultaneous"}))
    assert s["status"] == "completed"
    assert a["metrics"] != s["metrics"]


def test_forced_divergence_is_a_result_and_the_sweep_goes_on(tmp_path, tiny):
    bad = resolve_run("wgan-gp", "ring8", 0, {**tiny, "lr_d": 1e3, "lr_g": 1e3, "steps": 200, "eval_every": 0})
    good = resolve_run("vanilla", "ring8", 0, tiny)
    results = run_specs([bad, good], tmp_path, jobs=1, progress=False)
    assert [r["status"] for r in results] == ["diverged", "completed"]
    df = harness.load_runs(tmp_path).set_index("variant")
    assert df.loc["wgan-gp", "status"] == "diverged"
    step = df.loc["wgan-gp", "diverged_step"]
    assert 1 <= step <= 200
    assert df.loc["wgan-gp", "reason"]
    assert np.isnan(df.loc["wgan-gp", "frechet_distance"])
    assert df.loc["vanilla", "status"] == "completed"


def test_failed_run_is_recorded_and_the_sweep_goes_on(tmp_path, tiny):
    from harness.parts import LOSSES, LossPair

    def boom(d_real, d_fake):
        raise RuntimeError("broken loss")

    LOSSES.register("test-broken", LossPair(boom, lambda f: f.mean()), replace=True)
    bad = resolve_run("vanilla", "ring8", 0, {**tiny, "loss": "test-broken"})
    good = resolve_run("vanilla", "ring8", 1, tiny)
    with pytest.warns(UserWarning, match="failed"):
        results = run_specs([bad, good], tmp_path, jobs=1, progress=False)
    assert [r["status"] for r in results] == ["failed", "completed"]
    status = read_json(tmp_path / "vanilla" / "ring8" / "seed-0" / "status.json")
    assert status["status"] == "failed" and "broken loss" in status["reason"]
    assert (tmp_path / "vanilla" / "ring8" / "seed-0" / "error.txt").exists()
    assert not (tmp_path / "vanilla" / "ring8" / "seed-0" / "summary.json").exists()


def test_finished_runs_are_skipped_and_interrupted_ones_redone(tmp_path, tiny):
    spec = resolve_run("vanilla", "ring8", 0, tiny)
    run_specs([spec], tmp_path, progress=False)
    run = tmp_path / "vanilla" / "ring8" / "seed-0"
    mtime = (run / "summary.json").stat().st_mtime_ns
    assert run_specs([spec], tmp_path, progress=False)[0]["status"].startswith("skipped")
    assert (run / "summary.json").stat().st_mtime_ns == mtime
    # an interrupted run: status says running
    (run / "status.json").write_text(json.dumps({"status": "running", "step": 3, "reason": None}))
    df = harness.load_runs(tmp_path)
    assert df.loc[df.variant == "vanilla", "status"].tolist() == ["running"]
    assert run_specs([spec], tmp_path, progress=False)[0]["status"] == "completed"


def test_a_directory_holding_another_config_is_refused_before_any_work(tmp_path, tiny):
    run_specs([resolve_run("vanilla", "ring8", 0, tiny)], tmp_path, progress=False)
    other = resolve_run("vanilla", "ring8", 0, {**tiny, "lr_d": 1e-3})
    with pytest.raises(harness.HarnessError, match="lr_d"):
        run_specs([other], tmp_path, progress=False)


@pytest.mark.slow
def test_parallel_workers_give_the_same_numbers_as_in_process(tmp_path, tiny):
    specs = [resolve_run("vanilla", "ring8", s, tiny) for s in (0, 1)]
    run_specs(specs, tmp_path / "seq", jobs=1, progress=False)
    run_specs(specs, tmp_path / "par", jobs=2, progress=False)
    a = harness.load_runs(tmp_path / "seq")
    b = harness.load_runs(tmp_path / "par")
    cols = ["modes_covered", "hq_fraction", "reverse_kl", "frechet_distance", "w1"]
    pd.testing.assert_frame_equal(a[cols], b[cols], check_exact=True)


def test_load_runs_has_one_row_per_run_with_final_metrics(tmp_path, tiny):
    run_specs([resolve_run(v, "ring8", 0, tiny) for v in ("vanilla", "wgan")], tmp_path, progress=False)
    df = harness.load_runs(tmp_path)
    # the two runs, and the reference rows of their data set and seed (harness.references)
    assert sorted(df.variant) == ["null-gaussian", "null-uniform", "real", "vanilla", "wgan"]
    df = df[df.variant.isin(["vanilla", "wgan"])].reset_index(drop=True)
    for col in ["variant", "dataset", "seed", "status", "modes_covered", "hq_fraction", "reverse_kl",
                "frechet_distance", "w1", "wall_time_s", "protocol", "run_dir"]:
        assert col in df.columns
    assert json.loads(df.loc[0, "protocol"])["evaluator"]["n_eval"] == 500
    summary = json.loads((tmp_path / "wgan" / "ring8" / "seed-0" / "summary.json").read_text())
    assert summary["g_steps"] == tiny["steps"] and summary["d_steps"] == 5 * tiny["steps"]  # wgan: n_dis 5
    assert summary["eval_noise"]["n_banks"] == 5 and set(summary["eval_noise"]["sd"]) >= {"modes_covered", "w1"}
    assert "n_dis" not in json.loads(df.loc[0, "protocol"])["budget"]  # part of the variant, not the protocol


@pytest.mark.slow
def test_workers_of_a_killed_sweep_do_not_run_on_as_orphans(tmp_path):
    import os
    import signal
    import time

    script = (
        "import sys; from harness.suite import run_specs; from harness.trainer import resolve_run\n"
        "specs = [resolve_run('wgan-gp', 'ring8', s, {'steps': 100000, 'eval_every': 0}) for s in (0, 1)]\n"
        "run_specs(specs, sys.argv[1], jobs=2, progress=False)\n")
    parent = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)])
    try:
        deadline = time.time() + 120
        while time.time() < deadline and len(list(tmp_path.rglob("history.jsonl"))) < 2:
            time.sleep(0.5)
        assert len(list(tmp_path.rglob("history.jsonl"))) == 2, "workers never started"
        workers = [int(p) for p in subprocess.run(["pgrep", "-P", str(parent.pid)], capture_output=True,
                                                  text=True).stdout.split()]
        workers = [w for w in workers if "spawn_main" in open(f"/proc/{w}/cmdline").read()]
        assert workers
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.time() + 15
        while time.time() < deadline and any(os.path.exists(f"/proc/{w}") and
                                             open(f"/proc/{w}/stat").read().split()[2] != "Z" for w in workers):
            time.sleep(0.2)
        alive = [w for w in workers if os.path.exists(f"/proc/{w}") and open(f"/proc/{w}/stat").read().split()[2] != "Z"]
        assert not alive, f"orphaned workers still running: {alive}"
        for status in tmp_path.rglob("status.json"):
            assert json.loads(status.read_text())["status"] == "running"  # visibly incomplete
    finally:
        if parent.poll() is None:
            parent.kill()
