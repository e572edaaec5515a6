"""Executors of a sweep's runs: ``local`` (the process pool of harness.suite) or ``ray`` (tasks on a
Ray cluster: one started here for the sweep, or an existing one at ``--address``).

A Ray task executes exactly what a pool worker executes (harness.vectorize.execute_task: the run's
directory lock, one torch thread per run, resume from the run's checkpoint; with --vectorize, one
group of seeds, harness.vectorize.execute_group), after loading the
parent's plugins and registering the variants the parent registered, so runs land in the same
directories with the same bits. A run whose worker dies is retried by Ray (``max_retries``); the
retry takes the dead worker's lock and resumes from ``resume.pt`` (or redoes the run without one).

Ray is an optional dependency (``pip install 'gan-harness[ray]'``): nothing here imports it before a
Ray executor is asked for, so ``import harness`` never does.
"""
from __future__ import annotations

import json
import math
import os
import socket
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Iterator, Sequence

from .errors import HarnessError
from .spec import unknown_key_message

EXECUTORS = ("local", "ray")
RAY_INSTALL_HINT = "pip install 'gan-harness[ray]'"
#: seconds to wait for a cluster at --address to answer before giving up
CONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class RayOptions:
    """Ray settings of a sweep (``--ray-option NAME=VALUE``)."""

    num_cpus: float | None = None  # CPUs reserved per run (default: --threads)
    num_gpus: float | None = None  # GPUs reserved per run (with --device cuda; default none)
    max_retries: int = 3  # times a run whose worker died is retried (each retry resumes it)
    namespace: str | None = None  # Ray namespace of the sweep's job
    runtime_env: dict[str, Any] | None = field(default=None)  # Ray runtime_env (JSON on the command line)
    temp_dir: str | None = None  # Ray's session files (a cluster started here only)

    @classmethod
    def parse(cls, items: Sequence[str]) -> "RayOptions":
        known = [f.name for f in fields(cls)]
        values: dict[str, Any] = {}
        for item in items:
            name, sep, value = item.partition("=")
            name = name.strip()
            if not sep:
                raise HarnessError(f"--ray-option {item!r}: expected NAME=VALUE ({', '.join(known)})")
            if name not in known:
                raise HarnessError(unknown_key_message(name, known, what="--ray-option"))
            try:
                if name in ("num_cpus", "num_gpus"):
                    values[name] = float(value)
                    if not values[name] >= (0 if name == "num_gpus" else 1e-9) or values[name] == float("inf"):
                        raise ValueError("must be a finite number > 0" if name == "num_cpus" else "must be >= 0")
                elif name == "max_retries":
                    values[name] = int(value)
                    if values[name] < 0:
                        raise ValueError("must be >= 0")
                elif name == "runtime_env":
                    values[name] = json.loads(value)
                    if not isinstance(values[name], dict):
                        raise ValueError("must be a JSON object")
                else:
                    if not value:
                        raise ValueError("must not be empty")
                    values[name] = value
            except (ValueError, json.JSONDecodeError) as exc:
                raise HarnessError(f"--ray-option {name}={value}: {exc}") from None
        return cls(**values)


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise HarnessError(f"--executor ray needs Ray, which is not installed: {RAY_INSTALL_HINT}") from None
    return ray


