"""Suites: expanding a grid into runs, skipping finished ones, executing in-process or in a pool.

Nothing is lost: each run writes its own directory; a diverged run is a result; a run that
raises is recorded as ``failed`` and the rest of the sweep goes on.

Several sweeps may share one output directory: a run is executed by whichever process holds its
lock (harness.runs.run_lock). A sweep skips the runs another live process is executing, does the
rest, then waits for those: when one is finished there it counts as ``finished elsewhere``; when
its owner died first the sweep takes it over (resuming it from its checkpoint, or redoing it).
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from . import runs
from .errors import HarnessError
from .registry import Registry
from .resolve import check_preconditions, resolve_run
from .spec import RunSpec, SuiteSpec
from .variant import get_variant
from .worker import FINISHED_ELSEWHERE, RUNNING_ELSEWHERE, Task, _execute, _finished_same, _worker_init  # noqa: F401

SUITES: Registry[SuiteSpec] = Registry("suite")

# The quick suite: the four reference variants on both 2-D mixtures, 5 seeds (the fewest at which
# Holm over the 6 pairs can reach 0.05), each variant under its own tuned values (the tuned-2d setting:
# the tuning study reports/tune-2d, N = 12 points per variant on seed 1000, published values included;
# docs/TUNING.md), seeds vectorised, a budget that fits in <= 10 minutes on a 2-core machine (README).
QUICK_OVERRIDES: dict[str, Any] = {"steps": 2500, "batch_size": 256, "log_every": 50, "eval_every": 500, "n_eval": 2500,
                                   "vectorize": True}
SUITES.register("quick", SuiteSpec(
    name="quick", variants=("vanilla", "wgan", "wgan-gp", "sngan"), datasets=("ring8", "grid25"),
    seeds=(0, 1, 2, 3, 4), overrides=QUICK_OVERRIDES, setting="tuned-2d",
    description="4 variants x ring8, grid25 x 5 seeds on 2-D mixtures, each variant tuned on its own knobs "
                "(setting tuned-2d), equal G-step budgets (CPU, minutes)"))

# The regression-check suite (gan-harness check; baselines/ci.json): ring8 under the 2d setting at
# 1,000 G steps, 12 seeds: enough for the check's joint permutation test to judge every row of a
# 4-seed candidate whatever the rows' correlation (docs/CHECK.md), re-made in about 4 minutes on 2
# cores (`gan-harness run --suite ci --seeds 0-21` makes the false-alarm pool). Cheap enough to
# train a candidate inside a user's test suite. It stays on the 2d setting: the tuned-2d values were
# chosen for 2,500 G steps and, run for 1,000, leave SN-GAN and WGAN at 0 modes >= k (measured:
# README, "Shipped baselines"); tuning at the ci budget is the next step.
CI_OVERRIDES: dict[str, Any] = {"steps": 1000, "batch_size": 256, "log_every": 50, "eval_every": 500, "n_eval": 2500}
SUITES.register("ci", SuiteSpec(
    name="ci", variants=("vanilla", "wgan", "wgan-gp", "sngan"), datasets=("ring8",), seeds=tuple(range(12)),
    overrides=CI_OVERRIDES, setting="2d",
    description="regression-check suite: 4 variants x ring8 x 12 seeds, 1,000 G steps (baselines/ci.json)"))

# The image track's 1,000-mode benchmark: budget chosen so the suite fits in <= 30 minutes on a
# 2-core CPU (measured figures in the README); scale it up on a GPU with --device cuda --set steps=...
STACKED_DIGITS_OVERRIDES: dict[str, Any] = {"steps": 1500, "batch_size": 64, "g_hidden": 32, "d_hidden": 32,
                                            "log_every": 50, "eval_every": 500, "n_eval": 10000}
SUITES.register("stacked-digits", SuiteSpec(
    name="stacked-digits", variants=("vanilla", "wgan", "wgan-gp", "sngan"), datasets=("stacked-digits",),
    seeds=(0, 1, 2), overrides=STACKED_DIGITS_OVERRIDES,
    description="4 variants x stacked-digits (1,000 modes) x 3 seeds: FID/KID, PR, DC, modes (CPU, < 30 min)"))


# PacGAN's 2-D protocol as its code specifies it (fjxmlzn/PacGAN, synthetic_data_experiments/, 2DRing
# and 2DGrid config.py and pacgan_task.py; README, "The pacgan suite"): G 4 x 400 ReLU with batch norm
# and no bias, D 3 x 200 linear maxout with 5 pieces (arch=pacgan-mlp), a 2-D latent, batch 100 (packs),
# 400 epochs of a fixed set of 100,000 points, both players updated at once from one forward pass (the
# ALI training algorithm PacGAN's code uses: update=simultaneous), 2,500 evaluation samples, 10 seeds,
# packing m = 1 (the GAN) to 4; the optimiser is the pacgan setting (harness.settings).
PACGAN_EPOCHS, PACGAN_TRAIN_SIZE, PACGAN_BATCH = 400, 100_000, 100
PACGAN_OVERRIDES: dict[str, Any] = {
    "arch": "pacgan-mlp", "z_dim": 2, "g_hidden": 400, "g_layers": 4, "d_hidden": 200, "d_layers": 3,
    "batch_size": PACGAN_BATCH, "train_size": PACGAN_TRAIN_SIZE,
    "steps": PACGAN_EPOCHS * PACGAN_TRAIN_SIZE // PACGAN_BATCH,  # 400,000 G steps: 1,000 batches per epoch
    "update": "simultaneous", "n_eval": 2500, "log_every": 1000, "eval_every": 10_000}
SUITES.register("pacgan", SuiteSpec(
    name="pacgan", variants=("vanilla",), datasets=("pacgan-ring", "grid25"), seeds=tuple(range(10)),
    overrides=PACGAN_OVERRIDES, setting="pacgan", grid={"pack": (1, 2, 3, 4)},
    description="PacGAN's 2-D protocol: GAN and PacGAN2-4 (pack=1..4) x pacgan-ring, grid25 x 10 seeds, "
                "400 epochs of 100,000 points (400,000 G steps; GPU-scale, see README)"))


@dataclass(frozen=True)
class PlannedRun:
    spec: RunSpec
    path: Path
    skip: bool  # already finished with the same spec


def expand_suite(suite: SuiteSpec, overrides: Mapping[str, Any] | None = None, device: str = "cpu",
                 grid: Mapping[str, Sequence[Any]] | None = None) -> list[RunSpec]:
    """All RunSpecs of a suite, validated, with everything checkable checked (raises HarnessError
    before any work). `grid`: key -> values; every point of their Cartesian product runs every seed."""
    if not suite.variants or not suite.datasets or not suite.seeds:
        raise HarnessError(f"suite {suite.name!r} has no runs (variants, datasets and seeds must be non-empty)")
    points = grid_points({**suite.grid, **(grid or {})})  # a --grid key replaces the suite's own
    specs = [resolve_run(v, d, s, overrides, device=device, suite_overrides=suite.overrides, grid=point,
                         setting=suite.setting, tuned_as=suite.tuned_as.get(v))
             for d in suite.datasets for v in suite.variants for point in points for s in suite.seeds]
    check_preconditions(specs)
    return specs


def grid_points(grid: Mapping[str, Sequence[Any]] | None) -> list[dict[str, Any]]:
    """The Cartesian product of a grid's values, one dict per point ([{}] without a grid). A key
    "a,b" ties a and b: both take each of its values."""
    points: list[dict[str, Any]] = [{}]
    for key, values in (grid or {}).items():
        if not values:
            raise HarnessError(f"--grid {key}: empty list of values")
        names = key.split(",")  # tied keys ("lr_g,lr_d") take the same value at each point
        points = [{**p, **{name: v for name in names}} for p in points for v in values]
    return points


def plan(specs: Sequence[RunSpec], out: Path) -> list[PlannedRun]:
    """Decide which runs to do. A finished run with the same spec is skipped; a directory holding a
    different spec is an error (it would otherwise be silently overwritten or mixed in). Whether a
    run is free to execute is decided later, under its lock (`_execute`)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise HarnessError(f"output path is a file, not a directory: {out}")
    planned = []
    for spec in specs:
        path = runs.run_dir(out, spec)
        if path.exists() and not path.is_dir():
            raise HarnessError(f"run path is a file, not a directory: {path}")
        old = runs.stored_spec(path) if path.exists() else None
        if old is not None and old.fingerprint() != spec.fingerprint():
            diffs = runs.config_differences(old, spec)
            raise HarnessError(f"{path} holds a run with a different config (differs in: {', '.join(diffs)}); "
                               f"use another --out or delete it")
        planned.append(PlannedRun(spec, path, skip=old is not None and runs.is_finished(path)))
    return planned


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def _task(p: PlannedRun, reference: bool) -> tuple[dict[str, Any], str]:
    return ({**p.spec.to_dict(), "reference": True} if reference else p.spec.to_dict()), str(p.path)


