"""The Ray executor on a local Ray cluster, as one program (tests/test_ray_executor.py runs it in a
network namespace holding only loopback: Ray start-up is slow, so one program checks everything).

    python tests/ray_cluster_checks.py WORK_DIR RAY_TEMP_DIR

Checks, each against a known answer:
A. `gan-harness run --executor ray` (a cluster the harness starts, --plugin, --jobs 2) writes the
   same run directories, bit for bit, as the local executor, reference rows included; each run's
   lock was held by a Ray worker, not by the driver; the progress bar counts the runs.
A2. `--address` of a cluster another process started: the same bits again.
B. (the driver connected to that cluster, the harness reusing its session) a variant registered in the driver by a call
   reaches the Ray workers.
C. a Ray worker SIGKILLed mid-run: Ray retries the task, the retry resumes from resume.pt, and the
   run ends bit for bit where an uninterrupted run ends.
D. the run-directory lock holds inside Ray workers: a run another process owns is skipped without
   a write, and with wait the worker blocks on the lock and runs it once the owner lets go.
E. --vectorize on Ray: a group of seeds is one Ray task, whose members' directories hold the bits
   of the same group trained in this process, locked by a Ray worker.
"""
import contextlib
import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import torch

torch.set_num_threads(1)  # the pool's and the Ray tasks' setting: one torch thread per run

import harness  # noqa: E402
from harness import cli, runs  # noqa: E402
from harness.executors import RayOptions  # noqa: E402
from harness.plugins import load_plugin  # noqa: E402
from harness.runs import read_json  # noqa: E402
from harness.suite import RUNNING_ELSEWHERE, run_specs  # noqa: E402
from harness.trainer import resolve_run, train  # noqa: E402
from test_resume import SMALL, STALL_AT, assert_same_result  # noqa: E402

PLUGIN = '''
import os, time
from pathlib import Path
import harness
from harness import runs
from harness.parts import LOSSES, LossPair

LOSSES.register("least-squares-ray", LossPair(
    d=lambda d_real, d_fake: 0.5 * ((d_real - 1) ** 2).mean() + 0.5 * (d_fake ** 2).mean(),
    g=lambda d_fake: 0.5 * ((d_fake - 1) ** 2).mean()))
harness.register_variant(harness.Variant(name="lsray", description="least squares (plugin)", reference="test",
                                         defaults={"loss": "least-squares-ray", "optimizer": "adam"}))

# a run under a directory named "killed" stalls once, at the probe of step STALL_AT, after writing
# the pid of the process executing it (a Ray worker) for the test to kill
_history = runs.RunWriter.history
def history(self, record):
    _history(self, record)
    marker = Path(os.environ["RAY_CHECK_MARKER"])
    if "killed" in str(self.path) and record["step"] >= STALL_AT and not marker.exists():
        tmp = marker.with_suffix(".tmp")
        tmp.write_text(str(os.getpid()))
        tmp.rename(marker)
        time.sleep(600)
runs.RunWriter.history = history
'''.replace("STALL_AT", str(STALL_AT))


def lock_pid(path: Path) -> int:
    return int(runs.lock_holder(path).split()[1])


