"""How well `gan-harness check` separates broken implementations from correct ones, at the `ci`
suite's full budget, against the shipped baseline baselines/ci.json (10 seeds per variant).

    python benchmarks/check_detection.py --out reports/check-detection          # train, then analyse
    python benchmarks/check_detection.py --out reports/check-detection --no-train   # analyse stored runs

1. Detection. Each mutant of tests/mutants.py trains `--mutant-seeds` fresh seeds (default 10-14)
   under the ci suite; the check against its reference variant's baseline group runs with the first
   n seeds, n = 2, 3, ...; "seeds needed" is the smallest n from which every larger n fails too.
2. False alarms. The reference variants train `--pool-seeds` fresh seeds (default 10-21); every
   3-seed subset of one variant's pool is checked against that variant's baseline group (a pass is
   the right answer), and so is every disjoint triple of all four variants at once (the whole
   suite's check). The share that fails is the measured false-alarm rate.

Writes detection.md and detection.json under --out; runs go to --runs (default runs/check-detection).
Costs about 20 minutes on a 2-core CPU (mutants 6 x 5 runs, pool 4 x 12 runs, 1,000 G steps each).
"""
from __future__ import annotations

import argparse
import itertools
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
    # override-only mutants (the reference with another lr) and the pool share variant names: separate dirs
    plain = [s for s in specs if s.variant in mutants.MUTANTS or s.variant.startswith("mutant-")]
    other = [s for s in specs if s not in plain]
    t = time.time()
    run_specs(plain, args.runs / "mutants", jobs=args.jobs, references=False)
    run_specs(other, args.runs / "mutants-override", jobs=args.jobs, references=False)
    run_specs(expand_suite(suite.with_(seeds=tuple(args.pool_seeds))), args.runs / "pool", jobs=args.jobs,
              references=False)
    print(f"trained in {time.time() - t:.0f} s", file=sys.stderr)


def _group(b, variant):
    return [g for g in b["groups"] if g["variant"] == variant]


def _subset(group, seeds):
    return {**group, "seeds": [s for s in group["seeds"] if s["seed"] in seeds]}


def _side(b, groups):
    return {**b, "groups": groups}


def analyse(args, mutants) -> dict:
    base = decode_non_finite(json.loads(Path(args.baseline).read_text()))
    runs = {}
    for sub in ("mutants", "mutants-override", "pool"):
        if (args.runs / sub).exists():
            runs[sub] = decode_non_finite(build_baseline(args.runs / sub))
    detection = []
    for name, (ref, _) in mutants.MUTANTS.items():
        variant = mutants.candidate(name)
        src = runs["mutants"] if variant != ref else runs["mutants-override"]
        (cand,) = _group(src, variant)
        (bgroup,) = _group(base, ref)
        seeds = sorted(s["seed"] for s in cand["seeds"])
        by_n = {}
        for n in range(2, len(seeds) + 1):
            r = check(_side(src, [_subset(cand, set(seeds[:n]))]), _side(base, [bgroup]),
                      pairs={variant: ref} if variant != ref else None, margin_sds=args.margin_sds)
            failed = [f"{x.metric}" for x in r.regressions] + (["exact"] if r.exact_failures else [])
            by_n[n] = {"passed": r.passed, "failed_rows": failed}
        needed = next((n for n in sorted(by_n) if all(not by_n[m]["passed"] for m in by_n if m >= n)), None)
        detection.append({"mutant": name, "reference": ref, "seeds_needed": needed, "by_n": by_n,
                          "diverged": sum(s["status"] == "diverged" for s in cand["seeds"]),
                          "n_seeds": len(seeds)})
    pool = runs["pool"]
    fa = {}
    for ref in REFERENCES:
        (cand,) = _group(pool, ref)
        (bgroup,) = _group(base, ref)
        seeds = sorted(s["seed"] for s in cand["seeds"])
        fails, total, rows = 0, 0, {}
        for trio in itertools.combinations(seeds, 3):
            r = check(_side(pool, [_subset(cand, set(trio))]), _side(base, [bgroup]), margin_sds=args.margin_sds)
            total += 1
            if not r.passed:
                fails += 1
                for x in r.regressions:
                    rows[x.metric] = rows.get(x.metric, 0) + 1
        fa[ref] = {"checks": total, "failed": fails, "rate": fails / total, "failing_rows": rows}
    # the whole suite at once: disjoint triples, all four variants
    seeds = sorted({s["seed"] for g in pool["groups"] for s in g["seeds"]})
    trios = [seeds[i:i + 3] for i in range(0, len(seeds) - 2, 3)]
    whole = []
    for trio in trios:
        r = check(_side(pool, [_subset(g, set(trio)) for g in pool["groups"]]), base, margin_sds=args.margin_sds)
        whole.append({"seeds": trio, "passed": r.passed, "failed_rows": [f"{x.label} {x.metric}" for x in r.regressions]})
    return {"baseline": str(args.baseline), "margin_sds": args.margin_sds, "mutant_seeds": list(args.mutant_seeds),
            "pool_seeds": list(args.pool_seeds), "detection": detection, "false_alarms": fa, "whole_suite": whole}


def markdown(res: dict) -> str:
    lines = ["# Regression-check detection and false alarms (ci suite)", "",
             f"Baseline `{res['baseline']}` (10 seeds per variant); margin k = {res['margin_sds']:g} seed sds; "
             f"α = 0.05. Command: `python benchmarks/check_detection.py --out reports/check-detection`.", "",
             "## Mutants (must fail)", "",
             "| mutant | checked against | seeds needed to fail | rows that failed at that many seeds | diverged runs |",
             "|---|---|---|---|---|"]
    for d in res["detection"]:
        n = d["seeds_needed"]
        rows = ", ".join(d["by_n"][str(n)]["failed_rows"] if str(n) in d["by_n"] else d["by_n"][n]["failed_rows"]) \
            if n is not None else "—"
        lines.append(f"| {d['mutant']} | {d['reference']} | {n if n is not None else 'not caught with ' + str(d['n_seeds'])} "
                     f"| {rows} | {d['diverged']}/{d['n_seeds']} |")
    lines += ["", "## False alarms (the reference on fresh seeds, must pass)", "",
              "| variant | 3-seed checks | failed | rate | rows that failed |", "|---|---|---|---|---|"]
    tot_c = tot_f = 0
    for ref, f in res["false_alarms"].items():
        tot_c += f["checks"]
        tot_f += f["failed"]
        rows = ", ".join(f"{k} ({v})" for k, v in sorted(f["failing_rows"].items())) or "—"
        lines.append(f"| {ref} | {f['checks']} | {f['failed']} | {100 * f['rate']:.1f} % | {rows} |")
    lines.append(f"| all | {tot_c} | {tot_f} | {100 * tot_f / max(tot_c, 1):.1f} % | |")
    w = res["whole_suite"]
    lines += ["", f"Whole-suite checks (all four variants, disjoint seed triples): {sum(not x['passed'] for x in w)} of "
              f"{len(w)} failed" + "".join(f"; seeds {x['seeds']}: {', '.join(x['failed_rows'])}" for x in w
                                            if not x["passed"]) + ".", ""]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--runs", type=Path, default=Path("runs/check-detection"))
    p.add_argument("--baseline", default=str(packaged_baseline("ci") or "baselines/ci.json"))
    p.add_argument("--mutant-seeds", type=parse_seeds, default=list(range(10, 15)))
    p.add_argument("--pool-seeds", type=parse_seeds, default=list(range(10, 22)))
    p.add_argument("--margin-sds", type=float, default=8.0)
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