def run_specs(specs: Sequence[RunSpec], out: Path, *, jobs: int = 1, threads: int = 1, progress: bool = True,
              on_result: Callable[[dict[str, Any]], None] | None = None,
              references: bool = True, wait: bool = True, executor: str = "local", address: str | None = None,
              ray_options: Any = None) -> list[dict[str, Any]]:
    """Execute runs (skipping finished ones) and return one result dict per run, in spec order.
    With `references`, the reference rows of every data set (harness.references) are scored too.
    `executor` "ray" runs them as Ray tasks (harness.executors: a cluster at `address`, or one
    started for the sweep with `jobs` slots) instead of the process pool; the results are the same.

    Runs another live process is executing are skipped at first; with `wait` (the default) they
    are waited for once the rest is done, then reported FINISHED_ELSEWHERE, or taken over when their
    owner died without finishing them. Without `wait` they are reported RUNNING_ELSEWHERE."""
    from .references import plan_references, reference_specs

    if any(s.config.vectorize for s in specs):
        from .vectorize import check_specs

        check_specs(specs)  # one line, before any work, for what --vectorize cannot honour
    planned = plan(specs, out)
    refs = [PlannedRun(*r) for r in plan_references(reference_specs(specs), out)] if references else []
    todo = [(p, False) for p in planned if not p.skip] + [(p, True) for p in refs if not p.skip]
    results: dict[str, dict[str, Any]] = {p.spec.run_id: {"run_id": p.spec.run_id, "status": "skipped (finished)"}
                                          for p in planned if p.skip}
    remote = None  # the Ray executor (harness.executors), started only when there is a run to do
    if executor != "local" or address is not None:
        from .executors import RayExecutor, check_executor

        check_executor(executor, address)
        if todo:
            remote = RayExecutor(address, jobs=jobs, threads=threads, options=ray_options)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(planned) + len(refs), initial=len(planned) + len(refs) - len(todo), desc="runs",
                   unit="run")
    elsewhere: list[tuple[PlannedRun, bool]] = []
    by_id = {p.spec.run_id: (p, ref) for p, ref in todo}

    def done(res: dict[str, Any], first_pass: bool) -> None:
        if first_pass and wait and res["status"] == RUNNING_ELSEWHERE:
            elsewhere.append(by_id[res["run_id"]])  # come back to it at the end
            return
        results[res["run_id"]] = res
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(f"{res['run_id']}: {res['status']}")
        if on_result is not None:
            on_result(res)

    def execute(tasks: list[tuple[PlannedRun, bool]], first_pass: bool) -> None:
        # one list of harness.worker.Task, longest first, for the pool, the main process or Ray:
        # --vectorize groups (fewer groups than workers are split so that every worker trains a
        # batch at one thread), then single runs and reference rows
        from .vectorize import execute_task

        items = _tasks(tasks, jobs)
        variants = [get_variant(n) for n in sorted({p.spec.variant for p, ref in tasks if not ref})]
        from .plugins import LOADED

        if remote is not None:
            for res in remote.map(items, not first_pass, variants, list(LOADED)):
                done(res, first_pass)
            return
        if jobs <= 1 or len(items) <= 1:
            for task in items:
                for res in execute_task(task, threads, not first_pass):
                    done(res, first_pass)
            return
        ctx = mp.get_context("spawn")
        with cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                                    initargs=(variants, os.getpid(), list(LOADED))) as pool:
            futures = [pool.submit(execute_task, task, threads, not first_pass) for task in items]
            for fut in cf.as_completed(futures):
                for res in fut.result():
                    done(res, first_pass)

    try:
        execute(todo, True)
        if elsewhere:
            if bar is not None:
                bar.set_postfix_str(f"waiting for {len(elsewhere)} run(s) another process is executing")
            execute(elsewhere, False)
    finally:
        if bar is not None:
            bar.close()
        if remote is not None:
            remote.close()
    for res in results.values():
        if res["status"] == "failed":
            warnings.warn(f"run {res['run_id']} failed: {res['reason']}", stacklevel=2)
    return [results[s.run_id] for s in specs]