def check_executor(executor: str, address: str | None = None, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Refuse an unusable executor before any work: an unknown name, --address without Ray, Ray not
    installed, or a cluster address where nothing answers within `timeout_s`."""
    if executor not in EXECUTORS:
        raise HarnessError(unknown_key_message(executor, list(EXECUTORS), what="--executor"))
    if executor == "local":
        if address is not None:
            raise HarnessError("--address applies to --executor ray only (the local executor is a process pool)")
        return
    import_ray()
    if address is None:
        return  # a cluster started for the sweep
    hostport = address.removeprefix("ray://")
    if address == "auto":  # the cluster `ray start` left on this machine ($RAY_ADDRESS first)
        try:
            from ray._private.services import get_ray_address_from_environment
        except ImportError:  # a Ray without this helper: ray.init says it
            return
        try:
            hostport = get_ray_address_from_environment("auto", None)
        except ConnectionError:
            raise HarnessError("--address auto: no running Ray cluster found on this machine (start one with "
                               "`ray start --head`, or give its HOST:PORT)") from None
    host, sep, port = hostport.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise HarnessError(f"--address {address}: expected HOST:PORT (e.g. 10.0.0.1:6379) or ray://HOST:PORT")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        reason = "no answer within %g s" % timeout_s if isinstance(exc, socket.timeout) else (exc.strerror or str(exc))
        raise HarnessError(f"--address {address}: no Ray cluster answers there ({reason}); start one with "
                           "`ray start --head` or give the address it printed") from None


def _ray_task(task: Any, threads: int, wait: bool, variants: list[Any], plugins: list[str]) -> list[dict[str, Any]]:
    """One harness.worker.Task (a run or a --vectorize group) in a Ray worker: what a pool worker's
    initializer and task do (no parent watch: Ray ends the workers of a driver that is gone).
    Returns the runs' results."""
    from .vectorize import execute_task
    from .worker import _worker_init

    _worker_init(variants, None, plugins)  # idempotent: a Ray worker runs many tasks
    return execute_task(task, threads, wait)


def _portable_plugins(plugins: Sequence[str]) -> list[str]:
    """Plugin files by absolute path (a Ray worker's working directory is not the driver's)."""
    from .plugins import _is_path

    return [str(Path(p).resolve()) if _is_path(p) else p for p in plugins]


class RayExecutor:
    """Runs tasks on Ray. Uses the Ray session already initialised in this process if there is one
    (and leaves it running); else connects to `address` or starts a local cluster of `jobs` x
    `threads` CPUs, and shuts it down on close()."""

    def __init__(self, address: str | None = None, jobs: int = 1, threads: int = 1,
                 options: RayOptions | None = None):
        self.ray = import_ray()
        self.options = options or RayOptions()
        self.threads = threads
        per_run = self.options.num_cpus if self.options.num_cpus is not None else max(1, threads)
        # on a cluster, --jobs (when given) caps the runs in flight; a local cluster has jobs slots
        self.max_in_flight = jobs if address is not None and jobs > 0 else None
        self.owned = False
        ray = self.ray
        if not ray.is_initialized():
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage reports leave this machine
            kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": "warning",
                                      "namespace": self.options.namespace, "runtime_env": self.options.runtime_env}
            if address is None:
                kwargs.update(num_cpus=math.ceil(max(1, jobs) * per_run))  # jobs runs at once
                if self.options.temp_dir is not None:
                    kwargs["_temp_dir"] = str(Path(self.options.temp_dir).resolve())
            elif self.options.temp_dir is not None:
                raise HarnessError("--ray-option temp_dir applies to a cluster started here; with --address the "
                                   "cluster's own (`ray start --temp-dir`) is used")
            try:
                ray.init(address=address, **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise HarnessError(f"Ray at {address or 'a new local cluster'}: {str(exc).splitlines()[0]}") from None
            self.owned = True
        self.remote = ray.remote(_ray_task).options(
            num_cpus=per_run,
            num_gpus=self.options.num_gpus or 0, max_retries=self.options.max_retries, retry_exceptions=False)

    def map(self, tasks: Sequence[Any], wait: bool, variants: list[Any],
            plugins: Sequence[str]) -> Iterator[dict[str, Any]]:
        """Submit every harness.worker.Task in order; yield the runs' results as their tasks finish."""
        ray = self.ray
        variants_ref = ray.put(list(variants))
        plugins = _portable_plugins(plugins)
        queue = list(tasks)
        pending: list[Any] = []
        by_ref: dict[Any, str] = {}
        while queue or pending:
            while queue and (self.max_in_flight is None or len(pending) < self.max_in_flight):
                task = queue.pop(0)
                ref = self.remote.remote(task, self.threads, wait, variants_ref, plugins)
                by_ref[ref] = task.run_ids()
                pending.append(ref)
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                try:
                    results = ray.get(ref)
                except Exception as exc:  # the task's retries are spent (its worker kept dying)
                    why = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                    results = [{"run_id": r, "status": "failed", "step": None, "reason": why} for r in by_ref[ref]]
                yield from results

    def close(self) -> None:
        if self.owned and self.ray.is_initialized():
            self.ray.shutdown()
        self.owned = False

