"""How well `gan-harness check` separates broken implementations from correct ones, at the `ci`
suite's full budget, against the shipped baseline baselines/ci.json (10 seeds per variant).

    python benchmarks/check_detection.py --out reports/check-detection          # train, then analyse
    python benchmarks/check_detection.py --out reports/check-detection --no-train   # analyse stored runs

1. Detection. Each mutant of tests/mutants.py trains `--mutant-seeds` seeds (default 10-14) under
   the ci suite; the check against its reference variant's baseline group runs with the first n
   seeds, n = 2, 3, ...; "seeds needed" is the smallest n from which every larger n fails too.
2. False alarms. Leave-three-out over the baseline's own 22 seeds per variant: every 3-seed subset
   is checked against the other 19 seeds (all of one implementation on one machine, so a failure is
   a false alarm), and 4-seed subsets of all four variants at once (the whole suite's check).

Writes detection.md and detection.json under --out; runs go to --runs (default runs/check-detection).
Training costs about 10 minutes on a 2-core CPU (6 mutants x 5 runs, 1,000 G steps each); the analysis a few.
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


def analyse(args, mutants) -> dict:
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
        by_n = {}
        for n in range(2, len(seeds) + 1):
            r = check(_side(src, [_subset(cand, set(seeds[:n]))]), _side(base, [bgroup]),
                      pairs={variant: ref} if variant != ref else None, margin_sds=args.margin_sds,
                      statistic=args.statistic)
            failed = [f"{x.metric}" for x in r.regressions] + (["exact"] if r.exact_failures else [])
            by_n[n] = {"passed": r.passed, "failed_rows": failed}
        needed = next((n for n in sorted(by_n) if all(not by_n[m]["passed"] for m in by_n if m >= n)), None)
        detection.append({"mutant": name, "reference": ref, "seeds_needed": needed, "by_n": by_n,
                          "diverged": sum(s["status"] == "diverged" for s in cand["seeds"]),
                          "n_seeds": len(seeds)})
    # false alarms: leave-k-out over the baseline's own seeds. Each check takes k seeds of a variant as
    # the candidate and the other seeds as the baseline: seeds of one implementation on one machine,
    # exchangeable by construction, so every failure is a false alarm.
    import random

    fa = {}
    for ref in REFERENCES:
        (g,) = _group(base, ref)
        seeds = sorted(s["seed"] for s in g["seeds"])
        fails, total, rows = 0, 0, {}
        trios = list(itertools.combinations(seeds, 3))
        for trio in random.Random(1).sample(trios, min(args.fa_draws, len(trios))):
            rest = set(seeds) - set(trio)
            r = check(_side(base, [_subset(g, set(trio))]), _side(base, [_subset(g, rest)]),
                      margin_sds=args.margin_sds, statistic=args.statistic)
            total += 1
            if not r.passed:
                fails += 1
                for x in r.regressions:
                    rows[x.metric] = rows.get(x.metric, 0) + 1
        fa[ref] = {"checks": total, "failed": fails, "rate": fails / total, "failing_rows": rows}
    rng = random.Random(0)
    seeds = sorted({s["seed"] for g in base["groups"] for s in g["seeds"]})
    whole = {"checks": 0, "failed": 0, "k": 4, "failing_rows": {}}
    for _ in range(args.whole_draws):
        pick = set(rng.sample(seeds, 4))
        r = check(_side(base, [_subset(g, pick) for g in base["groups"]]),
                  _side(base, [_subset(g, set(seeds) - pick) for g in base["groups"]]),
                  margin_sds=args.margin_sds, statistic=args.statistic)
        whole["checks"] += 1
        if not r.passed:
            whole["failed"] += 1
            for x in r.regressions:
                key = f"{x.label} {x.metric}"
                whole["failing_rows"][key] = whole["failing_rows"].get(key, 0) + 1
    return {"baseline": Path(args.baseline).name, "statistic": args.statistic, "margin_sds": args.margin_sds,
            "mutant_seeds": list(args.mutant_seeds), "detection": detection, "false_alarms": fa, "whole_suite": whole}


def markdown(res: dict) -> str:
    how = ("exact Mann-Whitney tests, Bonferroni over the check's rows (the default)" if res["statistic"] == "rank"
           else f"Welch bounds, margin k = {res['margin_sds']:g} seed sds")
    lines = ["# Regression-check detection and false alarms (ci suite)", "",
             f"Baseline `baselines/{res['baseline']}` ({how}; α = 0.05). "
             "Command: `python benchmarks/check_detection.py --out reports/check-detection`.", "",
             "## Mutants (must fail)", "",
             f"Each mutant trained seeds {res['mutant_seeds'][0]}-{res['mutant_seeds'][-1]} under the ci suite; the "
             "check ran with its first n seeds against its reference variant's 22 baseline seeds.", "",
             "| mutant | checked against | seeds needed to fail | rows that failed at that many seeds | diverged runs |",
             "|---|---|---|---|---|"]
    for d in res["detection"]:
        n = d["seeds_needed"]
        by_n = {int(k): v for k, v in d["by_n"].items()}
        rows = ", ".join(by_n[n]["failed_rows"]) if n is not None else "—"
        lines.append(f"| {d['mutant']} | {d['reference']} | {n if n is not None else 'not caught with ' + str(d['n_seeds'])} "
                     f"| {rows} | {d['diverged']}/{d['n_seeds']} |")
    lines += ["", "## False alarms (the reference against itself, must pass)", "",
              "Leave-three-out over the baseline's 22 seeds of each variant: a 3-seed subset is the candidate, "
              "the other 19 seeds the baseline (random subsets out of the C(22, 3) = 1,540, fixed seed).", "",
              "| variant | 3-seed checks | failed | rate | rows that failed |", "|---|---|---|---|---|"]
    tot_c = tot_f = 0
    for ref, f in res["false_alarms"].items():
        tot_c += f["checks"]
        tot_f += f["failed"]
        rows = ", ".join(f"{k} ({v})" for k, v in sorted(f["failing_rows"].items())) or "—"
        lines.append(f"| {ref} | {f['checks']} | {f['failed']} | {100 * f['rate']:.1f} % | {rows} |")
    lines.append(f"| all | {tot_c} | {tot_f} | {100 * tot_f / max(tot_c, 1):.1f} % | |")
    w = res["whole_suite"]
    rows = ", ".join(f"{k} ({v})" for k, v in sorted(w["failing_rows"].items())) or "none"
    lines += ["", f"Whole-suite checks (all four variants at once, {w['k']} random common seeds as the candidate, "
              f"the other 18 as the baseline): {w['failed']} of {w['checks']} failed "
              f"({100 * w['failed'] / max(w['checks'], 1):.1f} %); failing rows: {rows}.", ""]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--runs", type=Path, default=Path("runs/check-detection"))
    p.add_argument("--baseline", default=str(packaged_baseline("ci") or "baselines/ci.json"))
    p.add_argument("--mutant-seeds", type=parse_seeds, default=list(range(10, 15)))
    p.add_argument("--margin-sds", type=float, default=8.0)
    p.add_argument("--statistic", default="rank")
    p.add_argument("--whole-draws", type=int, default=200)
    p.add_argument("--fa-draws", type=int, default=400, help="3-seed subsets per variant (of C(22, 3) = 1,540)")
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