def _vector_groups(tasks: list[tuple[PlannedRun, bool]]) -> list[list[tuple[PlannedRun, bool]]]:
    """The vectorised runs among `tasks`, grouped by everything but the seed (harness.vectorize)."""
    from .vectorize import group_key

    groups: dict[str, list[tuple[PlannedRun, bool]]] = {}
    for t in tasks:
        if not t[1] and t[0].spec.config.vectorize:
            groups.setdefault(group_key(t[0].spec), []).append(t)
    # longest first, as the pool orders single runs: members x D steps per G step x budget
    return sorted(groups.values(), key=lambda g: -len(g) * g[0][0].spec.config.steps * (g[0][0].spec.config.n_dis + 1))


def _group_cost(group: list[tuple[PlannedRun, bool]]) -> int:
    cfg = group[0][0].spec.config
    return len(group) * cfg.steps * (cfg.n_dis + 1)


def _split_groups(groups: list[list[tuple[PlannedRun, bool]]], jobs: int) -> list[list[tuple[PlannedRun, bool]]]:
    """`groups` (longest first) with the costliest halved until there are `jobs` tasks or no group
    has two members: a lone group of 8 seeds on 2 workers becomes two groups of 4, each trained by
    one worker at one thread, instead of one worker training 8 while the other idles. A member's
    numbers do not depend on the other members of its group (each has its own streams; the batched
    kernels compute each member's slice alone: tests/test_vectorize.py)."""
    groups = list(groups)
    while 0 < len(groups) < jobs:
        groups.sort(key=_group_cost, reverse=True)
        big = groups[0]
        if len(big) < 2:
            break
        half = (len(big) + 1) // 2
        groups = [big[:half], big[half:]] + groups[1:]
    return sorted(groups, key=_group_cost, reverse=True)


