"""What one worker process (or the main process, or a Ray task) does with one run: own its
directory, execute it, report a result; and the set-up a spawned worker needs. Shared by the
process pool (harness.suite), the Ray executor (harness.executors) and the vectorised groups
(harness.vectorize), so none of them imports another.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from . import runs
from .spec import RunSpec
from .variant import Variant

RUNNING_ELSEWHERE = "running elsewhere"
FINISHED_ELSEWHERE = "finished elsewhere"


def _finished_same(spec: RunSpec, path: Path) -> bool:
    old = runs.stored_spec(path) if path.exists() else None
    return old is not None and old.fingerprint() == spec.fingerprint() and runs.is_finished(path)


def _execute(spec_dict: dict[str, Any], path: str, threads: int, wait: bool = False) -> dict[str, Any]:
    """Run one spec as the owner of its directory; never raises (a failure becomes a result).

    Another live process owning the directory gives status RUNNING_ELSEWHERE (or, with `wait`, is
    waited for); a run that is finished once the lock is held (by another sweep since this one's
    plan) gives FINISHED_ELSEWHERE and is not touched."""
    import torch

    from .trainer import train

    from threadpoolctl import threadpool_limits

    previous = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    spec = RunSpec.from_dict(spec_dict)
    try:
        with runs.run_lock(Path(path), wait=wait), threadpool_limits(limits=threads if threads > 0 else None):
            if _finished_same(spec, Path(path)):
                status = runs.read_status(Path(path)) or {}
                return {"run_id": spec.run_id, "status": FINISHED_ELSEWHERE, "step": status.get("step"),
                        "reason": status.get("reason")}
            if spec_dict.get("reference"):
                from .references import execute_reference

                return execute_reference(spec, path)
            summary = train(spec, path)
        return {"run_id": spec.run_id, "status": summary["status"], "step": summary["step"],
                "reason": summary["reason"], "wall_time_s": summary["wall_time_s"]}
    except runs.RunBusy as exc:
        return {"run_id": spec.run_id, "status": RUNNING_ELSEWHERE, "step": None, "reason": str(exc)}
    except Exception as exc:  # recorded in the run directory by train(); the sweep goes on
        return {"run_id": spec.run_id, "status": "failed", "step": None, "reason": f"{type(exc).__name__}: {exc}"}
    finally:
        torch.set_num_threads(previous)  # in-process runs leave the caller's setting alone


@dataclass(frozen=True)
class Task:
    """One unit of work a worker executes (a pool process, the main process or a Ray task, alike, by
    harness.vectorize.execute_task):
    one run (a trained run, or a reference row when its spec dict says ``"reference": True``), or a
    ``--vectorize`` group of seeds trained as one batched model. `cost` orders a sweep's tasks,
    longest first: members x G steps x (D steps per G step + 1); reference rows train nothing (0)."""

    specs: tuple[dict[str, Any], ...]
    paths: tuple[str, ...]
    vectorized: bool = False
    cost: int = 0

    def run_ids(self) -> list[str]:
        return [RunSpec.from_dict(d).run_id for d in self.specs]


def _exit_with_parent(parent: int, interval_s: float = 1.0) -> None:
    """A worker whose parent is gone (killed, not interrupted) stops instead of running on as an
    orphan: its run stays visibly ``running``, its lock is released with it, and the next sweep
    resumes it from its checkpoint or redoes it."""
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval_s)
        os._exit(1)

    threading.Thread(target=watch, name="gan-harness-parent-watch", daemon=True).start()


def _worker_init(variants: list[Variant], parent: int | None = None, plugins: Sequence[str] = ()) -> None:
    """Make variants registered by a call in the parent visible in spawned workers, after importing
    the parent's plugin modules (harness.plugins: their parts, e.g. a new loss, exist only once
    imported)."""
    from .plugins import load_plugins
    from .variant import VARIANTS

    if parent is not None:
        _exit_with_parent(parent)
    load_plugins(plugins)
    for v in variants:
        if v.name not in VARIANTS:
            VARIANTS.register(v.name, v)