def check_cli_against_local(work: Path, ray_tmp: Path) -> None:
    plugin = work / "ray_plugin.py"
    args = ["run", "--variants", "vanilla,lsray", "--datasets", "ring8", "--seeds", "0", "--steps", "20", "--setting", "2d",
            "--set", "batch_size=32", "--set", "log_every=5", "--set", "eval_every=10", "--set", "n_eval=300",
            "--set", "n_w1=100", "--set", "g_hidden=16", "--set", "d_hidden=16", "--no-report",
            "--plugin", str(plugin)]
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = cli.main(args + ["--out", str(work / "ray"), "--executor", "ray", "--jobs", "2",
                                "--ray-option", f"temp_dir={ray_tmp}"])
    assert code == 0, err.getvalue()
    import ray

    assert not ray.is_initialized(), "the cluster the harness started was not shut down"
    bar = err.getvalue()
    assert "runs: 100%" in bar and "|" in bar, f"no progress bar: {bar!r}"
    assert cli.main(args + ["--out", str(work / "local"), "--executor", "local", "--jobs", "1", "--quiet"]) == 0
    dirs = sorted(p.parent.relative_to(work / "local") for p in (work / "local").rglob("spec.json"))
    assert len(dirs) >= 3, dirs  # two runs and ring8's reference rows
    assert dirs == sorted(p.parent.relative_to(work / "ray") for p in (work / "ray").rglob("spec.json"))
    for d in dirs:
        a, b = work / "local" / d, work / "ray" / d
        if (a / "history.jsonl").exists():
            assert_same_result(a, b)
        else:  # a reference row: no training, same metrics
            assert read_json(a / "summary.json")["metrics"] == read_json(b / "summary.json")["metrics"], d
        assert read_json(b / "status.json")["status"] == "completed", d
        assert lock_pid(b) != os.getpid(), f"{d}: locked by the driver, not a Ray worker"
    print(f"A ok: {len(dirs)} run directories identical to the local executor's", flush=True)


HOLDER = """
import sys, ray
ray.init(num_cpus=2, include_dashboard=False, logging_level="warning", _temp_dir=sys.argv[1])
print(ray.get_runtime_context().gcs_address, flush=True)
sys.stdin.read()  # until the test closes stdin
ray.shutdown()
"""


