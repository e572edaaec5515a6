"""Time one FID evaluation: our eigenvalue trace next to scipy.linalg.sqrtm, on the same statistics.

    python benchmarks/bench_fid.py [--n 10000] [--d 2048] [--repeats 3] [--threads 1]

Random features (N = 10,000, d = 2,048 by default; the statistics, not the features, are what the
two methods see). Our method (harness.metrics.distances.frechet_distance) takes the trace of
(S1 S2)^{1/2} as the sum of square roots of the eigenvalues of S1 S2; the classic pytorch-fid code
takes scipy.linalg.sqrtm(S1 @ S2). Prints both times (best of --repeats), the ratio, and the two
FID values (which agree to ~1e-14 relative). --threads limits BLAS/LAPACK threads (default 1:
on a shared 2-core machine two OpenBLAS threads were erratic, once 35 s instead of 4 s; 0 = as is).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.linalg

from harness.metrics.distances import frechet_distance
from harness.metrics.fid import feature_stats


def fid_sqrtm(mu1, s1, mu2, s2) -> float:
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))


def best_time(fn, repeats: int) -> tuple[float, float]:
    times, value = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t)
    return min(times), value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--d", type=int, default=2048)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    rng = np.random.default_rng(0)
    # ReLU-like, correlated features, as a network's penultimate layer gives
    mix = rng.normal(size=(args.d, args.d)) / np.sqrt(args.d)
    real = np.maximum(rng.normal(size=(args.n, args.d)) @ mix, 0)
    fake = np.maximum(rng.normal(0.1, 1.1, size=(args.n, args.d)) @ mix, 0)
    t = time.perf_counter()
    stats_r, stats_f = feature_stats(real), feature_stats(fake)
    t_stats = time.perf_counter() - t
    t_eig, v_eig = best_time(lambda: frechet_distance(*stats_r, *stats_f), args.repeats)
    t_sqrtm, v_sqrtm = best_time(lambda: fid_sqrtm(*stats_r, *stats_f), args.repeats)
    print(f"FID from statistics, N = {args.n}, d = {args.d}, BLAS threads {args.threads or 'default'} (best of {args.repeats}; "
          f"computing both sets' statistics took {t_stats:.2f} s)")
    print(f"  eigenvalues (ours):   {t_eig:8.3f} s   FID = {v_eig:.10g}")
    print(f"  scipy.linalg.sqrtm:   {t_sqrtm:8.3f} s   FID = {v_sqrtm:.10g}")
    print(f"  ratio sqrtm / ours:   {t_sqrtm / t_eig:8.2f}x   relative difference {abs(v_eig - v_sqrtm) / abs(v_sqrtm):.1e}")


if __name__ == "__main__":
    main()
