"""Mixtures of any geometry, the literature's named toy sets, case-insensitive names, and where
`run` writes its report."""
import json
import math
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main, parse_datasets
from harness.data import DATASETS, canonical_dataset, get_dataset
from harness.errors import HarnessError

# the fraction of a 2-D Gaussian within 3 sigma of its centre: 1 - exp(-9/2)
HQ_3SIGMA = 1 - math.exp(-4.5)


def cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# ----------------------------------------------------------------------------- names
@pytest.mark.parametrize("spelling", ["ring:radius=1,modes=8,sigma=0.01", "ring:modes=8,radius=1.0,sigma=0.01",
                                      "RING: sigma=1e-2, Modes=8.0, radius=1.000", "ring:modes=8,radius=1,sigma=0.010"])
def test_one_geometry_has_one_canonical_name(spelling):
    assert canonical_dataset(spelling) == "ring:modes=8,radius=1,sigma=0.01"
    data = get_dataset(spelling)
    assert data.name == "ring:modes=8,radius=1,sigma=0.01"
    assert data.n_modes == 8 and data.sigma == 0.01
    np.testing.assert_allclose(np.linalg.norm(data.centres, axis=1), 1.0)


def test_defaults_are_filled_in_and_are_ring8s_and_grid25s():
    assert canonical_dataset("ring:") == "ring:modes=8,radius=2,sigma=0.02"
    assert canonical_dataset("ring:modes=16") == "ring:modes=16,radius=2,sigma=0.02"
    assert canonical_dataset("grid:side=3") == "grid:side=3,sigma=0.05,spacing=2"
    np.testing.assert_allclose(get_dataset("ring:").centres, get_dataset("ring8").centres)
    np.testing.assert_allclose(get_dataset("grid:").centres, get_dataset("grid25").centres)
    g = get_dataset("grid:side=3,spacing=0.5,sigma=0.01")
    assert sorted(set(g.centres[:, 0].round(12))) == [-0.5, 0.0, 0.5] and g.n_modes == 9


def test_registered_names_are_case_insensitive_and_unrolled_ring_is_ring8():
    assert canonical_dataset("RING8") == "ring8"
    assert canonical_dataset("Grid25") == "grid25"
    assert canonical_dataset("8Gaussians") == "8gaussians"
    assert canonical_dataset("unrolled-ring") == "ring8"
    assert get_dataset("UNROLLED-RING").name == "ring8"


def test_resolve_run_stores_canonical_names():
    from harness.resolve import resolve_run

    spec = resolve_run("SN-GAN", "ring:radius=1.0,sigma=0.01,modes=8", 0)
    assert (spec.variant, spec.dataset) == ("sngan", "ring:modes=8,radius=1,sigma=0.01")
    same = resolve_run("sngan", "ring:modes=8,radius=1,sigma=0.01", 0)
    assert spec.fingerprint() == same.fingerprint()
    assert resolve_run("sngan", "ring:modes=8,radius=1,sigma=0.02", 0).fingerprint() != spec.fingerprint()


@pytest.mark.parametrize("display, name", [("WGAN-GP", "wgan-gp"), ("SN-GAN", "sngan"), ("Vanilla", "vanilla"),
                                           ("WGAN", "wgan"), ("wgan_gp", "wgan-gp"), ("sngan", "sngan")])
def test_variant_display_names(display, name):
    from harness.variant import canonical_variant, get_variant

    assert canonical_variant(display) == name
    assert get_variant(display).name == name


def test_a_name_matching_two_entries_is_refused_and_exact_registries_stay_exact():
    from harness.registry import Registry
    from harness.settings import SETTINGS

    reg = Registry("thing", match="loose")
    reg.register("a-b", 1)
    reg.register("ab", 2)
    assert reg.get("ab") == 2 and reg.get("a-b") == 1  # an exact name always wins
    with pytest.raises(HarnessError, match="'A_B' is ambiguous: it matches a-b, ab"):
        reg.get("A_B")
    with pytest.raises(HarnessError, match="unknown setting"):
        SETTINGS.get("2D")


