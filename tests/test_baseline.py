"""Recorded baselines (harness.baseline, `gan-harness record`): a runs directory summarised in one
small, versioned JSON file that reads back exactly, without the run directories."""
from __future__ import annotations

import hashlib
import json
import math
import struct
from pathlib import Path

import pytest

from harness.baseline import FORMAT, FORMAT_VERSION, load_baseline, record_baseline
from harness.cli import main
from harness.errors import HarnessError
from harness.runs import atomic_write_json, read_json, read_jsonl
from report_runs import make_reference, make_run, mixture_metrics


def independent_record_hash(record: dict) -> str:
    """One history record's hash, computed here without harness.baseline."""
    packed = b"".join(k.encode() + b"\0" + struct.pack("<d", float(record[k])) for k in sorted(record)
                      if k != "wall_time_s" and isinstance(record[k], (int, float)) and not isinstance(record[k], bool))
    return hashlib.sha256(packed).hexdigest()[:12]


def independent_digest(records: list[dict], key: str) -> tuple[list[int], str]:
    """The digest of one history key, computed here without harness.baseline."""
    rows = [r for r in records if key in r and isinstance(r[key], (int, float)) and not isinstance(r[key], bool)]
    packed = b"".join(struct.pack("<d", float(r[key])) for r in rows)
    return [r["step"] for r in rows], hashlib.sha256(packed).hexdigest()


