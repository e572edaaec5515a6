"""How well `gan-harness check` separates broken implementations from correct ones, at the `ci`
suite's full budget, against the shipped baseline baselines/ci.json (12 seeds per variant), for
the default statistic (joint permutation) and the old one (rank, Bonferroni) side by side.

    gan-harness run --suite ci --seeds 0-21 --out runs/ci-pool                   # the false-alarm pool
    python benchmarks/check_detection.py --out reports/check-detection          # train, then analyse
    python benchmarks/check_detection.py --out reports/check-detection --no-train   # analyse stored runs

1. Detection. Each mutant of tests/mutants.py trains `--mutant-seeds` seeds (default 10-17) under
   the ci suite; the check against its reference variant's baseline group runs with its first n
   seeds, n in `--candidate-seeds` (3, 4, 5, 8); "seeds needed" is the smallest n from which every
   larger n says FAIL.
2. False alarms. Random splits of `--pool` (runs of the four reference variants under the ci suite,
   22 seeds each): n seeds of a variant are the candidate, 12 other seeds the baseline, 250 draws per
   variant and n. All seeds come from one implementation on one machine, so every FAIL is a false
   alarm; INCONCLUSIVE and PASS are counted too.

Writes detection.md and detection.json under --out; runs go to --runs (default runs/check-detection).
Training costs about 10 minutes on a 2-core CPU (6 mutants x 8 runs, 1,000 G steps each); the
analysis a few minutes.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from harness.baseline import build_baseline, decode_non_finite, dumps  # noqa: E402
from harness.check import check, packaged_baseline  # noqa: E402
from harness.cli import parse_seeds  # noqa: E402
from harness.plugins import load_plugin  # noqa: E402
from harness.resolve import resolve_run  # noqa: E402
from harness.runs import atomic_write_bytes  # noqa: E402
from harness.suite import SUITES, expand_suite, run_specs  # noqa: E402

REFERENCES = ("vanilla", "wgan", "wgan-gp", "sngan")


def train(args, mutants) -> None:
    suite = SUITES.get("ci")
    specs = []
    for name, (ref, overrides) in mutants.MUTANTS.items():
        cfg = resolve_run(ref, "ring8", 0, dict(suite.overrides), setting=suite.setting).config
        specs += expand_suite(suite.with_(variants=(mutants.candidate(name),), seeds=tuple(args.mutant_seeds)),
                              overrides(cfg))
    # an override-only mutant (the reference with another lr) trains under the reference's name: its own dir
    plain = [s for s in specs if s.variant in mutants.MUTANTS or s.variant.startswith("mutant-")]
    other = [s for s in specs if s not in plain]
    t = time.time()
    run_specs(plain, args.runs / "mutants", jobs=args.jobs, references=False)
    run_specs(other, args.runs / "mutants-override", jobs=args.jobs, references=False)
    print(f"trained in {time.time() - t:.0f} s", file=sys.stderr)


def _group(b, variant):
    return [g for g in b["groups"] if g["variant"] == variant]


def _subset(group, seeds):
    return {**group, "seeds": [s for s in group["seeds"] if s["seed"] in seeds]}


def _side(b, groups):
    return {**b, "groups": groups}


def _lean(b: dict) -> dict:
    """The baseline without what only the exact part reads (history digests and hashes, curves):
    thousands of checks run in seconds instead of minutes."""
    keep = ("seed", "status", "reason", "metrics", "behaviour", "eval_noise", "signature_id")
    return {**b, "references": [], "groups": [{**g, "seeds": [{k: s[k] for k in keep if k in s} for s in g["seeds"]]}
                                              for g in b["groups"]]}


VERDICT_MARK = {"FAIL": "FAIL", "PASS": "pass", "INCONCLUSIVE": "inc."}


def analyse(args, mutants) -> dict:
    import random

    base = _lean(decode_non_finite(json.loads(Path(args.baseline).read_text())))
    runs = {}
    for sub in ("mutants", "mutants-override"):
        if (args.runs / sub).exists():
            runs[sub] = _lean(decode_non_finite(build_baseline(args.runs / sub)))
    detection = []
    for name, (ref, _) in mutants.MUTANTS.items():
        variant = mutants.candidate(name)
        src = runs["mutants"] if variant != ref else runs["mutants-override"]
        (cand,) = _group(src, variant)
        (bgroup,) = _group(base, ref)
        seeds = sorted(s["seed"] for s in cand["seeds"])
        by_stat = {}
        for stat in args.statistics:
            by_n = {}
            for n in args.candidate_seeds:
                if n > len(seeds):
                    continue
                r = check(_side(src, [_subset(cand, set(seeds[:n]))]), _side(base, [bgroup]),
                          pairs={variant: ref} if variant != ref else None, margin_sds=args.margin_sds, statistic=stat)
                failed = [f"{x.metric}" for x in r.regressions] + (["exact"] if r.exact_failures else [])
                by_n[n] = {"verdict": r.verdict, "failed_rows": failed}
            needed = next((n for n in sorted(by_n) if all(by_n[m]["verdict"] == "FAIL" for m in by_n if m >= n)), None)
            by_stat[stat] = {"seeds_needed": needed, "by_n": by_n}
        detection.append({"mutant": name, "reference": ref, "statistics": by_stat,
                          "diverged": sum(s["status"] == "diverged" for s in cand["seeds"]), "n_seeds": len(seeds),
                          "baseline_seeds": len(bgroup["seeds"])})
    # false alarms: random splits of a pool of reference runs (one implementation on one machine, so
    # the seeds are exchangeable and every FAIL is a false alarm): k seeds as the candidate, another
    # `--fa-baseline` seeds of the same variant as the baseline
    pool = _lean(decode_non_finite(build_baseline(args.pool)))
    fa: dict = {}
    for stat in args.statistics:
        fa[stat] = {}
        for k in args.candidate_seeds:
            counts = {"checks": 0, "FAIL": 0, "PASS": 0, "INCONCLUSIVE": 0, "failing_rows": {}}
            for ref in REFERENCES:
                (g,) = _group(pool, ref)
                seeds = sorted(s["seed"] for s in g["seeds"])
                rng = random.Random(f"{ref}-{k}")
                for _ in range(args.fa_draws):
                    drawn = rng.sample(seeds, k + args.fa_baseline)
                    r = check(_side(pool, [_subset(g, set(drawn[:k]))]), _side(pool, [_subset(g, set(drawn[k:]))]),
                              margin_sds=args.margin_sds, statistic=stat)
                    counts["checks"] += 1
                    counts[r.verdict] += 1
                    for x in r.regressions:
                        key = f"{ref} {x.metric}"
                        counts["failing_rows"][key] = counts["failing_rows"].get(key, 0) + 1
            fa[stat][k] = counts
    return {"baseline": Path(args.baseline).name, "pool": str(args.pool), "statistics": list(args.statistics),
            "margin_sds": args.margin_sds, "mutant_seeds": list(args.mutant_seeds),
            "candidate_seeds": list(args.candidate_seeds), "fa_baseline": args.fa_baseline,
            "fa_draws": args.fa_draws, "pool_seeds": {ref: len(_group(pool, ref)[0]["seeds"]) for ref in REFERENCES},
            "detection": detection, "false_alarms": fa}


def _wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion k / n."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


STAT_NAMES = {"permutation": "joint permutation, Westfall-Young min-p (the default)",
              "rank": "exact Mann-Whitney per row, Bonferroni (the old default)",
              "mean": "Welch bounds with a margin of k seed sds"}


def markdown(res: dict) -> str:
    ks = res["candidate_seeds"]
    stats = res["statistics"]
    n_b = res["detection"][0]["baseline_seeds"] if res["detection"] else "?"
    lines = ["# Regression-check detection and false alarms (ci suite)", "",
             f"Baseline `baselines/{res['baseline']}` ({n_b} seeds per variant; α = 0.05). Statistics: "
             + "; ".join(f"**{s}**: {STAT_NAMES.get(s, s)}" for s in stats) + ". Verdicts: FAIL (exit 1), "
             "pass (exit 0), inc. = INCONCLUSIVE (exit 3: rows that could not be judged with these seeds).", "",
             "Command: `python benchmarks/check_detection.py --out reports/check-detection` (trains the mutants; "
             "`--no-train` re-analyses stored runs).", "",
             "## Mutants (must FAIL)", "",
             f"Each mutant trained seeds {res['mutant_seeds'][0]}-{res['mutant_seeds'][-1]} under the ci suite; the "
             f"check ran with its first n seeds against its reference variant's {n_b} baseline seeds.", ""]
    head = "| mutant | checked against | " + " | ".join(f"{s} n = {k}" for s in stats for k in ks) + \
        " | seeds needed (" + ", ".join(stats) + ") | rows that failed (first statistic, fewest seeds) |"
    lines += [head, "|" + "---|" * (4 + len(stats) * len(ks))]
    for d in res["detection"]:
        cells = []
        for s in stats:
            by_n = {int(k): v for k, v in d["statistics"][s]["by_n"].items()}
            cells += [VERDICT_MARK[by_n[k]["verdict"]] if k in by_n else "" for k in ks]
        needed = ", ".join(str(d["statistics"][s]["seeds_needed"] or f"> {max(ks)}") for s in stats)
        first = d["statistics"][stats[0]]
        n0 = first["seeds_needed"]
        rows = ", ".join({int(k): v for k, v in first["by_n"].items()}[n0]["failed_rows"]) if n0 else "—"
        lines.append(f"| {d['mutant']} | {d['reference']} | " + " | ".join(cells) + f" | {needed} | {rows} |")
    pool = ", ".join(f"{v} {k}" for k, v in res["pool_seeds"].items())
    lines += ["", "## False alarms (the reference against itself: must not FAIL)", "",
              f"Random splits of a pool of reference runs of the ci suite ({pool} seeds, `{res['pool']}`): n seeds "
              f"of a variant are the candidate, {res['fa_baseline']} other seeds of it the baseline; "
              f"{res['fa_draws']} draws per variant and n (fixed seeds). Every FAIL is a false alarm (target ≤ 5 %).",
              "The guarantee is exact (at most 5 % under exchangeable seeds); the interval is the Wilson 95 % "
              "interval of the measured rate (the draws share seeds, so it is if anything too narrow).",
              "", "| statistic | n | checks | FAIL (false alarm) | 95 % interval | INCONCLUSIVE | pass | rows that failed |",
              "|---|---|---|---|---|---|---|---|"]
    for s in stats:
        for k in ks:
            f = res["false_alarms"][s][str(k)] if str(k) in res["false_alarms"][s] else res["false_alarms"][s][k]
            c = max(f["checks"], 1)
            rows = ", ".join(f"{key} ({v})" for key, v in sorted(f["failing_rows"].items())) or "—"
            lo, hi = _wilson(f["FAIL"], c)
            lines.append(f"| {s} | {k} | {f['checks']} | {f['FAIL']} ({100 * f['FAIL'] / c:.1f} %) | "
                         f"{100 * lo:.1f}-{100 * hi:.1f} % | {f['INCONCLUSIVE']} ({100 * f['INCONCLUSIVE'] / c:.1f} %) | "
                         f"{f['PASS']} | {rows} |")
        tot = sum(res["false_alarms"][s][str(k) if str(k) in res["false_alarms"][s] else k]["FAIL"] for k in ks)
        n_all = sum(res["false_alarms"][s][str(k) if str(k) in res["false_alarms"][s] else k]["checks"] for k in ks)
        lo, hi = _wilson(tot, n_all)
        lines.append(f"| {s} | all | {n_all} | {tot} ({100 * tot / max(n_all, 1):.1f} %) | {100 * lo:.1f}-{100 * hi:.1f} % "
                     "| | | |")
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--runs", type=Path, default=Path("runs/check-detection"))
    p.add_argument("--baseline", default=str(packaged_baseline("ci") or "baselines/ci.json"))
    p.add_argument("--mutant-seeds", type=parse_seeds, default=list(range(10, 18)))
    p.add_argument("--candidate-seeds", type=parse_seeds, default=[3, 4, 5, 8],
                   help="candidate seed counts n at which every check runs (default 3,4,5,8)")
    p.add_argument("--margin-sds", type=float, default=8.0)
    p.add_argument("--statistics", default="permutation,rank", type=lambda x: [v for v in x.split(",") if v])
    p.add_argument("--pool", type=Path, default=Path("runs/ci-pool"),
                   help="runs of the reference variants under the ci suite, more seeds than the baseline "
                        "(false alarms); e.g. gan-harness run --suite ci --seeds 0-21 --out runs/ci-pool")
    p.add_argument("--fa-baseline", type=int, default=12, help="baseline seeds in a false-alarm split (default 12)")
    p.add_argument("--fa-draws", type=int, default=250, help="splits per variant and n (default 250)")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--no-train", action="store_true")
    args = p.parse_args()
    mutants = load_plugin(str(ROOT / "tests" / "mutants.py"))
    if not args.no_train:
        train(args, mutants)
    res = analyse(args, mutants)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(args.out / "detection.json", dumps(res).encode())
    atomic_write_bytes(args.out / "detection.md", markdown(res).encode())
    print(markdown(res))


if __name__ == "__main__":
    main()