def test_datasets_list_keeps_a_mixtures_own_items_together():
    assert parse_datasets("ring8,ring:modes=8,radius=1,sigma=0.01,grid25,grid:side=3") == [
        "ring8", "ring:modes=8,radius=1,sigma=0.01", "grid25", "grid:side=3"]
    assert parse_datasets("centres:path=a:b.npy,sigma=0.1") == ["centres:path=a:b.npy,sigma=0.1"]


# ----------------------------------------------------------------------------- the literature's sets
def test_8gaussians_is_the_wgan_gp_toy_script_geometry():
    d = get_dataset("8gaussians")
    assert d.n_modes == 8
    np.testing.assert_allclose(np.linalg.norm(d.centres, axis=1), 2 / 1.414)
    np.testing.assert_allclose(d.sigma, 0.02 / 1.414)
    angles = np.sort(np.mod(np.arctan2(d.centres[:, 1], d.centres[:, 0]), 2 * np.pi))
    np.testing.assert_allclose(angles, 2 * np.pi * np.arange(8) / 8, atol=1e-12)
    np.testing.assert_allclose(d.centres[0], [2 / 1.414, 0])  # the script's order: (1, 0) first


def test_25gaussians_is_the_wgan_gp_toy_script_geometry():
    d = get_dataset("25gaussians")
    coords = np.array([-4, -2, 0, 2, 4]) / 2.828
    assert d.n_modes == 25
    assert {tuple(c) for c in d.centres.round(12)} == {(round(x, 12), round(y, 12)) for x in coords for y in coords}
    np.testing.assert_allclose(d.sigma, 0.05 / 2.828)


def test_pacgan_ring_and_the_unrolled_notebooks_seven_modes():
    p = get_dataset("pacgan-ring")
    np.testing.assert_allclose(np.linalg.norm(p.centres, axis=1), 1.0)
    assert p.sigma == 0.01 and p.n_modes == 8
    # the unrolled-GAN notebook's linspace(0, 2 pi, 8): first and last angles coincide -> 7 distinct modes
    thetas = np.linspace(0, 2 * np.pi, 8)
    notebook = np.stack([2 * np.cos(thetas), 2 * np.sin(thetas)], 1)
    assert len(np.unique(notebook.round(9), axis=0)) == 7
    u = get_dataset("unrolled-ring")
    assert len(np.unique(u.centres.round(9), axis=0)) == 8 and u.sigma == 0.02
    np.testing.assert_allclose(np.linalg.norm(u.centres, axis=1), 2.0)
    note = DATASETS.aliases()["unrolled-ring"][1]
    assert "7 distinct modes" in note and "linspace(0, 2 pi, 8)" in note


def test_list_shows_the_named_sets_aliases_and_families(capsys):
    code, out, _ = cli(capsys, "list", "datasets")
    assert code == 0
    for needle in ("8gaussians", "25gaussians", "pacgan-ring", "unrolled-ring", "7 distinct modes",
                   "ring:modes=K,radius=R,sigma=S", "grid:side=N,spacing=D,sigma=S", "centres:path=FILE,sigma=S"):
        assert needle in out
    code, out, _ = cli(capsys, "list", "variants")
    assert "SN-GAN" in out


# ----------------------------------------------------------------------------- acceptance: evaluate
def _score(capsys, tmp_path, dataset, samples, name="s.npy"):
    np.save(tmp_path / name, samples)
    code, out, err = cli(capsys, "evaluate", "--dataset", dataset, str(tmp_path / name))
    assert code == 0, err
    return json.loads(out)


