"""Resume checkpoints and run-directory ownership.

A run killed with SIGKILL and started again continues from its last resume checkpoint and ends bit
for bit where an uninterrupted run ends (wall times aside); a checkpoint that cannot be used is
reported and the run redone; two sweeps sharing one --out execute every run exactly once.
"""
import contextlib
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import harness
from harness import cli, runs
from harness.runs import read_json
from harness.suite import FINISHED_ELSEWHERE, RUNNING_ELSEWHERE, run_specs
from harness.trainer import resolve_run, train

ROOT = Path(__file__).resolve().parents[1]
# 30 G steps; probes at 4, 8, ..., evaluations at 6, 12, ...; a resume checkpoint every 10 steps
SMALL = {"steps": 30, "batch_size": 32, "log_every": 4, "eval_every": 6, "n_eval": 400, "n_w1": 150,
         "g_hidden": 24, "d_hidden": 24, "g_layers": 2, "d_layers": 2, "noise_banks": 2}
STALL_AT = 16  # the killed attempt stops for good after the probe of this step (checkpoint at 10)



def _forked(fn, *args, stderr=None):
    """Run fn(*args) in a forked child process (no second interpreter start-up: these tests stay
    fast on a busy machine); the child never returns into pytest. Returns its pid."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        if stderr is not None:
            fd = os.open(stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 2)
            sys.stderr = open(2, "w", closefd=False)
        code = fn(*args) or 0
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stderr.flush()
        os._exit(code)


def _stall_at_probe(marker):
    """From now on in this process, writing a probe record of step STALL_AT or later marks `marker`
    and hangs until killed: history and evaluations then hold records past the checkpoint at 10."""
    original = runs.RunWriter.history

    def history(self, record):
        original(self, record)
        if record["step"] >= STALL_AT:
            Path(marker).write_text("stalled")
            time.sleep(600)

    runs.RunWriter.history = history


def _stalling_train(spec, path, marker):
    """Train until the probe record of step STALL_AT is written, then hang until killed."""
    _stall_at_probe(marker)
    train(spec, path)


def _kill_at_stall(marker, fn, *args):
    """fn(*args, marker) in a forked child, SIGKILLed once it has reached its stall point."""
    pid = _forked(fn, *args, marker)
    try:
        deadline = time.time() + 60
        while not marker.exists() and time.time() < deadline and os.waitpid(pid, os.WNOHANG) == (0, 0):
            time.sleep(0.02)
        assert marker.exists(), f"{fn.__name__} never reached its stall point ({marker.name})"
    finally:
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


# (variant, overrides, setting): alternating updates; simultaneous; n_dis > 1 with the penalty
# stream and the linear lr schedule; RMSprop with clipping and its own n_dis = 5; spectral norm
# (seed 1 for the second vanilla run: one directory per run)
KILLED = [("vanilla", 0, {}, "2d"), ("vanilla", 1, {"update": "simultaneous"}, "2d"),
          ("wgan-gp", 0, {"n_dis": 3, "lr_schedule": "linear"}, "2d"), ("wgan", 0, {}, "authors"), ("sngan", 0, {}, "2d")]


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _records(path, name):
    return [{k: v for k, v in json.loads(line).items() if k != "wall_time_s"}
            for line in (path / name).read_text().splitlines()]


def _same_json(a, b):
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)  # NaN-safe, exact floats


@contextlib.contextmanager
def interrupted_at(monkeypatch, step: int):
    """Inside the block the loop raises KeyboardInterrupt when it reaches G step `step` (an in-process
    kill after the run's last resume checkpoint); the block must be interrupted so."""
    from harness import trainer

    original = trainer._State.check_finite

    def stop(self):  # _StackedState inherits it: interrupts a separate run and a group alike
        if self.step == step:
            raise KeyboardInterrupt
        return original(self)

    monkeypatch.setattr(trainer._State, "check_finite", stop)
    try:
        with pytest.raises(KeyboardInterrupt):
            yield
    finally:
        monkeypatch.setattr(trainer._State, "check_finite", original)


def assert_same_result(a: Path, b: Path):
    """Everything but wall times is bit for bit the same in run directories a and b."""
    for name in ("history.jsonl", "evaluations.jsonl"):
        ra, rb = _records(a, name), _records(b, name)
        assert [r["step"] for r in ra] == [r["step"] for r in rb], name
        assert _same_json(ra, rb), f"{name} differs"
    sa, sb = read_json(a / "summary.json"), read_json(b / "summary.json")
    for key in ("status", "step", "reason", "g_steps", "d_steps", "metrics", "metrics_step", "eval_noise",
                "protocol", "fingerprint"):
        assert _same_json(sa.get(key), sb.get(key)), f"summary {key} differs"
    wa, wb = torch.load(a / "checkpoint.pt", weights_only=True), torch.load(b / "checkpoint.pt", weights_only=True)
    assert wa["step"] == wb["step"]
    for net in ("G", "D"):
        assert wa[net].keys() == wb[net].keys()
        for k in wa[net]:
            assert torch.equal(wa[net][k], wb[net][k]), f"{net}.{k} differs"
    assert np.array_equal(np.load(a / "samples.npy"), np.load(b / "samples.npy"))
    with np.load(a / "snapshots.npz") as za, np.load(b / "snapshots.npz") as zb:
        assert sorted(za.files) == sorted(zb.files)
        for k in za.files:
            assert np.array_equal(za[k], zb[k]), f"snapshots {k} differ"


@pytest.mark.slow
def test_sigkilled_runs_resume_to_the_uninterrupted_result(tmp_path):
    specs = [resolve_run(v, "ring8", seed, {**SMALL, **o, "checkpoint_every": 10}, setting=st)
             for v, seed, o, st in KILLED]
    for i, spec in enumerate(specs):
        _kill_at_stall(tmp_path / f"stalled-{i}", _stalling_train, spec, runs.run_dir(tmp_path / "out", spec))
    killed = [runs.run_dir(tmp_path / "out", s) for s in specs]
    for run in killed:
        assert read_json(run / "status.json")["status"] == "running"
        assert (run / runs.RESUME_FILE).exists()
        assert max(r["step"] for r in _records(run, "history.jsonl")) == STALL_AT  # records past the checkpoint
    # the same sweep again (what `gan-harness run` with the same --out does)
    results = run_specs(specs, tmp_path / "out", progress=False, references=False)
    assert [r["status"] for r in results] == ["completed"] * len(specs)
    for (variant, seed, overrides, setting), spec, run in zip(KILLED, specs, killed):
        whole = tmp_path / "whole" / spec.run_id
        plain = resolve_run(variant, "ring8", seed, {**SMALL, **overrides}, setting=setting)
        train(plain, whole)  # never interrupted, never checkpointed
        assert_same_result(whole, run)
        summary = read_json(run / "summary.json")
        assert summary["resumed_at"] == [10] and "resumed_at" not in read_json(whole / "summary.json")
        assert summary["d_steps"] == 30 * spec.config.n_dis
        assert [r["step"] for r in read_json(run / "manifest.json")["resumes"]] == [10]
        assert not (run / runs.RESUME_FILE).exists()  # a finished run keeps no resume state
        # the checkpointed run's record and fingerprint are those of the plain one
        assert read_json(run / "spec.json")["config"] == read_json(whole / "spec.json")["config"]
        assert read_json(run / "spec.json")["fingerprint"] == read_json(whole / "spec.json")["fingerprint"]
    assert [s.config.n_dis for s in specs] == [1, 1, 3, 5, 1]


def _stalling_group(specs, paths, marker):
    """train_group (--vectorize) until a member's probe record of step STALL_AT is written, then
    hang until killed."""
    from harness.vectorize import train_group

    _stall_at_probe(marker)
    train_group(specs, paths)


# (variant, overrides, setting) of vectorised groups of two seeds: Adam with n_dis > 1, the penalty
# stream and the lr schedule; RMSprop with clipping; spectral norm; simultaneous updates
VEC_KILLED = [("wgan-gp", {"n_dis": 3, "lr_schedule": "linear"}, "2d"), ("wgan", {}, "authors"),
              ("sngan", {}, "2d"), ("vanilla", {"update": "simultaneous"}, "2d")]


@pytest.mark.slow
def test_a_sigkilled_vectorised_group_resumes_to_the_uninterrupted_group(tmp_path):
    from harness.vectorize import train_group

    out = tmp_path / "out"
    for i, (variant, o, st) in enumerate(VEC_KILLED):
        specs = [resolve_run(variant, "ring8", seed, {**SMALL, **o, "checkpoint_every": 10, "vectorize": True},
                             setting=st) for seed in (0, 1)]
        _kill_at_stall(tmp_path / f"stalled-{i}", _stalling_group, specs, [runs.run_dir(out, s) for s in specs])
        for spec in specs:
            run = runs.run_dir(out, spec)
            assert read_json(run / "status.json")["status"] == "running" and (run / runs.RESUME_FILE).exists()
            assert torch.load(run / runs.RESUME_FILE, weights_only=True)["step"] == 10
        # the same vectorised sweep again resumes both members as one stack
        results = run_specs(specs, out, progress=False, references=False)
        assert [r["status"] for r in results] == ["completed", "completed"]
        plain = [resolve_run(variant, "ring8", seed, {**SMALL, **o}, setting=st) for seed in (0, 1)]
        whole = [tmp_path / "whole" / s.run_id for s in plain]
        train_group(plain, whole)  # the same group, never interrupted, never checkpointed
        for spec, w in zip(specs, whole):
            run = runs.run_dir(out, spec)
            assert_same_result(w, run)
            summary = read_json(run / "summary.json")
            assert summary["resumed_at"] == [10] and summary["d_steps"] == 30 * spec.config.n_dis
            assert read_json(run / "manifest.json")["vectorized"] == {"members": 2, "seeds": [0, 1]}
            assert not (run / runs.RESUME_FILE).exists()


def _interrupted(tmp_path, spec, at_step=17):
    """A run directory left `running` at `at_step` with a resume checkpoint at step 10 (in-process:
    the checkpoint's validation, not the kill, is under test here)."""
    from harness import trainer

    original = trainer._State.check_finite

    def stop(self):
        if self.step == at_step:
            raise KeyboardInterrupt
        return original(self)

    trainer._State.check_finite = stop
    try:
        with pytest.raises(KeyboardInterrupt):
            train(spec, runs.run_dir(tmp_path / "out", spec))
    finally:
        trainer._State.check_finite = original
    return runs.run_dir(tmp_path / "out", spec)


def _edit_checkpoint(path, **changes):
    ckpt = torch.load(path / runs.RESUME_FILE, weights_only=True)
    ckpt.update(changes)
    torch.save(ckpt, path / runs.RESUME_FILE)


@pytest.mark.parametrize("damage,message", [
    (lambda p: (p / runs.RESUME_FILE).write_bytes((p / runs.RESUME_FILE).read_bytes()[:500]), "unreadable"),
    (lambda p: _edit_checkpoint(p, fingerprint="0123456789abcdef"), "another config"),
    (lambda p: _edit_checkpoint(p, format_version=99), "format version 99"),
    (lambda p: _edit_checkpoint(p, harness_version="0.0.0-other"), "written by gan-harness 0.0.0-other"),
    (lambda p: _edit_checkpoint(p, signature_id="feedfacefeedface"), "written under another numeric signature"),
    (lambda p: (p / "history.jsonl").write_text(""), "history.jsonl is shorter"),
])
def test_an_unusable_checkpoint_is_reported_and_the_run_redone_in_a_sweep(tmp_path, damage, message):
    spec = resolve_run("vanilla", "ring8", 0, {**SMALL, "checkpoint_every": 10})
    run = _interrupted(tmp_path, spec)
    damage(run)
    with pytest.warns(UserWarning, match=f"resume checkpoint not used \\({re.escape(message)}"):
        results = run_specs([spec], tmp_path / "out", progress=False, references=False)
    assert results[0]["status"] == "completed"
    summary = read_json(run / "summary.json")
    assert "resumed_at" not in summary and "resumes" not in read_json(run / "manifest.json")
    train(spec, tmp_path / "whole")
    assert_same_result(tmp_path / "whole", run)


def test_a_checkpoint_from_an_in_process_interruption_resumes_exactly(tmp_path):
    # the same path without a subprocess, for a run whose last evaluation (12) precedes the
    # checkpoint (10 < 12 < 17): samples and snapshots of the last evaluation must come back
    spec = resolve_run("sngan", "ring8", 0, {**SMALL, "checkpoint_every": 10})
    run = _interrupted(tmp_path, spec)
    assert read_json(run / "status.json") == {"status": "running", "step": 0, "reason": None}
    train(spec, run)
    train(spec, tmp_path / "whole")
    assert_same_result(tmp_path / "whole", run)


def test_checkpointing_changes_no_number_and_no_record(tmp_path):
    plain = resolve_run("wgan-gp", "ring8", 0, SMALL)
    ckpt = resolve_run("wgan-gp", "ring8", 0, {**SMALL, "checkpoint_every": 5})
    assert ckpt.config.checkpoint_every == 5 and plain.fingerprint() == ckpt.fingerprint()
    assert plain.to_dict()["config"] == ckpt.to_dict()["config"] and "checkpoint_every" not in plain.to_dict()["config"]
    assert harness.RunSpec.from_dict(ckpt.to_dict()).config.checkpoint_every == 5
    train(plain, tmp_path / "plain")
    train(ckpt, tmp_path / "ckpt")
    assert_same_result(tmp_path / "plain", tmp_path / "ckpt")
    with pytest.raises(harness.HarnessError, match="checkpoint_every=-1: must be >= 0"):
        resolve_run("wgan-gp", "ring8", 0, {"checkpoint_every": -1})


def test_list_keys_documents_checkpoint_every(capsys):
    assert cli.main(["list", "keys"]) == 0
    assert re.search(r"checkpoint_every\s+default 0: .*changes no result", capsys.readouterr().out)


# ----------------------------------------------------------------------------- ownership
HOLD_LOCK = """
import fcntl, os, sys, time
fd = os.open(os.path.join(sys.argv[1], ".lock"), os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.write(fd, b"pid %d on test" % os.getpid())
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _hold(path, seconds):
    path.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_run_another_live_process_owns_is_skipped_and_never_written_into(tmp_path):
    held, free = (resolve_run("vanilla", "ring8", s, SMALL) for s in (0, 1))
    path = runs.run_dir(tmp_path, held)
    owner = _hold(path, 60)
    try:
        results = run_specs([held, free], tmp_path, progress=False, references=False, wait=False)
        assert [r["status"] for r in results] == [RUNNING_ELSEWHERE, "completed"]
        assert f"pid {owner.pid} on test" in results[0]["reason"]
        assert sorted(p.name for p in path.iterdir()) == [".lock"]  # nothing written into it
        with pytest.raises(runs.RunBusy, match="owned by another live process"):
            train(held, path)
    finally:
        owner.kill()
        owner.wait()


def test_a_sweep_waits_for_a_run_held_elsewhere_and_takes_it_over_when_its_owner_dies(tmp_path):
    held = resolve_run("vanilla", "ring8", 0, SMALL)
    path = runs.run_dir(tmp_path, held)
    owner = _hold(path, 2)  # dies without finishing the run
    results = run_specs([held], tmp_path, progress=False, references=False)
    assert owner.poll() is not None  # it waited for the owner to die
    assert results[0]["status"] == "completed"
    assert len(runs.read_jsonl(path / "history.jsonl")) == 30 // SMALL["log_every"] + 1  # 4, ..., 28 and 30


def test_a_sweep_does_not_redo_a_run_finished_elsewhere_after_its_plan(tmp_path):
    spec = resolve_run("vanilla", "ring8", 0, SMALL)
    path = runs.run_dir(tmp_path, spec)
    train(spec, path)  # finished by "another sweep" between this sweep's plan and its turn
    mtime = (path / "summary.json").stat().st_mtime_ns
    from harness.suite import _execute

    assert _execute(spec.to_dict(), str(path), 1)["status"] == FINISHED_ELSEWHERE
    assert (path / "summary.json").stat().st_mtime_ns == mtime


@pytest.mark.slow
def test_two_sweeps_on_one_out_execute_every_run_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sets = {**SMALL, "steps": 60}
    args = ["run", "--variants", "vanilla,wgan-gp", "--datasets", "ring8", "--seeds", "0,1", "--out", "runs",
            "--report-out", "report", "--jobs", "1", "--quiet"] + [a for k, v in sets.items() for a in ("--set", f"{k}={v}")]
    pids = [_forked(cli.main, args, stderr=tmp_path / f"err-{i}") for i in range(2)]  # started together
    codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
    errs = [(tmp_path / f"err-{i}").read_text() for i in range(2)]
    assert codes == [0, 0], errs
    completed = 0
    for err in errs:
        line = re.search(r"^runs: (.*)$", err, re.M).group(1)
        counts = {status: int(n) for n, status in (part.split(" ", 1) for part in line.split(", "))}
        assert set(counts) <= {"completed", FINISHED_ELSEWHERE, "skipped (finished)"}, counts
        assert sum(counts.values()) == 4
        completed += counts.get("completed", 0)
    assert completed == 4, errs  # every run executed by exactly one of the two sweeps
    df = harness.load_runs(tmp_path / "runs")
    trained = df[~df.reference]
    assert len(trained) == 4 and set(trained.status) == {"completed"}
    assert set(df[df.reference].status) == {"completed"} and len(df[df.reference]) == 6  # 3 rows x 2 seeds
    for run_dir in trained.run_dir:
        steps = [r["step"] for r in runs.read_jsonl(Path(run_dir) / "history.jsonl")]
        assert steps == list(range(4, 61, 4)), run_dir  # 15 records, once each
        assert [r["step"] for r in runs.read_jsonl(Path(run_dir) / "evaluations.jsonl")] == list(range(6, 61, 6))
        assert "resumes" not in read_json(Path(run_dir) / "manifest.json")
    import pandas as pd

    table = pd.read_csv(tmp_path / "report" / "results.csv")
    rows = table[~table.reference.astype(bool)][["variant", "seed", "status"]].drop_duplicates()
    assert sorted(map(tuple, rows.values.tolist())) == [(v, s, "completed") for v in ("vanilla", "wgan-gp") for s in (0, 1)]
    assert not list((tmp_path / "report").glob(".*tmp")) and not (tmp_path / "report" / ".lock").exists()
