"""Seed-vectorised training (--vectorize) against K separate runs with the same total workers.

    python benchmarks/bench_vectorize.py [--ks 1,4,8,16,64] [--steps 200] [--variant wgan-gp]
                                         [--workers 2] [--device cpu]
    python benchmarks/bench_vectorize.py --suite quick [--workers 2] [--device cpu]

Prints member G steps per second (K x steps / wall time, setup and the final evaluation included,
in both columns) of K separate runs executed by a pool of `workers` processes (1 thread each; on
cuda one process) and of the same K runs with --vectorize, executed as `gan-harness run` does (a
group of K split into `workers` batches, one process and one thread each), and their ratio, in
one run of the script.
Quick-suite networks and batch (MLP 3 x 128, batch 256, ring8); evaluations only at the end with a
small bank, no probes except the last step's, so it measures training. Runs into a temporary
directory. Targets: >= 1.2x on a 2-core CPU at the quick suite's K = 3..16; >= 20x at K = 64 with
--device cuda (not measured here).

With --suite NAME it times the whole suite instead, as `gan-harness run --suite NAME --jobs
WORKERS` would execute it, without and with --vectorize (each group of seeds one task, one thread
per task), evaluations and reference rows included: the wall-time ratio is what a user of that
suite gains.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from harness.suite import QUICK_OVERRIDES, run_specs
from harness.trainer import resolve_run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ks", default="1,4,8,16,64")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--variant", default="wgan-gp")
    ap.add_argument("--dataset", default="ring8")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeat", type=int, default=3, help="best of this many interleaved timings per side (default 3)")
    ap.add_argument("--suite", default=None, help="time this whole suite without and with --vectorize")
    args = ap.parse_args()
    cuda = args.device.startswith("cuda")
    if args.suite:
        return bench_suite(args.suite, 1 if cuda else args.workers, args.device)
    over = {**QUICK_OVERRIDES, "steps": args.steps, "log_every": args.steps, "eval_every": 0, "n_eval": 256,
            "n_w1": 256, "noise_banks": 0}
    print(f"{args.variant} on {args.dataset}, {args.steps} G steps, device {args.device}, "
          f"workers {1 if cuda else args.workers}")
    print(f"{'K':>4} {'separate steps/s':>17} {'vectorised steps/s':>19} {'ratio':>6}")
    for k in [int(v) for v in args.ks.split(",")]:
        walls: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(args.repeat):  # interleaved, best of --repeat per side: the machine's noise is large
            for vectorize in (False, True):  # both sides as `gan-harness run --jobs WORKERS [--vectorize]` runs them
                specs = [resolve_run(args.variant, args.dataset, s, {**over, "vectorize": vectorize},
                                     device=args.device, setting="2d") for s in range(k)]
                with tempfile.TemporaryDirectory() as tmp:
                    t = time.perf_counter()
                    res = run_specs(specs, Path(tmp), jobs=1 if cuda else args.workers, threads=1, progress=False,
                                    references=False)
                    walls[vectorize].append(time.perf_counter() - t)
                assert all(r["status"] == "completed" for r in res), res
        a, b = k * args.steps / min(walls[False]), k * args.steps / min(walls[True])
        print(f"{k:>4} {a:>17.1f} {b:>19.1f} {b / a:>6.2f}", flush=True)


def bench_suite(name: str, workers: int, device: str) -> None:
    from harness.suite import SUITES, expand_suite

    suite = SUITES.get(name)
    print(f"suite {name}: whole suite wall time, {workers} worker(s), one thread each, device {device}")
    walls = {}
    for vectorize in (False, True):
        specs = expand_suite(suite, {"vectorize": vectorize}, device=device)
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            res = run_specs(specs, Path(tmp), jobs=workers, threads=1, progress=False)
            walls[vectorize] = time.perf_counter() - t
        assert all(r["status"] in ("completed", "diverged") for r in res), res
        label = "vectorised" if vectorize else "separate"
        print(f"  {label:>10}: {len(specs)} runs in {walls[vectorize]:.1f} s", flush=True)
    print(f"  ratio (separate / vectorised wall time): {walls[False] / walls[True]:.2f}")


if __name__ == "__main__":
    main()
