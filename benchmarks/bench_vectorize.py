"""Seed-vectorised training (--vectorize) against K separate runs with the same total workers.

    python benchmarks/bench_vectorize.py [--ks 1,4,8,16,64] [--steps 200] [--variant wgan-gp]
                                         [--workers 2] [--device cpu]

Prints member G steps per second (K x steps / wall time, setup and the final evaluation included,
in both columns) of K separate runs executed by a pool of `workers` processes (1 thread each; on
cuda one process) and of one vectorised group of K (torch threads = workers), and their ratio.
Quick-suite networks and batch (MLP 3 x 128, batch 256, ring8); evaluations only at the end with a
small bank, no probes except the last step's, so it measures training. Runs into a temporary
directory. Targets: >= 1.2x on a 2-core CPU at the quick suite's K = 3..16; >= 20x at K = 64 with
--device cuda (not measured here).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from harness.suite import QUICK_OVERRIDES, run_specs
from harness.trainer import resolve_run
from harness.vectorize import train_group


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ks", default="1,4,8,16,64")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--variant", default="wgan-gp")
    ap.add_argument("--dataset", default="ring8")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    cuda = args.device.startswith("cuda")
    over = {**QUICK_OVERRIDES, "steps": args.steps, "log_every": args.steps, "eval_every": 0, "n_eval": 256,
            "n_w1": 256, "noise_banks": 0}
    print(f"{args.variant} on {args.dataset}, {args.steps} G steps, device {args.device}, "
          f"workers {1 if cuda else args.workers}")
    print(f"{'K':>4} {'separate steps/s':>17} {'vectorised steps/s':>19} {'ratio':>6}")
    for k in [int(v) for v in args.ks.split(",")]:
        specs = [resolve_run(args.variant, args.dataset, s, over, device=args.device, setting="2d") for s in range(k)]
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            res = run_specs(specs, Path(tmp), jobs=1 if cuda else args.workers, threads=1, progress=False,
                            references=False)
            sep = time.perf_counter() - t
            assert all(r["status"] == "completed" for r in res), res
        prev = torch.get_num_threads()
        torch.set_num_threads(1 if cuda else args.workers)
        try:
            t = time.perf_counter()
            out = train_group(specs)
            vec = time.perf_counter() - t
        finally:
            torch.set_num_threads(prev)
        assert all(s["status"] == "completed" for s in out)
        a, b = k * args.steps / sep, k * args.steps / vec
        print(f"{k:>4} {a:>17.1f} {b:>19.1f} {b / a:>6.2f}", flush=True)


if __name__ == "__main__":
    main()