def _tasks(tasks: list[tuple[PlannedRun, bool]], jobs: int) -> list[Task]:
    """The sweep's runs as worker tasks, longest first (a stable sort: among equal costs, the order
    of the suite): each --vectorize group (split while there are fewer groups than workers), each
    other run, each reference row (cost 0: they train nothing)."""
    groups = _split_groups(_vector_groups(tasks), jobs)
    grouped = {id(t) for g in groups for t in g}
    out = [Task(tuple(p.spec.to_dict() for p, _ in g), tuple(str(p.path) for p, _ in g), True, _group_cost(g))
           for g in groups]
    for t in tasks:
        if id(t) in grouped:
            continue
        p, ref = t
        spec_dict, path = _task(p, ref)
        out.append(Task((spec_dict,), (path,), False, 0 if ref else p.spec.config.steps * (p.spec.config.n_dis + 1)))
    return sorted(out, key=lambda t: -t.cost)


def run_suite(suite: SuiteSpec | str, out: str | Path | None = None, *, overrides: Mapping[str, Any] | None = None,
              device: str = "cpu", jobs: int = 1, threads: int = 1, progress: bool = True,
              grid: Mapping[str, Sequence[Any]] | None = None) -> list[dict[str, Any]]:
    """Expand and execute a suite (by name or spec); runs land under `out` (default runs/<suite>)."""
    if isinstance(suite, str):
        suite = SUITES.get(suite)
    specs = expand_suite(suite, overrides, device=device, grid=grid)
    return run_specs(specs, Path(out) if out is not None else Path("runs") / suite.name,
                     jobs=jobs, threads=threads, progress=progress)