def test_evaluate_scores_the_right_geometry_and_not_the_wrong_one(tmp_path, capsys):
    spec = "ring:modes=8,radius=1.4142,sigma=0.01414"
    mine = get_dataset(spec).sample_exact(2500, seed=3)
    toy = get_dataset("8gaussians").sample_exact(2500, seed=4)
    wrong = get_dataset("ring8").sample_exact(2500, seed=5)
    for dataset in (spec, "8gaussians"):
        for samples in (mine, toy):  # the two geometries agree to 1e-4 of a radius: both score as exact
            res = _score(capsys, tmp_path, dataset, samples)
            assert res["modes_covered"] == 8
            assert abs(res["hq_fraction"] - HQ_3SIGMA) < 0.01
        res = _score(capsys, tmp_path, dataset, wrong)
        assert res["modes_covered"] <= 1 and res["hq_fraction"] < 0.01
    # and the other way round: exact 8gaussians samples are nowhere near ring8's modes
    assert _score(capsys, tmp_path, "ring8", toy)["modes_covered"] == 0


def test_evaluate_a_centres_file_npy_and_csv(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    centres = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    np.save("c.npy", centres)
    Path("c.csv").write_text("x,y\n0,0\n1,0\n0,1\n")
    a, b = get_dataset("centres:path=c.npy,sigma=0.02"), get_dataset("centres:path=c.csv,sigma=0.02")
    np.testing.assert_array_equal(a.centres, centres)
    np.testing.assert_array_equal(b.centres, centres)
    assert a.name.startswith("centres:path=c.npy,sha256=") and a.name.endswith(",sigma=0.02")
    x = a.sample_exact(1500, seed=0)
    res = _score(capsys, tmp_path, "centres:path=c.csv,sigma=0.02", x, "x.npy")
    assert res["modes_covered"] == 3 and abs(res["hq_fraction"] - HQ_3SIGMA) < 0.015
    assert _score(capsys, tmp_path, "centres:path=c.npy,sigma=0.02", x + 0.5, "y.npy")["modes_covered"] == 0


def test_a_changed_centres_file_names_another_data_set(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save("c.npy", np.array([[0.0, 0.0], [1.0, 0.0]]))
    before = canonical_dataset("centres:path=c.npy,sigma=0.1")
    assert canonical_dataset(before) == before  # a canonical name is its own canonical name
    np.save("c.npy", np.array([[0.0, 0.0], [2.0, 0.0]]))
    after = canonical_dataset("centres:path=c.npy,sigma=0.1")
    assert after != before
    with pytest.raises(HarnessError, match="c.npy has changed"):
        canonical_dataset(before)


# ----------------------------------------------------------------------------- protocol and manifest
def test_protocol_names_the_geometry_but_ring8_and_grid25_keep_the_recorded_one():
    from harness.check import protocol_differences
    from harness.resolve import make_evaluator
    from harness.runs import read_json
    from harness.spec import make_config

    cfg = make_config({"n_eval": 2500})
    p1 = make_evaluator(get_dataset("ring:modes=8,radius=1,sigma=0.01"), cfg).protocol()
    p2 = make_evaluator(get_dataset("ring:modes=8,radius=1,sigma=0.02"), cfg).protocol()
    assert p1["data"] == {"name": "ring:modes=8,radius=1,sigma=0.01", "n_modes": 8, "sigma": 0.01}
    assert protocol_differences({"evaluator": p1}, {"evaluator": p2})
    p3 = make_evaluator(get_dataset("8gaussians"), cfg).protocol()
    assert p3["data"]["name"] == "8gaussians"
    baseline = read_json(Path(__file__).resolve().parents[1] / "baselines" / "quick.json")
    for name in ("ring8", "grid25"):
        recorded = next(g for g in baseline["groups"] if g["dataset"] == name)["protocol"]["evaluator"]
        assert make_evaluator(get_dataset(name), cfg).protocol() == recorded


def test_a_centres_run_has_a_safe_directory_and_load_runs_reports_its_name(tmp_path, monkeypatch, tiny):
    import harness
    from harness.resolve import resolve_run
    from harness.runs import read_json, run_dir
    from harness.trainer import train

    monkeypatch.chdir(tmp_path)
    (tmp_path / "geo").mkdir()
    np.save("geo/c.npy", np.array([[0.0, 0.0], [1.0, 1.0]]))
    spec = resolve_run("vanilla", "centres:sigma=0.05,path=geo/c.npy", 0, {**tiny, "steps": 2, "eval_every": 2})
    path = run_dir(Path("runs"), spec)
    assert path.parent.parent == Path("runs") / "vanilla"  # the name is one directory, '/' encoded
    assert "%2F" in path.parent.name and "/" not in path.parent.name
    train(spec, path)
    df = harness.load_runs("runs")
    assert list(df.dataset) == [spec.dataset]
    manifest = read_json(path / "manifest.json")["dataset"]
    assert manifest["params"] == {"family": "centres", "path": "geo/c.npy", "sha256": spec.dataset.split("sha256=")[1].split(",")[0],
                                  "sigma": 0.05}
    assert manifest["centres"] == [[0.0, 0.0], [1.0, 1.0]]


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("args, needle", [
    (["run", "--datasets", "ring:modes=0"], "modes=0 must be an integer from 1 to 10000"),
    (["run", "--datasets", "ring8,ring:modes=8,radius=1,sigma=-0.01"], "sigma=-0.01 must be > 0"),
    (["run", "--datasets", "grid:sigma=0"], "sigma=0 must be > 0"),
    (["run", "--datasets", "ring:modes=8,colour=red"], "unknown parameter 'colour'"),
    (["run", "--datasets", "ring:radus=1"], "unknown parameter 'radus' (did you mean 'radius'?)"),
    (["run", "--datasets", "ring:modes=8,modes=9"], "parameter 'modes' is given twice"),
    (["run", "--datasets", "ring:radius=two"], "radius='two' is not a number"),
    (["run", "--datasets", "blob:size=1"], "unknown data set family 'blob'"),
    (["run", "--datasets", "centres:path=c.npy"], "missing parameter 'sigma' (no default"),
    (["run", "--datasets", "centres:sigma=0.1"], "missing parameter 'path' (no default"),
    (["evaluate", "--dataset", "centres:path=nope.npy,sigma=0.1", "x.npy"], "centres file not found: nope.npy"),
    (["evaluate", "--dataset", "centres:path=bad3.npy,sigma=0.1", "x.npy"], "must hold a (K, 2) array of centres, got shape (4, 3)"),
    (["evaluate", "--dataset", "centres:path=nan.npy,sigma=0.1", "x.npy"], "holds 1 NaN/Inf values"),
    (["evaluate", "--dataset", "centres:path=dup.csv,sigma=0.1", "x.npy"], "is listed more than once"),
    (["evaluate", "--dataset", "centres:path=c.txt,sigma=0.1", "x.npy"], "unsupported type '.txt'"),
    (["evaluate", "--dataset", "ring:sigma=inf", "x.npy"], "sigma=inf must be finite"),
    (["check", "--dataset", "ring:modes=0", "--samples", "a.npy", "b.npy", "--baseline", "b.json"], "modes=0"),
    (["run", "--variants", "SN_GAN_X"], "unknown variant 'SN_GAN_X'"),
])
def test_bad_geometry_is_one_line_exit_2_and_writes_nothing(tmp_path, monkeypatch, capsys, args, needle):
    monkeypatch.chdir(tmp_path)
    np.save("bad3.npy", np.zeros((4, 3)))
    np.save("nan.npy", np.array([[0.0, 0.0], [np.nan, 1.0]]))
    Path("dup.csv").write_text("0,0\n1,1\n0,0\n")
    Path("c.txt").write_text("0 0\n")
    before = sorted(tmp_path.iterdir())
    code, _, err = cli(capsys, *args)
    assert code == 2
    assert needle in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert sorted(tmp_path.iterdir()) == before


# ----------------------------------------------------------------------------- where the report lands
@pytest.fixture
def no_training(monkeypatch):
    """cmd_run without training or reporting: records where the runs and the report would go."""
    import harness.report
    import harness.suite

    seen = {}
    monkeypatch.setattr(harness.suite, "run_specs", lambda specs, out, **kw: seen.update(out=Path(out)) or [])
    monkeypatch.setattr(harness.report, "write_report", lambda runs, rep, **kw: seen.update(report=Path(rep)) or {})
    return seen


@pytest.mark.parametrize("args, out, report", [
    ([], "runs/quick", "reports/quick"),
    (["--variants", "Vanilla,WGAN,WGAN-GP,SN-GAN", "--datasets", "RING8,grid25", "--seeds", "0-4"],
     "runs/quick", "reports/quick"),  # the suite's own lists, spelled otherwise: still the suite as defined
    (["--setting", "tuned-2d", "--out", "runs/quick"], "runs/quick", "reports/quick"),
    (["--setting", "2d"], "runs/quick", "runs/quick/report"),
    (["--variants", "wgan-gp", "--datasets", "ring8", "--seeds", "0", "--out", "o1"], "o1", "o1/report"),
    (["--variants", "wgan-gp"], "runs/quick", "runs/quick/report"),
    (["--datasets", "grid25"], "runs/quick", "runs/quick/report"),
    (["--seeds", "0"], "runs/quick", "runs/quick/report"),
    (["--steps", "10"], "runs/quick", "runs/quick/report"),
    (["--set", "lr_d=1e-3"], "runs/quick", "runs/quick/report"),
    (["--grid", "lr_d=1e-3,2e-3"], "runs/quick", "runs/quick/report"),
    (["--setting", "authors"], "runs/quick", "runs/quick/report"),
    (["--out", "elsewhere"], "elsewhere", "elsewhere/report"),
    (["--steps", "10", "--report-out", "mine"], "runs/quick", "mine"),
])
def test_the_report_goes_to_reports_only_for_the_suite_as_defined(tmp_path, monkeypatch, capsys, no_training,
                                                                   args, out, report):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, "run", "--quiet", *args)
    assert code == 0, err
    assert no_training == {"out": Path(out), "report": Path(report)}
    assert not (tmp_path / "reports").exists()  # nothing written by the stubs


def test_default_report_dir_on_another_device_is_beside_the_runs():
    from harness.cli import default_report_dir
    from harness.suite import SUITES

    quick = SUITES.get("quick")
    assert default_report_dir(quick, quick, Path("runs/quick"), False, "cpu") == Path("reports/quick")
    assert default_report_dir(quick, quick, Path("runs/quick"), False, "cuda") == Path("runs/quick/report")


@pytest.mark.slow
def test_a_real_small_run_writes_its_report_under_out_and_not_into_reports(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, "run", "--variants", "WGAN-GP", "--datasets", "8gaussians", "--seeds", "0",
                       "--steps", "2", "--set", "n_eval=200", "--set", "log_every=1", "--set", "eval_every=2",
                       "--out", "o1", "--jobs", "1", "--quiet")
    assert code == 0, err
    assert (tmp_path / "o1" / "report" / "report.md").exists()
    assert (tmp_path / "o1" / "wgan-gp" / "8gaussians" / "seed-0" / "summary.json").exists()
    assert not (tmp_path / "reports").exists()


def test_check_samples_takes_any_spelling_of_a_geometry_and_refuses_another(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, "run", "--variants", "sngan", "--datasets", "ring:modes=4,radius=1,sigma=0.05",
                       "--seeds", "0-2", "--steps", "2", "--set", "n_eval=200", "--set", "log_every=1",
                       "--set", "eval_every=2", "--out", "o", "--jobs", "1", "--quiet", "--no-report")
    assert code == 0, err
    assert cli(capsys, "record", "o", "--out", "b.json")[0] == 0
    files = [str(p) for p in sorted(Path("o/sngan/ring:modes=4,radius=1,sigma=0.05").glob("seed-*/samples.npy"))]
    assert len(files) == 3
    code, out, err = cli(capsys, "check", "--dataset", "RING:sigma=0.05,radius=1.0,modes=4", "--samples", *files,
                         "--baseline", "b.json", "--against", "SN-GAN")
    assert code == 0, err + out  # the same runs' samples: no regression
    code, _, err = cli(capsys, "check", "--dataset", "ring:modes=4,radius=1,sigma=0.02", "--samples", *files,
                       "--baseline", "b.json", "--against", "sngan")
    assert code == 2 and "no group on data set 'ring:modes=4,radius=1,sigma=0.02'" in err