def equal(a, b) -> bool:
    """a == b, with NaN equal to NaN (a baseline must keep a NaN a NaN)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def strict_json(text: str):
    """json.loads that refuses NaN/Infinity: a baseline is plain JSON."""
    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


# ----------------------------------------------------------------------------- from trained runs
def test_record_of_trained_runs_is_reproducible_and_matches_the_runs(tmp_path, tiny, monkeypatch):
    from harness.suite import SuiteSpec, expand_suite, run_specs

    monkeypatch.chdir(tmp_path)
    specs = expand_suite(SuiteSpec("t", ("vanilla",), ("ring8",), (0, 1), overrides=tiny))
    results = run_specs(specs, Path("runs"), jobs=1, threads=1, progress=False)
    assert {r["status"] for r in results} <= {"completed", "diverged"}

    first = record_baseline("runs", "a.json")
    record_baseline(Path("runs"), "b.json")
    text = Path("a.json").read_text()
    assert Path("a.json").read_bytes() == Path("b.json").read_bytes()
    assert text.endswith("}\n") and str(tmp_path) not in text
    raw = strict_json(text)
    assert raw["format"] == FORMAT and raw["format_version"] == FORMAT_VERSION and raw["created_from"] == "runs"
    loaded = load_baseline("a.json")
    assert equal(loaded, first)

    [group] = loaded["groups"]
    assert (group["variant"], group["dataset"], group["point"]) == ("vanilla", "ring8", "")
    assert [s["seed"] for s in group["seeds"]] == [0, 1]
    for entry in group["seeds"]:
        run = Path("runs/vanilla/ring8") / f"seed-{entry['seed']}"
        spec, summary, manifest = (read_json(run / f) for f in ("spec.json", "summary.json", "manifest.json"))
        assert group["config"] == spec["config"] and group["setting"] == spec["setting"]
        assert group["protocol"] == summary["protocol"]
        assert entry["status"] == summary["status"]
        assert equal(entry["metrics"], summary["metrics"])
        assert equal(entry["eval_noise"], summary["eval_noise"])
        assert (entry["g_steps"], entry["d_steps"]) == (summary["g_steps"], summary["d_steps"]) == (30, 30)
        history = read_jsonl(run / "history.jsonl")
        assert entry["history"]["records"] == len(history) == 3
        assert equal(entry["history"]["final_record"], history[-1])
        digest = entry["history"]["digest"]
        numeric = {k for r in history for k, v in r.items() if isinstance(v, float)} - {"wall_time_s"}
        assert set(digest) == numeric and "loss_d" in digest and "grad_norm_g" in digest
        for key in digest:
            steps, sha = independent_digest(history, key)
            assert digest[key] == {"steps": steps, "sha256": sha}
        assert entry["history"]["record_steps"] == [r["step"] for r in history] == [10, 20, 30]
        assert entry["history"]["record_hashes"] == [independent_record_hash(r) for r in history]
        assert len(set(entry["history"]["record_hashes"])) == 3
        evaluations = read_jsonl(run / "evaluations.jsonl")
        assert [e["step"] for e in evaluations] == [15, 30]
        assert set(entry["curves"]) == set(summary["metrics"])
        for metric, curve in entry["curves"].items():
            points = [(e["step"], e[metric]) for e in evaluations if not math.isnan(e[metric])]  # NaN: no value
            values = [v for _, v in points]
            assert curve["final"] == values[-1] and curve["final_step"] == points[-1][0]
            best = max(values) if metric in ("modes_covered", "hq_fraction") else min(values)
            assert curve["best"] == best and curve["best_step"] == points[values.index(best)][0]
            if len(points) == 2:
                assert curve["auc_per_step"] == pytest.approx(sum(values) / 2)
        # the signature is the one in effect inside the run (harness.trainer.deterministic)
        sig = manifest["environment"]["numeric_signature"]
        assert sig["deterministic_algorithms"] is True and sig["threads"]["intra_op"] == 1
        assert entry["signature_id"] == sig["signature_id"]
    assert loaded["numeric_signature"] == sig and group["signature_ids"] == [sig["signature_id"]]
    refs = {(r["name"], r["seed"]): r for r in loaded["references"]}
    assert set(refs) == {(n, s) for n in ("real", "null-gaussian", "null-uniform") for s in (0, 1)}
    for (name, seed), ref in refs.items():
        assert equal(ref["metrics"], read_json(Path("runs") / name / "ring8" / f"seed-{seed}" / "summary.json")["metrics"])


# ----------------------------------------------------------------------------- hand-built runs
def noise(sd_kl: float) -> dict:
    return {"n_banks": 5, "stream": "eval-noise", "sd": {"reverse_kl": sd_kl, "w1": 0.01},
            "mean": {"reverse_kl": math.inf, "w1": 0.1}}


def test_non_finite_values_round_trip_as_strings(tmp_path):
    root = tmp_path / "runs"
    make_run(root, "vanilla", "ring8", 0, mixture_metrics(3, kl=math.inf),
             summary_extra={"g_steps": 1000, "d_steps": 1000, "eval_noise": noise(math.nan)})
    make_run(root, "vanilla", "ring8", 1, {**mixture_metrics(8), "w1": math.nan, "frechet_distance": -math.inf},
             status="diverged", step=400, reason="loss_d is nan", history=[], evaluations=[])
    make_reference(root, "null-uniform", "ring8", 0, mixture_metrics(5, kl=math.inf))
    out = tmp_path / "base.json"
    record_baseline(root, out)
    text = out.read_text()
    raw = strict_json(text)  # no NaN/Infinity constants in the file
    s0, s1 = raw["groups"][0]["seeds"]
    assert s0["metrics"]["reverse_kl"] == "inf" and s0["curves"]["reverse_kl"]["final"] == "inf"
    assert s0["eval_noise"]["sd"]["reverse_kl"] == "nan" and s0["eval_noise"]["mean"]["reverse_kl"] == "inf"
    assert s1["metrics"]["w1"] == "nan" and s1["metrics"]["frechet_distance"] == "-inf"

    loaded = load_baseline(out)
    b0, b1 = loaded["groups"][0]["seeds"]
    assert b0["metrics"] == mixture_metrics(3, kl=math.inf)
    assert b0["metrics"]["reverse_kl"] == math.inf and b0["curves"]["reverse_kl"]["best"] == math.inf
    assert math.isnan(b0["eval_noise"]["sd"]["reverse_kl"]) and b0["eval_noise"]["mean"]["reverse_kl"] == math.inf
    assert (b1["status"], b1["reason"], b1["g_steps"]) == ("diverged", "loss_d is nan", 400)
    assert math.isnan(b1["metrics"]["w1"]) and b1["metrics"]["frechet_distance"] == -math.inf
    assert b1["history"] == {"records": 0, "digest": {}, "final_record": None, "record_steps": [],
                             "record_hashes": []} and b1["curves"] == {}
    assert "eval_noise" not in b1
    [ref] = loaded["references"]
    assert (ref["name"], ref["dataset"], ref["seed"], ref["metrics"]["reverse_kl"]) == ("null-uniform", "ring8", 0, math.inf)
    assert loaded["numeric_signature"] is None and loaded["numeric_signatures"] == {}  # runs from before signatures


def test_history_digest_tells_identical_histories_from_different_ones(tmp_path):
    from harness.baseline import history_digest

    history = [{"step": 10 * i, "wall_time_s": 0.1 * i, "loss_d": 0.1 * i, "penalty": 1.0 / 3 + i,
                "note": "x", "flag": True} for i in range(1, 5)]
    del history[1]["penalty"]
    digest = history_digest(history)
    assert set(digest) == {"loss_d", "penalty"}  # step, wall time, strings and booleans get none
    assert digest["penalty"] == dict(zip(("steps", "sha256"), independent_digest(history, "penalty")))
    assert digest["penalty"]["steps"] == [10, 30, 40]
    retimed = [{**r, "wall_time_s": r["wall_time_s"] + 5} for r in history]
    assert history_digest(retimed) == digest
    nudged = [dict(r) for r in history]
    nudged[2]["loss_d"] = math.nextafter(nudged[2]["loss_d"], 1.0)  # one ulp
    assert history_digest(nudged)["loss_d"]["sha256"] != digest["loss_d"]["sha256"]
    assert history_digest(nudged)["penalty"] == digest["penalty"]


def test_record_hashes_name_the_record_that_changed(tmp_path):
    from harness.baseline import record_hash, record_hashes

    history = [{"step": 10 * i, "wall_time_s": 0.1 * i, "loss_d": 0.1 * i, "loss_g": 1.0 / 3 + i, "note": "x",
                "flag": True} for i in range(1, 5)]
    steps, hashes = record_hashes(history + [{"note": "no step"}])
    assert steps == [10, 20, 30, 40] and hashes == [independent_record_hash(r) for r in history]
    assert all(len(h) == 12 for h in hashes) and len(set(hashes)) == 4
    retimed = [{**r, "wall_time_s": 99.0, "note": "y", "flag": False} for r in history]
    assert record_hashes(retimed)[1] == hashes  # wall time, strings and booleans are not hashed
    nudged = [dict(r) for r in history]
    nudged[2]["loss_g"] = math.nextafter(nudged[2]["loss_g"], 2.0)  # one ulp
    assert [a == b for a, b in zip(record_hashes(nudged)[1], hashes)] == [True, True, False, True]
    # the key is part of the hash: the same value under another name is another record
    assert record_hash({"step": 1, "a": 2.0}) != record_hash({"step": 1, "b": 2.0})


def test_groups_by_grid_point_and_stores_differing_signatures(tmp_path):
    root = tmp_path / "runs"
    for lr in (1e-4, 1e-3):
        for seed in (0, 1):
            make_run(root, "sngan", "ring8", seed, mixture_metrics(8), grid={"lr_g": lr}, config={"lr_g": lr})
    for seed, sid in ((0, "a" * 16), (1, "b" * 16)):
        path = root / "sngan" / "ring8" / "lr_g=0.001" / f"seed-{seed}"
        manifest = read_json(path / "manifest.json")
        manifest["environment"] = {"numeric_signature": {"signature_id": sid, "cpu_model": f"cpu {seed}"}}
        atomic_write_json(path / "manifest.json", manifest)
    loaded = record_baseline(root, tmp_path / "b.json")
    assert [(g["point"], g["grid"], g["config"]["lr_g"]) for g in loaded["groups"]] == [
        ("lr_g=0.0001", {"lr_g": 1e-4}, 1e-4), ("lr_g=0.001", {"lr_g": 1e-3}, 1e-3)]
    assert loaded["groups"][0]["signature_ids"] == [None]
    assert loaded["groups"][1]["signature_ids"] == ["a" * 16, "b" * 16]
    assert [s["signature_id"] for s in loaded["groups"][1]["seeds"]] == ["a" * 16, "b" * 16]
    assert loaded["numeric_signature"] is None
    assert set(loaded["numeric_signatures"]) == {"a" * 16, "b" * 16}
    assert loaded["numeric_signatures"]["b" * 16]["cpu_model"] == "cpu 1"


@pytest.mark.parametrize("what, kwargs, needle", [
    ("config", {"config": {"lr_d": 1e-3}}, "seeds 0 and 1 have different configs (differ in: lr_d)"),
    ("protocol", {"proto": {"evaluator": {"n_eval": 100}}}, "seeds 0 and 1 have different protocols"),
])
def test_seeds_of_one_group_must_share_config_and_protocol(tmp_path, what, kwargs, needle):
    root = tmp_path / "runs"
    make_run(root, "wgan", "ring8", 0, mixture_metrics(8))
    make_run(root, "wgan", "ring8", 1, mixture_metrics(8), **kwargs)
    with pytest.raises(HarnessError, match="^wgan/ring8: ") as err:
        record_baseline(root, tmp_path / "b.json")
    assert needle in str(err.value)
    assert not (tmp_path / "b.json").exists()


# ----------------------------------------------------------------------------- loading
@pytest.fixture
def recorded(tmp_path) -> Path:
    make_run(tmp_path / "runs", "vanilla", "ring8", 0, mixture_metrics(8))
    out = tmp_path / "b.json"
    record_baseline(tmp_path / "runs", out)
    return out


def test_load_refuses_another_format_version(recorded):
    data = json.loads(recorded.read_text())
    data["format_version"] = 2
    recorded.write_text(json.dumps(data))
    with pytest.raises(HarnessError) as err:
        load_baseline(recorded)
    assert str(err.value) == f"{recorded}: baseline format version 2, this gan-harness reads 1"


@pytest.mark.parametrize("content, needle", [
    ('{"format": "gan-harness-baseline", "format_ver', "unreadable baseline (JSONDecodeError"),
    ("\xff\xfe not text", "unreadable baseline"),
    ('{"format": "something-else", "format_version": 1}', "not a gan-harness baseline (format 'something-else'"),
    ("[1, 2]", "not a gan-harness baseline"),
    ('{"format": "gan-harness-baseline", "format_version": 1}', "corrupt baseline"),
])
def test_load_refuses_corrupt_files_naming_them(recorded, content, needle):
    recorded.write_bytes(content.encode("latin-1"))
    with pytest.raises(HarnessError) as err:
        load_baseline(recorded)
    assert str(err.value).startswith(f"{recorded}: ") and needle in str(err.value)


def test_load_names_a_missing_file(tmp_path):
    with pytest.raises(HarnessError, match="baseline file not found: .*nope.json"):
        load_baseline(tmp_path / "nope.json")


# ----------------------------------------------------------------------------- the command
def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_cli_records_and_warns_about_skipped_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    make_run(Path("runs"), "vanilla", "ring8", 0, mixture_metrics(8))
    bad = make_run(Path("runs"), "vanilla", "ring8", 1, mixture_metrics(8))
    (bad / "summary.json").write_text("{not json")
    assert main(["record", "runs", "--out", "out/base.json"]) == 0
    captured = capsys.readouterr()
    assert "baseline: out/base.json (1 groups, 1 runs, 0 reference rows)" in captured.out
    assert captured.err.startswith("gan-harness: warning: skipping run ")
    assert "vanilla/ring8/seed-1: unreadable summary.json" in captured.err
    assert [s["seed"] for s in load_baseline("out/base.json")["groups"][0]["seeds"]] == [0]


@pytest.mark.parametrize("setup, args, needle", [
    (None, ["record", "nowhere", "--out", "b.json"], "runs directory not found: nowhere"),
    ("running", ["record", "runs", "--out", "b.json"],
     "no finished trained runs in runs; 1 skipped: skipping run vanilla/ring8/seed-0: status 'running' is not final"),
    ("references", ["record", "runs", "--out", "b.json"], "no finished trained runs in runs (only reference rows)"),
    ("finished", ["record", "runs", "--out", "adir"], "--out adir is a directory"),
    ("finished", ["record", "runs", "--out", "afile/b.json"], "--out afile/b.json: afile is a file, not a directory"),
    ("finished", ["record", "runs"], "the following arguments are required: --out"),
    ("empty", ["record", "runs", "--out", "b.json"], "no runs found in runs"),
])
def test_cli_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, monkeypatch, capsys, setup, args, needle):
    monkeypatch.chdir(tmp_path)
    if setup == "running":
        make_run(Path("runs"), "vanilla", "ring8", 0, mixture_metrics(8), status="running", write_summary=False)
    elif setup == "references":
        make_reference(Path("runs"), "real", "ring8", 0, mixture_metrics(8))
    elif setup == "finished":
        make_run(Path("runs"), "vanilla", "ring8", 0, mixture_metrics(8))
    elif setup == "empty":
        Path("runs").mkdir()
    Path("adir").mkdir()
    Path("afile").write_text("x")
    before = sorted(p for p in tmp_path.rglob("*"))
    assert main(args) == 2
    line = one_error_line(capsys)
    assert line.startswith("gan-harness: error: ") and needle in line, line
    assert sorted(p for p in tmp_path.rglob("*")) == before
