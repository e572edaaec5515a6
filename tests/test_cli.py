import json
import subprocess
import sys

import numpy as np
import pytest

from harness.cli import main, parse_seeds
from harness.data import get_dataset


def run_cli(*args, cwd=None):
    p = subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


@pytest.mark.parametrize("args, needle", [
    (["run", "--variants", "wgan-gpp"], "unknown variant 'wgan-gpp'"),
    (["run", "--datasets", "ring9"], "unknown data set 'ring9'"),
    (["run", "--suite", "quik"], "unknown suite 'quik' (did you mean 'quick'?)"),
    (["run", "--set", "lr_dd=1"], "unknown --set key 'lr_dd'"),
    (["run", "--set", "lr_d=0"], "lr_d=0.0: must be > 0"),
    (["run", "--steps", "-3"], "steps=-3: must be > 0"),
    (["run", "--set", "steps=ten"], "steps='ten': expected int"),
    (["run", "--seeds", "a,b"], "--seeds"),
    (["run", "--bogus"], "unrecognized arguments: --bogus"),
    (["evaluate", "--dataset", "ring8", "missing.npy"], "samples file not found: missing.npy"),
    (["evaluate", "--dataset", "ring7", "x.npy"], "unknown data set 'ring7'"),
    (["report", "nowhere", "--out", "r"], "runs directory not found: nowhere"),
    # options that apply nowhere, and preconditions, found before any work
    (["run", "--datasets", "ring8", "--set", "features=digits-classifier"],
     "features='digits-classifier' does not apply to data set 'ring8' (its evaluator takes: n_w1)"),
    (["run", "--suite", "stacked-digits", "--set", "n_w1=500"], "n_w1=500 does not apply to data set 'stacked-digits'"),
    (["run", "--suite", "stacked-digits", "--set", "features=inception-v3", "--set", "feature_weights=nope.pth"],
     "nope.pth"),
    (["run", "--suite", "stacked-digits", "--set", "n_eval=150"],
     "digits-classifier features than feature dimensions: got N = 150 for d = 192"),
    (["evaluate", "--dataset", "ring8", "--set", "features=digits-classifier", "x.npy"], "does not apply to data set 'ring8'"),
    # --grid
    (["run", "--grid", "lr_gg=1e-3,1e-4"], "unknown --grid key 'lr_gg' (did you mean 'lr_g'?)"),
    (["run", "--grid", "lr_g="], "--grid lr_g: empty list of values"),
    (["run", "--grid", "steps=10,ten"], "steps='ten': expected int"),
    (["run", "--grid", "lr_g=1e-3,1e-4", "--set", "lr_g=1e-3"], "lr_g is given both with --grid and with --set"),
    (["run", "--grid", "lr_g=1e-3,0.001"], "a value is listed twice"),
    (["run", "--grid", "loss=hinge,hing"], "unknown value for loss 'hing'"),
    (["run", "--grid", "lr_g,lr_gg=1e-3,1e-4"], "unknown --grid key 'lr_gg'"),
    (["run", "--grid", "lr_g,lr_d=1e-3,1e-4", "--set", "lr_d=1e-3"], "lr_d is given both with --grid and with --set"),
    (["run", "--grid", "lr_g,lr_d=1e-3", "--grid", "lr_d=1e-4"], "--grid lr_d is given twice"),
    (["run", "--grid", "steps,lr_g=10,1e-3"], "steps='1e-3': expected int"),
    # --setting
    (["run", "--setting", "2-d"], "unknown setting '2-d' (did you mean '2d'?)"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, monkeypatch, capsys, args, needle):
    monkeypatch.chdir(tmp_path)
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_grid_runs_every_point_on_every_seed_in_its_own_directory(tmp_path, tiny):
    from harness.suite import SuiteSpec, expand_suite, grid_points

    assert grid_points({"a": [1, 2], "b": ["x", "y", "z"]}) == [
        {"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 1, "b": "z"}, {"a": 2, "b": "x"}, {"a": 2, "b": "y"}, {"a": 2, "b": "z"}]
    suite = SuiteSpec("t", ("vanilla",), ("ring8",), (0, 1), overrides=tiny)
    specs = expand_suite(suite, grid={"lr_g": [1e-4, 1e-3]})
    assert [(s.config.lr_g, s.seed, s.point) for s in specs] == [
        (1e-4, 0, "lr_g=0.0001"), (1e-4, 1, "lr_g=0.0001"), (1e-3, 0, "lr_g=0.001"), (1e-3, 1, "lr_g=0.001")]
    from harness.runs import run_dir

    assert run_dir(tmp_path, specs[2]) == tmp_path / "vanilla" / "ring8" / "lr_g=0.001" / "seed-0"
    assert len({s.fingerprint() for s in specs}) == 4
    # tied keys take the same value at each point
    assert grid_points({"lr_g,lr_d": [1, 2], "b": ["x"]}) == [
        {"lr_g": 1, "lr_d": 1, "b": "x"}, {"lr_g": 2, "lr_d": 2, "b": "x"}]
    tied = expand_suite(suite, grid={"lr_g,lr_d": [1e-4, 1e-3]})
    assert [(s.config.lr_g, s.config.lr_d, s.point) for s in tied][::2] == [
        (1e-4, 1e-4, "lr_d=0.0001,lr_g=0.0001"), (1e-3, 1e-3, "lr_d=0.001,lr_g=0.001")]


def test_the_console_script_exits_2_with_one_line(tmp_path):
    code, out, err = run_cli("run", "--variants", "wgan-gpp", cwd=tmp_path)
    assert code == 2
    assert err.strip() == "gan-harness: error: unknown variant 'wgan-gpp' (did you mean 'wgan-gp'?); " \
        "known: dragan, gan-r1, lsgan, sngan, unrolled, vanilla, wgan, wgan-gp"
    assert list(tmp_path.iterdir()) == []


def test_output_path_that_is_a_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    code, _, err = run_cli("run", "--out", "afile", "--steps", "5", cwd=tmp_path)
    assert code == 2 and "is a file" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli("run", "--out", "afile/sub", "--steps", "5", cwd=tmp_path)
    assert code == 2 and "is a file" in err


def test_evaluate_wrong_shape(tmp_path):
    np.save(tmp_path / "s.npy", np.zeros((10, 3)))
    code, _, err = run_cli("evaluate", "--dataset", "ring8", str(tmp_path / "s.npy"))
    assert code == 2 and "shape (N, 2)" in err and len(err.strip().splitlines()) == 1
    np.save(tmp_path / "n.npy", np.full((10, 2), np.nan))
    code, _, err = run_cli("evaluate", "--dataset", "ring8", str(tmp_path / "n.npy"))
    assert code == 2 and "NaN" in err


def _evaluate(tmp_path, arr, name="s.npy", dataset="ring8"):
    path = tmp_path / name
    if name.endswith(".npy"):
        np.save(path, arr)
    elif name.endswith(".npz"):
        np.savez(path, samples=arr)
    else:
        import torch
        torch.save(torch.as_tensor(arr), path)
    code, out, err = run_cli("evaluate", "--dataset", dataset, str(path))
    assert code == 0, err
    return json.loads(out)


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["ring8", "grid25"])
def test_evaluate_known_answers(tmp_path, dataset):
    data = get_dataset(dataset)
    exact = _evaluate(tmp_path, data.sample_exact(2500, seed=11), dataset=dataset)
    assert set(exact) >= {"modes_covered", "hq_fraction", "reverse_kl", "frechet_distance", "w1"}
    assert exact["modes_covered"] == data.n_modes
    assert abs(exact["hq_fraction"] - 0.989) < 0.01
    one = _evaluate(tmp_path, np.repeat(data.centres[:1], 2500, 0), "one.npz", dataset)
    assert one["modes_covered"] == 1
    noise = _evaluate(tmp_path, np.random.default_rng(0).uniform(-6, 6, (2500, 2)).astype(np.float32), "u.pt", dataset)
    assert noise["hq_fraction"] < 0.02


def test_evaluate_matches_the_trainers_final_evaluation(tmp_path, tiny):
    from harness.runs import read_json
    from harness.trainer import resolve_run, train

    train(resolve_run("vanilla", "ring8", 0, tiny), tmp_path / "run")
    code, out, err = run_cli("evaluate", "--dataset", "ring8", str(tmp_path / "run" / "samples.npy"),
                             "--set", f"n_w1={tiny['n_w1']}")
    assert code == 0, err
    stored = read_json(tmp_path / "run" / "summary.json")["metrics"]
    got = json.loads(out)
    for k, v in stored.items():
        assert got[k] == pytest.approx(v, rel=1e-12) if np.isfinite(v) else got[k] is None


def test_undefined_kl_is_null_with_a_warning_in_json(tmp_path):
    res = _evaluate(tmp_path, np.full((100, 2), 50.0))
    assert res["reverse_kl"] is None and res["hq_fraction"] == 0.0
    assert any("reverse_kl" in w for w in res["warnings"])


def test_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("vanilla", "wgan-gp", "ring8", "grid25", "quick", "modes_covered", "lr_d"):
        assert name in out


def test_parse_seeds():
    assert parse_seeds("0-2,7,1") == [0, 1, 2, 7]


@pytest.mark.slow
def test_evaluate_stacked_digits_counts_1000_modes_for_real_data_and_1_for_one_image(tmp_path):
    import torch

    x = get_dataset("stacked-digits").sample(10000, torch.Generator().manual_seed(5)).numpy()
    real = _evaluate(tmp_path, x, "real.npy", "stacked-digits")
    assert set(real) >= {"modes_covered", "reverse_kl", "fid", "kid", "precision", "recall", "density", "coverage"}
    assert real["modes_covered"] >= 995 and real["reverse_kl"] < 0.1
    u8 = np.round((np.repeat(x[:1], 10000, 0) + 1) * 127.5).astype(np.uint8)  # uint8 input is accepted too
    one = _evaluate(tmp_path, u8, "one.npy", "stacked-digits")
    assert one["modes_covered"] == 1 and one["recall"] == 0.0 and one["fid"] > 100 * real["fid"]
    code, _, err = run_cli("evaluate", "--dataset", "stacked-digits", str(tmp_path / "real.npy"), "--set", "n_eval=100")
    # fewer reference images than the 192-d feature space: FID is undefined
    assert code == 2 and len(err.strip().splitlines()) == 1


TTUR_PLUGIN = '''
import harness
harness.register_variant(harness.Variant(name="my-ttur", defaults=dict(
    loss="nonsaturating", penalty="none", constraint="none", optimizer="adam", lr_g=1e-4, lr_d=4e-4,
    beta1=0.0, beta2=0.9, n_dis=1)), replace=True)
'''


def test_a_setting_that_overrides_a_variants_own_defaults_says_so(tmp_path):
    """Issue 19: a variant's TTUR learning rates were silently replaced by the suite's setting."""
    from harness.resolve import override_note

    note = override_note("wgan-gp", "ring8", "2d")
    assert note.startswith("setting 2d overrides wgan-gp's own defaults on ring8: ")
    assert "lr_g 0.0001 -> 0.002" in note and "n_dis 5 -> 1" in note and "penalty_weight" not in note
    assert override_note("sngan", "ring8", "authors") is None  # its own values: nothing to say
    (tmp_path / "my_gans.py").write_text(TTUR_PLUGIN)
    code, _, err = run_cli("run", "--plugin", "my_gans.py", "--variants", "my-ttur", "--datasets", "ring8",
                           "--seeds", "0", "--setting", "2d", "--steps", "2", "--set", "eval_every=0",
                           "--set", "n_eval=100", "--no-report", "--quiet", "--out", "runs", cwd=tmp_path)
    assert code == 0, err
    lines = [x for x in err.splitlines() if "overrides my-ttur's own defaults" in x]
    assert lines == ["setting 2d overrides my-ttur's own defaults on ring8: lr_d 0.0004 -> 0.002, "
                     "lr_g 0.0001 -> 0.002"]