def start_existing_cluster(ray_tmp: Path) -> "tuple[subprocess.Popen, str]":
    """A cluster that is not the sweep's: started and stopped by another process (as `ray start`
    would), which the harness joins with --address."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(ray_tmp)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    address = holder.stdout.readline().strip()
    assert address.count(":") == 1, f"no cluster address from the holder: {address!r}"
    return holder, address


def check_cli_on_existing_cluster(work: Path, address: str) -> None:
    args = ["run", "--variants", "vanilla", "--datasets", "ring8", "--seeds", "0", "--steps", "20", "--setting", "2d",
            "--set", "batch_size=32", "--set", "log_every=5", "--set", "eval_every=10", "--set", "n_eval=300",
            "--set", "n_w1=100", "--set", "g_hidden=16", "--set", "d_hidden=16", "--no-report", "--quiet",
            "--out", str(work / "existing"), "--executor", "ray", "--address", address,
            "--ray-option", "namespace=gan-harness-test"]
    assert cli.main(args) == 0
    import ray

    assert not ray.is_initialized()
    dirs = [p.parent.relative_to(work / "existing") for p in (work / "existing").rglob("history.jsonl")]
    assert len(dirs) == 1, dirs
    assert_same_result(work / "local" / dirs[0], work / "existing" / dirs[0])
    print(f"A2 ok: --address {address} (a cluster another process started) gave the same bits", flush=True)


def check_parent_variant(work: Path) -> None:
    harness.register_variant(harness.Variant(
        name="parentvar", description="registered by a call in the driver", reference="test",
        defaults={"loss": "nonsaturating", "optimizer": "adam", "lr_g": 1e-3, "lr_d": 1e-3}))
    spec = resolve_run("parentvar", "ring8", 1, SMALL)
    [res] = run_specs([spec], work / "parent", executor="ray", progress=False, references=False)
    assert res["status"] == "completed", res
    train(spec, work / "parent-inprocess")
    assert_same_result(work / "parent-inprocess", runs.run_dir(work / "parent", spec))
    print("B ok: a variant registered in the driver ran in a Ray worker", flush=True)


def check_killed_worker_resumes(work: Path) -> None:
    marker = Path(os.environ["RAY_CHECK_MARKER"])
    spec = resolve_run("lsray", "ring8", 0, {**SMALL, "checkpoint_every": 10})
    out = work / "killed"
    results: list = []
    sweep = threading.Thread(target=lambda: results.extend(
        run_specs([spec], out, executor="ray", progress=False, references=False,
                  ray_options=RayOptions(max_retries=2))))
    sweep.start()
    deadline = time.time() + 120
    while not marker.exists() and time.time() < deadline and sweep.is_alive():
        time.sleep(0.05)
    assert marker.exists(), "the run never reached its stall point"
    pid = int(marker.read_text())
    assert pid != os.getpid()
    run = runs.run_dir(out, spec)
    assert lock_pid(run) == pid and (run / runs.RESUME_FILE).exists()
    os.kill(pid, signal.SIGKILL)
    sweep.join(300)
    assert not sweep.is_alive() and [r["status"] for r in results] == ["completed"], results
    summary = read_json(run / "summary.json")
    assert summary["resumed_at"] == [10], summary.get("resumed_at")
    assert lock_pid(run) not in (pid, os.getpid())  # the retry ran in another Ray worker
    whole = resolve_run("lsray", "ring8", 0, SMALL)
    train(whole, work / "whole")  # never interrupted, never checkpointed
    assert_same_result(work / "whole", run)
    print(f"C ok: Ray worker {pid} killed at step {STALL_AT}; the retry resumed at step 10 and matched bit for bit",
          flush=True)


def check_locks(work: Path) -> None:
    spec = resolve_run("vanilla", "ring8", 2, SMALL)
    run = runs.run_dir(work / "locked", spec)
    held, release = threading.Event(), threading.Event()

    def owner() -> None:
        with runs.run_lock(run):
            held.set()
            release.wait()

    threading.Thread(target=owner).start()
    held.wait()
    [res] = run_specs([spec], work / "locked", executor="ray", progress=False, references=False, wait=False)
    assert res["status"] == RUNNING_ELSEWHERE and f"pid {os.getpid()}" in res["reason"], res
    assert sorted(p.name for p in run.iterdir()) == [runs.LOCK_FILE], "a worker wrote into a run it does not own"
    threading.Timer(1.0, release.set).start()
    [res] = run_specs([spec], work / "locked", executor="ray", progress=False, references=False, wait=True)
    assert res["status"] == "completed" and read_json(run / "status.json")["status"] == "completed", res
    print("D ok: a run owned elsewhere was skipped untouched, then waited for and run", flush=True)


def check_vectorised_group(work: Path) -> None:
    from harness.vectorize import train_group

    specs = [resolve_run("sngan", "ring8", seed, {**SMALL, "vectorize": True}) for seed in (0, 1)]
    results = run_specs(specs, work / "vec", executor="ray", progress=False, references=False)
    assert [r["status"] for r in results] == ["completed", "completed"], results
    train_group(specs, [work / "vec-inprocess" / s.run_id for s in specs])
    pids = set()
    for spec in specs:
        run = runs.run_dir(work / "vec", spec)
        assert_same_result(work / "vec-inprocess" / spec.run_id, run)
        assert read_json(run / "manifest.json")["vectorized"] == {"members": 2, "seeds": [0, 1]}
        pids.add(lock_pid(run))
    assert len(pids) == 1 and os.getpid() not in pids, pids  # one task, in a Ray worker
    print("E ok: a --vectorize group ran as one Ray task, bit for bit the group trained here", flush=True)


def main(work: Path, ray_tmp: Path) -> None:
    import ray

    start = time.time()
    (work / "ray_plugin.py").write_text(PLUGIN)
    os.environ["RAY_CHECK_MARKER"] = str(work / "stalled-pid")  # inherited by the cluster's workers
    check_cli_against_local(work, ray_tmp)
    holder, address = start_existing_cluster(ray_tmp)
    try:
        check_cli_on_existing_cluster(work, address)
        ray.init(address=address, logging_level="warning")
        load_plugin(str(work / "ray_plugin.py"))  # already loaded by the CLI run: LOADED names it
        check_parent_variant(work)
        check_killed_worker_resumes(work)
        check_locks(work)
        check_vectorised_group(work)
    finally:
        ray.shutdown()
        holder.stdin.close()
        holder.wait(60)
    print(f"all Ray checks passed in {time.time() - start:.1f} s", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
