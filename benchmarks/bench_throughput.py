"""Training throughput: the harness loop (probes every `log_every` steps, per-step divergence checks)
against a plain PyTorch loop of the same networks, parts, batch and random streams without probes.

    python benchmarks/bench_throughput.py [--steps 600] [--repeats 3] [--device cpu]

Prints G steps per second for each variant and the ratio plain/harness; the target is an overhead of
at most 10% at the default logging interval. Best of `repeats` alternating runs (noisy machines).
"""
from __future__ import annotations

import argparse
import time

import torch

from harness.data import get_dataset
from harness.nets import build_networks
from harness.parts import CONSTRAINTS, LOSSES, OPTIMIZERS, PENALTIES
from harness.rng import Streams, normal, seeded_global
from harness.suite import QUICK_OVERRIDES
from harness.trainer import resolve_run, train


def plain_loop(spec, device: torch.device) -> float:
    """G steps per second of a bare loop doing the same training work."""
    cfg = spec.config
    data = get_dataset(spec.dataset, config=cfg)
    streams = Streams(spec.seed)
    with seeded_global(spec.seed):
        G, D = build_networks(cfg, data.shape)
        D = CONSTRAINTS.get(cfg.constraint).on_build(D)
    G, D = G.to(device), D.to(device)
    loss, penalty, constraint = LOSSES.get(cfg.loss), PENALTIES.get(cfg.penalty), CONSTRAINTS.get(cfg.constraint)
    make = OPTIMIZERS.get(cfg.optimizer)
    opt_g, opt_d = make(G.parameters(), cfg.lr_g, cfg.beta1, cfg.beta2), make(D.parameters(), cfg.lr_d, cfg.beta1, cfg.beta2)
    B, Z = cfg.batch_size, cfg.z_dim
    t0 = time.perf_counter()
    for _ in range(cfg.steps):
        for _ in range(cfg.n_dis):
            x = data.sample(B, streams["data"]).to(device)
            with torch.no_grad():
                fake = G(normal((B, Z), streams["noise"], device))
            ld = loss.d(D(x), D(fake))
            pen = penalty(D, x, fake, streams["penalty"])
            if pen is not None:
                ld = ld + cfg.penalty_weight * pen
            opt_d.zero_grad(set_to_none=True)
            ld.backward()
            opt_d.step()
            constraint.after_step(D, cfg.clip_value)
        D.requires_grad_(False)
        lg = loss.g(D(G(normal((B, Z), streams["noise"], device))))
        opt_g.zero_grad(set_to_none=True)
        lg.backward()
        D.requires_grad_(True)
        opt_g.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return cfg.steps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dataset", default="ring8")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    overrides = {**QUICK_OVERRIDES, "steps": args.steps, "eval_every": 0}
    print(f"{args.dataset}, batch {overrides['batch_size']}, log_every {overrides['log_every']}, {args.steps} G steps, "
          f"best of {args.repeats}, device {args.device}, {args.threads} thread(s)")
    print(f"{'variant':10s} {'plain G/s':>10s} {'harness G/s':>12s} {'plain/harness':>14s} {'overhead':>9s}")
    worst = 0.0
    for variant in ("vanilla", "wgan", "wgan-gp", "sngan"):
        spec = resolve_run(variant, args.dataset, 0, overrides, device=args.device)
        train(resolve_run(variant, args.dataset, 0, {**overrides, "steps": 20}, device=args.device))  # warm-up
        plain, harness_ = [], []
        for _ in range(args.repeats):
            plain.append(plain_loop(spec, device))
            harness_.append(train(spec)["g_steps_per_s"])
        p, h = max(plain), max(harness_)
        worst = max(worst, p / h - 1)
        print(f"{variant:10s} {p:10.1f} {h:12.1f} {p / h:14.3f} {100 * (p / h - 1):8.1f}%")
    print(f"worst overhead: {100 * worst:.1f}% (target <= 10%)")


if __name__ == "__main__":
    main()
