"""The Ray executor (`gan-harness run --executor ray`): bad input refused in one line before any work,
Ray never imported by `import harness`, and on a local Ray cluster the same run directories and bits
as the process pool, a killed worker's run resumed from its checkpoint, and run locks that hold
inside Ray workers (tests/ray_cluster_checks.py).

The cluster test starts Ray inside a private network namespace that holds only loopback (`unshare
-n`, as root): on start Ray probes a cloud metadata address and a public DNS server, and these
tests must send nothing beyond loopback. Where no such namespace can be made, or Ray is not
installed, it is skipped with the reason.
"""
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from harness import cli

ROOT = Path(__file__).resolve().parents[1]
HAS_RAY = importlib.util.find_spec("ray") is not None
RUN = ["run", "--variants", "vanilla", "--datasets", "ring8", "--seeds", "0", "--steps", "10", "--no-report"]


def _refused(capsys, argv, out):
    code = cli.main(argv + ["--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert not out.exists(), "something was written before the refusal"
    return err


def test_importing_harness_does_not_import_ray():
    code = ("import sys, harness, harness.cli, harness.suite, harness.executors; "
            "assert 'ray' not in sys.modules, 'ray imported'")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=ROOT)


@pytest.mark.parametrize("extra, message", [
    (["--executor", "dask"], "unknown --executor 'dask'; known: local, ray"),
    (["--executor", "Ray"], "unknown --executor 'Ray' (did you mean 'ray'?)"),
    (["--address", "127.0.0.1:6379"], "--address applies to --executor ray only"),
    (["--ray-option", "namespace=me"], "--ray-option applies to --executor ray only"),
])
def test_bad_executor_input_is_one_line_before_any_work(tmp_path, capsys, extra, message):
    assert message in _refused(capsys, RUN + extra, tmp_path / "out")


def test_executor_ray_without_ray_installed_names_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    err = _refused(capsys, RUN + ["--executor", "ray"], tmp_path / "out")
    assert "pip install 'gan-harness[ray]'" in err


@pytest.mark.skipif(not HAS_RAY, reason="ray is not installed (pip install 'gan-harness[ray]')")
@pytest.mark.parametrize("option, message", [
    ("max_retries=-1", "--ray-option max_retries=-1: must be >= 0"),
    ("num_cpus=0", "--ray-option num_cpus=0: must be a finite number > 0"),
    ("runtime_env=[1]", "--ray-option runtime_env=[1]: must be a JSON object"),
    ("retries=2", "unknown --ray-option 'retries'"),
    ("namespace", "--ray-option 'namespace': expected NAME=VALUE"),
])
def test_bad_ray_options_are_refused(tmp_path, capsys, option, message):
    assert message in _refused(capsys, RUN + ["--executor", "ray", "--ray-option", option], tmp_path / "out")


@pytest.mark.skipif(not HAS_RAY, reason="ray is not installed (pip install 'gan-harness[ray]')")
def test_a_ray_address_where_nothing_answers_is_refused(tmp_path, capsys):
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    err = _refused(capsys, RUN + ["--executor", "ray", "--address", f"127.0.0.1:{port}"], tmp_path / "out")
    assert f"--address 127.0.0.1:{port}: no Ray cluster answers there" in err


@pytest.mark.skipif(not HAS_RAY, reason="ray is not installed (pip install 'gan-harness[ray]')")
def test_address_auto_without_a_cluster_on_this_machine_is_refused(tmp_path, capsys, monkeypatch):
    import ray._private.services as services

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(services, "find_gcs_addresses", lambda: [])  # other users' clusters on this machine
    monkeypatch.setattr(services, "find_bootstrap_address", lambda temp_dir: None)
    err = _refused(capsys, RUN + ["--executor", "ray", "--address", "auto"], tmp_path / "out")
    assert "--address auto: no running Ray cluster found on this machine" in err


def _namespace_problem() -> str | None:
    if not HAS_RAY:
        return "ray is not installed (pip install 'gan-harness[ray]')"
    if os.geteuid() != 0:
        return "a loopback-only network namespace needs root (unshare -n)"
    if not shutil.which("unshare") or not shutil.which("ip"):
        return "unshare or ip (iproute2) is missing: no loopback-only network namespace"
    probe = subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"cannot make a network namespace here: {probe.stderr.strip()}"
    return None


@pytest.mark.slow
def test_ray_executor_on_a_local_cluster_in_a_loopback_only_namespace(tmp_path):
    problem = _namespace_problem()
    if problem:
        pytest.skip(problem)
    # Ray's session files under a short path (unix socket paths are limited to ~107 bytes)
    ray_tmp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0", "PYTHONUNBUFFERED": "1"}
    script = ROOT / "tests" / "ray_cluster_checks.py"
    try:
        proc = subprocess.run(
            ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$0" "$@"', sys.executable, str(script),
             str(tmp_path), str(ray_tmp)],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-8000:]
    assert "all Ray checks passed" in proc.stdout, proc.stdout
    print(proc.stdout)  # each check and the time taken (pytest -s)
