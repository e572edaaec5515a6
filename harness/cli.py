"""The ``gan-harness`` command: run, evaluate, report, record, check, list.

Bad input gets one line on stderr naming the problem and exit status 2, before any work starts.
``check`` exits 0 when the candidate passes, 1 when something regresses and 3 when rows could not
be judged with the seeds given (INCONCLUSIVE; ``--allow-inconclusive`` makes that 0).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from pathlib import Path
from typing import Any, Sequence

from .errors import HarnessError

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + error
        raise HarnessError(message)


def _csv(value: str) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise HarnessError(f"expected a comma-separated list, got {value!r}")
    return items


def parse_datasets(value: str) -> list[str]:
    """Comma-separated data sets, where a mixture's own key=value items stay with it:
    'ring8,ring:modes=8,radius=1,sigma=0.01,grid25' -> ['ring8', 'ring:modes=8,radius=1,sigma=0.01', 'grid25']."""
    items: list[str] = []
    for part in value.split(","):
        key, eq, _ = part.partition("=")
        if eq and ":" not in key and items and ":" in items[-1]:
            items[-1] += "," + part.strip()
        elif part.strip():
            items.append(part.strip())
    if not items:
        raise HarnessError(f"expected a comma-separated list, got {value!r}")
    return items


def parse_seeds(value: str) -> list[int]:
    """'0,1,2' or '0-4' (inclusive) or a mix: '0-2,7'."""
    seeds: list[int] = []
    for part in _csv(value):
        try:
            if "-" in part[1:]:
                lo, hi = part.split("-", 1)
                a, b = int(lo), int(hi)
                if b < a:
                    raise ValueError
                seeds.extend(range(a, b + 1))
            else:
                seeds.append(int(part))
        except ValueError:
            raise HarnessError(f"--seeds: cannot parse {part!r} (use e.g. 0,1,2 or 0-4)") from None
    if any(s < 0 for s in seeds):
        raise HarnessError("--seeds: seeds must be non-negative")
    return sorted(set(seeds))


def _check_out_dir(path: Path, flag: str) -> None:
    if path.exists() and not path.is_dir():
        raise HarnessError(f"{flag} {path} is a file, not a directory")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise HarnessError(f"{flag} {path}: {parent} is a file, not a directory")
            break


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="gan-harness", description="GAN stability evaluation harness")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    r = sub.add_parser("run", help="train a suite of runs (default: the quick suite) and write its report")
    r.add_argument("--suite", default=None, help="built-in suite to start from (default: quick)")
    r.add_argument("--variants", type=_csv,
                   help="comma-separated variants (replaces the suite's); case-insensitive, display spellings "
                        "such as WGAN-GP, SN-GAN accepted")
    r.add_argument("--datasets", type=parse_datasets,
                   help="comma-separated data sets (replaces the suite's): names (`gan-harness list datasets`, "
                        "case-insensitive) or mixtures such as ring:modes=8,radius=1,sigma=0.01")
    r.add_argument("--seeds", type=parse_seeds, help="seeds, e.g. 0,1,2 or 0-4 (replaces the suite's)")
    r.add_argument("--setting", default=None,
                   help="named hyper-parameter setting of every run, or a tuned setting file (*.json, from "
                        "`gan-harness tune`) (default: the suite's; see `gan-harness list settings`), e.g. authors "
                        "for each variant's published image-scale values")
    r.add_argument("--steps", type=str, help="G steps per run (same as --set steps=N)")
    r.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                   help="override any hyper-parameter, repeatable (see `gan-harness list keys`)")
    r.add_argument("--grid", dest="grids", action="append", default=[], metavar="NAME=V1,V2,...",
                   help="sweep a hyper-parameter over values, repeatable: every point of the Cartesian product "
                        "runs every seed (report: best point and median over points per variant)")
    r.add_argument("--out", type=Path, help="runs directory (default: runs/<suite>)")
    r.add_argument("--report-out", type=Path,
                   help="report directory (default: reports/<suite> when the suite runs exactly as defined, "
                        "else <out>/report)")
    r.add_argument("--no-report", action="store_true", help="do not write a report at the end")
    r.add_argument("--allow-dirty", action="store_true",
                   help="write the report into the checkout's committed reports/ folder even from a working tree "
                        "with uncommitted changes (the report says so)")
    r.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    r.add_argument("--jobs", type=int, default=None, help="parallel worker processes (default: CPU count, 1 on cuda)")
    r.add_argument("--threads", type=int, default=1, help="torch threads per run (default 1)")
    r.add_argument("--vectorize", action="store_true",
                   help="train each config's seeds as one batched model (MLP networks; same as --set vectorize=true)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--executor", default="local",
                   help="local (default: a process pool) or ray (Ray tasks: a cluster started here, or --address)")
    r.add_argument("--address", default=None, help="--executor ray: an existing cluster, HOST:PORT (or auto)")
    r.add_argument("--ray-option", dest="ray_options", action="append", default=[], metavar="NAME=VALUE",
                   help="--executor ray: num_cpus, num_gpus (per run), max_retries, namespace, runtime_env (JSON), "
                        "temp_dir (repeatable)")
    r.add_argument("--plugin", dest="plugins", action="append", default=[], metavar="MODULE_OR_FILE",
                   help="import a module or .py file that registers variants/parts first (repeatable)")

    t = sub.add_parser("tune", help="a fair fight: tune every variant on its own knobs with the same N points "
                                    "(published values included) on tuning seeds, then train the chosen points on "
                                    "disjoint report seeds; writes a tuned setting file and the study report")
    t.add_argument("--suite", default=None, help="suite whose variants, data sets, budget and report seeds the study "
                                                 "uses (default: quick)")
    t.add_argument("--variants", type=_csv, help="comma-separated variants (replaces the suite's)")
    t.add_argument("--datasets", type=parse_datasets, help="comma-separated data sets (replaces the suite's)")
    t.add_argument("--n", type=int, default=12, help="configurations per variant and data set, the same for every "
                                                    "variant, published points included (default 12)")
    t.add_argument("--tuning-seeds", type=parse_seeds, default=[1000],
                   help="seeds the points are trained on for selection (default 1000); disjoint from --report-seeds")
    t.add_argument("--finalists", type=int, default=3,
                   help="the best F points of each variant on the tuning seeds are also trained on --final-seeds, "
                        "and the choice is the best by the mean over all their seeds (default 3; 0: choose on the "
                        "tuning seeds alone)")
    t.add_argument("--final-seeds", type=parse_seeds, default=None,
                   help="seeds the finalists are also trained on (default 1001,1002)")
    t.add_argument("--report-seeds", type=parse_seeds, default=None,
                   help="seeds the chosen points are trained on for the report (default: 0-4)")
    t.add_argument("--setting", default="authors",
                   help="base setting: the values a point does not set (default authors: each variant's own optimiser)")
    t.add_argument("--incumbent", default=None,
                   help="a plain setting whose regime is one more point of every variant, each part's weight (lambda, "
                        "c) at the variant's published value (default: the suite's own setting, e.g. 2d; 'none': no "
                        "such point)")
    t.add_argument("--knobs", type=_csv, default=None, help="tune only these knobs (default: every declared knob)")
    t.add_argument("--range", dest="ranges", action="append", default=[], metavar="KNOB=LOW:HIGH[:log|linear]",
                   help="replace a knob's declared range (or KNOB=a|b|c for choices), repeatable")
    t.add_argument("--objective", default=None,
                   help="METRIC[,TIEBREAK] selection maximises in its good direction (default per data set: "
                        "modes_covered_k,hq_fraction where modes are counted)")
    t.add_argument("--sampler-seed", type=int, default=0, help="seed of the quasi-random sample (default 0)")
    t.add_argument("--steps", type=str, help="G steps per run (same as --set steps=N)")
    t.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                   help="override a hyper-parameter of every run (a knob may not be set: it is tuned)")
    t.add_argument("--name", default=None, help="name of the tuned setting (default tuned-<suite>)")
    t.add_argument("--out", type=Path, help="runs directory (default runs/tune-<suite>)")
    t.add_argument("--setting-out", type=Path, help="tuned setting file to write (default <out>/<name>.json)")
    t.add_argument("--report-out", type=Path, help="study report directory (default <out>/report)")
    t.add_argument("--no-report", action="store_true", help="no study report")
    t.add_argument("--allow-dirty", action="store_true",
                   help="write the study report into the checkout's committed reports/ folder from a working tree "
                        "with uncommitted changes (the report says so)")
    t.add_argument("--device", default="cpu", help="cpu (default), cuda or cuda:N")
    t.add_argument("--jobs", type=int, default=None, help="parallel worker processes (default: CPU count, 1 on cuda)")
    t.add_argument("--threads", type=int, default=1, help="torch threads per run (default 1)")
    t.add_argument("--vectorize", action="store_true", help="train each point's seeds as one batched model")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument("--executor", default="local", help="local (default) or ray")
    t.add_argument("--address", default=None, help="--executor ray: an existing cluster, HOST:PORT (or auto)")
    t.add_argument("--ray-option", dest="ray_options", action="append", default=[], metavar="NAME=VALUE",
                   help="--executor ray options, as for run (repeatable)")
    t.add_argument("--plugin", dest="plugins", action="append", default=[], metavar="MODULE_OR_FILE",
                   help="import a module or .py file that registers variants/parts (and declares their knobs) first")

    e = sub.add_parser("evaluate", help="score samples from any GAN; prints one JSON object")
    e.add_argument("samples", type=Path, help="an .npy, .npz or .pt file of samples")
    e.add_argument("--dataset", required=True,
                   help="data set the samples imitate: a name or a mixture such as ring:modes=8,radius=1,sigma=0.01")
    e.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                   help="evaluation options, e.g. n_w1=500, features=...")
    e.add_argument("--device", default="cpu")

    rep = sub.add_parser("report", help="statistics, tables and figures from stored runs")
    rep.add_argument("runs_dir", type=Path)
    rep.add_argument("--out", type=Path, required=True, help="report directory")
    rep.add_argument("--allow-dirty", action="store_true",
                     help="write into the checkout's committed reports/ folder even when the runs come from a "
                          "working tree with uncommitted changes (the report says so)")
    rep.add_argument("--format", default="md,tex,html,csv", type=_csv, help="comma-separated: md,tex,html,csv")
    rep.add_argument("--metrics", type=_csv, default=None, help="metrics to tabulate (default: all present)")
    rep.add_argument("--level", type=float, default=0.05, help="significance level (default 0.05)")
    rep.add_argument("--test", default="mannwhitney", help="mannwhitney (default) or welch")
    rep.add_argument("--x-axis", default="g_steps", help="curves against g_steps (default), d_steps or wall_time")
    rep.add_argument("--snapshot-seed", type=int, default=None,
                     help="seed the snapshot, mode-occupancy and sample figures show (default: each variant's first)")
    rep.add_argument("--baseline", default=None,
                     help="reference variant: first row of every table, differences measured against it "
                          "(default: vanilla where it ran)")

    rec = sub.add_parser("record", help="record a baseline: one small JSON file summarising a runs directory")
    rec.add_argument("runs_dir", type=Path)
    rec.add_argument("--out", type=Path, required=True, help="baseline file to write (JSON)")
    rec.add_argument("--judge-seeds", type=int, default=4, metavar="K",
                     help="warn for each group with too few seeds to judge a check of K candidate seeds (default 4)")

    chk = sub.add_parser("check", help="regression check: does a candidate (runs directory, baseline file or sample "
                                        "files) behave like a baseline? exit 0 pass, 1 regression, 2 bad input, "
                                        "3 inconclusive (too few seeds to judge)")
    chk.add_argument("candidate", nargs="?", type=Path, help="runs directory or recorded baseline file")
    chk.add_argument("--baseline", type=Path, default=None,
                     help="recorded baseline file, runs directory, or the name of a shipped baseline (ci, quick)")
    chk.add_argument("--test", default="noninferiority",
                     help="noninferiority (default: Welch one-sided lower bound > -margin) or equivalence (TOST)")
    chk.add_argument("--statistic", default="permutation",
                     help="permutation (default: one joint permutation test over all rows, Westfall-Young min-p "
                          "step-down: at most --alpha false alarms for any distribution of seeds), rank (exact "
                          "Mann-Whitney per row, Bonferroni over the rows) or mean (Welch's t bounds with a margin "
                          "of --margin-sds seed sds)")
    chk.add_argument("--alpha", type=float, default=0.05, help="level (default 0.05)")
    chk.add_argument("--margin-sds", type=float, default=None,
                     help="--statistic mean: margin in baseline seed sds (default 8: about 5%% false alarms per row with "
                          "3 against 3 seeds)")
    chk.add_argument("--margin", dest="margins", action="append", default=[], metavar="METRIC=VALUE",
                     help="margin of one metric in its own units, repeatable (rank: a tolerated shift; mean: replaces "
                          "the sd-based one)")
    chk.add_argument("--out", type=Path, help="also write check.json and check.md into this directory")
    chk.add_argument("--allow-inconclusive", action="store_true",
                     help="exit 0 instead of 3 when rows could not be judged with these seeds (the verdict still says "
                          "INCONCLUSIVE)")
    chk.add_argument("--dataset", help="samples mode: the data set the --samples imitate (a name or a mixture)")
    chk.add_argument("--samples", nargs="+", type=Path, metavar="FILE",
                     help="samples mode: one .npy/.npz/.pt file of final samples per seed (n_eval samples each)")
    chk.add_argument("--against", metavar="VARIANT",
                     help="samples and training modes: the baseline variant (or VARIANT/POINT) to compare with")
    chk.add_argument("--variant", help="training mode: train this variant under --suite and check it --against a "
                                       "reference variant (trained beside it, or from --baseline)")
    chk.add_argument("--suite", default=None, help="training mode: the suite whose protocol both sides run (default ci)")
    chk.add_argument("--seeds", type=parse_seeds, help="training mode: seeds (default: the suite's)")
    chk.add_argument("--datasets", type=_csv, help="training mode: data sets (default: the suite's)")
    chk.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE",
                     help="training mode: override a hyper-parameter of --variant only (repeatable)")
    chk.add_argument("--steps", type=str, help="training mode: G steps of both sides (the suite's budget otherwise)")
    chk.add_argument("--runs-out", type=Path, help="training mode: where the runs go (default: a new temporary "
                                                   "directory; a given one is reused, finished runs are not retrained)")
    chk.add_argument("--jobs", type=int, default=None, help="training mode: worker processes (default: CPU count)")
    chk.add_argument("--no-behaviour", action="store_true",
                     help="compare final metrics only, not the training-behaviour summaries (probe: rows)")
    chk.add_argument("--plugin", dest="plugins", action="append", default=[], metavar="MODULE_OR_FILE",
                     help="import a module or .py file that registers variants/parts first (repeatable)")
    chk.add_argument("--quiet", action="store_true", help="training mode: no progress bar")
    chk.add_argument("--device", default="cpu", help="device of the evaluator and of training (default cpu)")

    ls = sub.add_parser("list", help="list variants, data sets, suites, metrics, config keys")
    ls.add_argument("what", nargs="?", default="all", choices=["all", "variants", "datasets", "suites", "settings", "metrics", "keys"])
    return p


# ----------------------------------------------------------------------------- commands
def parse_grid(items: list[str], overrides: dict[str, Any]) -> dict[str, list[Any]]:
    """``--grid name=v1,v2`` (repeatable) -> {name: [typed values]}; a key may not also be --set.
    Tied keys, ``--grid lr_g,lr_d=1e-3,2e-3``, take the same value at each point (key "lr_g,lr_d")."""
    from .spec import FIELDS, _coerce, unknown_key_message

    grid: dict[str, list[Any]] = {}
    seen: set[str] = set()
    for item in items:
        if "=" not in item:
            raise HarnessError(f"--grid {item!r}: expected name=v1,v2,... (or tied names: a,b=v1,v2,...)")
        key, values = (x.strip() for x in item.split("=", 1))
        names = [k.strip() for k in key.split(",")]
        for name in names:
            if name not in FIELDS:
                raise HarnessError(unknown_key_message(name, sorted(FIELDS), what="--grid key"))
            if name in seen:
                raise HarnessError(f"--grid {name} is given twice; list all its values once: {name}=v1,v2,...")
            if name in overrides:
                raise HarnessError(f"{name} is given both with --grid and with --set/--steps; use one of them")
            seen.add(name)
        parts = [v.strip() for v in values.split(",")]
        if not any(parts):
            raise HarnessError(f"--grid {key}: empty list of values")
        if not all(parts):
            raise HarnessError(f"--grid {key}={values}: empty value in the list")
        typed = [_coerce(names[0], v) for v in parts]
        for name in names[1:]:
            [_coerce(name, v) for v in parts]
        if len(set(map(str, typed))) != len(typed):
            raise HarnessError(f"--grid {key}={values}: a value is listed twice")
        grid[",".join(names)] = typed
    return grid


def default_report_dir(defined: Any, suite: Any, out: Path, changed: bool, device: str) -> Path:
    """Where `run` writes its report without --report-out: ``reports/<suite>`` (the committed
    example report) only when the suite runs exactly as defined -- same variants, data sets, seeds
    and setting, no --set/--steps/--grid, runs in the default ``runs/<suite>``, on the CPU; otherwise
    ``<out>/report``, beside the runs it describes."""
    as_defined = (suite == defined and not changed and Path(out) == Path("runs") / defined.name
                  and device == "cpu")
    return Path("reports") / defined.name if as_defined else Path(out) / "report"


def _check_executor(args: argparse.Namespace) -> Any:
    """--executor, --address, --ray-option: usable, or one line before any work (harness.executors)."""
    from .executors import RayOptions, check_executor

    check_executor(args.executor, args.address)
    if args.ray_options and args.executor != "ray":
        raise HarnessError("--ray-option applies to --executor ray only")
    return RayOptions.parse(args.ray_options) if args.executor == "ray" else None


DIRAC_SUITE = "dirac"
DIRAC_DESCRIPTION = ("Dirac-GAN convergence table (Mescheder et al. 2018): every variant and update scheme on "
                     "D(x) = psi x, G = theta; measured vs closed-form update eigenvalues, outcome vs the paper "
                     "(seconds; writes reports/dirac)")


def _run_dirac(args: argparse.Namespace) -> int:
    """`run --suite dirac`: the table is its own protocol (harness.dirac); the options that choose
    variants, data sets, seeds, settings or budgets do not apply and are refused in one line."""
    given = [flag for flag, value in (("--variants", args.variants), ("--datasets", args.datasets),
                                      ("--seeds", args.seeds), ("--setting", args.setting), ("--set", args.sets),
                                      ("--steps", args.steps), ("--grid", args.grids), ("--vectorize", args.vectorize),
                                      ("--out", args.out), ("--no-report", args.no_report)) if value]
    if given:
        raise HarnessError(f"--suite dirac has a fixed protocol (harness/dirac.py); it takes no {', '.join(given)}")
    from .dirac import write_dirac_report

    files = write_dirac_report(args.report_out or Path("reports") / DIRAC_SUITE, allow_dirty=args.allow_dirty)
    for name, path in files.items():
        print(f"{name}: {path}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .spec import parse_set
    from .suite import SUITES, default_jobs, expand_suite, plan, run_specs

    from .data import canonical_dataset
    from .plugins import load_plugins
    from .variant import canonical_variant

    load_plugins(args.plugins)
    if (args.suite or "").lower() == DIRAC_SUITE:
        return _run_dirac(args)
    defined = SUITES.get(args.suite or "quick")
    suite = defined
    changes: dict[str, Any] = {}
    if args.variants:  # canonical names (SN-GAN -> sngan, RING8 -> ring8), each once
        changes["variants"] = tuple(dict.fromkeys(canonical_variant(v) for v in args.variants))
    if args.datasets:
        changes["datasets"] = tuple(dict.fromkeys(canonical_dataset(d) for d in args.datasets))
    if args.seeds:
        changes["seeds"] = tuple(args.seeds)
    if args.setting is not None:
        from .settings import get_setting

        changes["setting"] = get_setting(args.setting).name
    suite = suite.with_(**changes) if changes else suite
    overrides = parse_set(args.sets)
    if args.steps is not None:
        overrides.update(parse_set([f"steps={args.steps}"]))
    if args.vectorize:
        overrides["vectorize"] = True
    grid = parse_grid(args.grids, overrides)
    out = args.out or Path("runs") / suite.name
    report_out = args.report_out or default_report_dir(defined, suite, out, bool(overrides or grid), args.device)
    _check_out_dir(out, "--out")
    if not args.no_report:
        _check_out_dir(report_out, "--report-out")
        if not args.allow_dirty:  # the runs will carry this tree's commit: refuse before training them
            from .runs import dirty_refusal, git_commit

            refusal = dirty_refusal([git_commit() or ""], report_out)
            if refusal:
                raise HarnessError(refusal)
    if args.jobs is not None and args.jobs < 1:
        raise HarnessError(f"--jobs must be >= 1, got {args.jobs}")
    if args.threads < 1:
        raise HarnessError(f"--threads must be >= 1, got {args.threads}")
    specs = expand_suite(suite, overrides, device=args.device, grid=grid)  # validates every name and value
    plan(specs, out)  # refuses directories holding other configs, before any work
    jobs = args.jobs or (1 if args.device.startswith("cuda") else default_jobs())
    ray_options = _check_executor(args)
    print(f"suite {suite.name}: {len(specs)} runs -> {out} (setting {suite.setting}, jobs={jobs}, "
          f"device={args.device})", file=sys.stderr)
    from .resolve import override_note

    for v, d in dict.fromkeys((s.variant, s.dataset) for s in specs):
        note = override_note(v, d, suite.setting)
        if note:
            print(note, file=sys.stderr)
    if args.address is not None and args.jobs is None:
        jobs = 0  # on a cluster its CPUs decide how many runs go at once
    results = run_specs(specs, out, jobs=jobs, threads=args.threads, progress=not args.quiet,
                        executor=args.executor, address=args.address, ray_options=ray_options)
    counts: dict[str, int] = {}
    for res in results:
        counts[res["status"]] = counts.get(res["status"], 0) + 1
    print("runs: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())), file=sys.stderr)
    for res in results:
        if res["status"] in ("diverged", "failed"):
            print(f"  {res['run_id']}: {res['status']} at step {res['step']}: {res['reason']}", file=sys.stderr)
    if not args.no_report:
        from .report import write_report

        files = write_report(out, report_out, allow_dirty=args.allow_dirty)
        print(f"report: {files.get('md', report_out)}", file=sys.stderr)
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    from .data import canonical_dataset
    from .plugins import load_plugins
    from .settings import get_setting
    from .space import Knob
    from .spec import parse_set
    from .suite import SUITES, default_jobs
    from .tune import Objective, Study, run_study
    from .variant import canonical_variant

    load_plugins(args.plugins)
    suite = SUITES.get(args.suite or "quick")
    changes: dict[str, Any] = {"setting": get_setting(args.setting).name,
                               "seeds": tuple(args.report_seeds or range(5))}
    if args.variants:
        changes["variants"] = tuple(dict.fromkeys(canonical_variant(v) for v in args.variants))
    if args.datasets:
        changes["datasets"] = tuple(dict.fromkeys(canonical_dataset(d) for d in args.datasets))
    suite = suite.with_(**changes)
    overrides = parse_set(args.sets)
    if args.steps is not None:
        overrides.update(parse_set([f"steps={args.steps}"]))
    if args.vectorize:
        overrides["vectorize"] = True
    study = Study(suite, n=args.n, tuning_seeds=tuple(args.tuning_seeds), overrides=overrides,
                  ranges=tuple(Knob.parse(r) for r in args.ranges), knobs=tuple(args.knobs) if args.knobs else None,
                  objective=Objective.parse(args.objective) if args.objective else None,
                  sampler_seed=args.sampler_seed, device=args.device, name=args.name or "",
                  incumbent=_incumbent(args.incumbent, suite), finalists=args.finalists,
                  final_seeds=tuple(args.final_seeds or ((1001, 1002) if args.finalists else ())))
    from .tune import plan_study

    for (v, d), (knobs, _) in plan_study(study).items():  # every name, range and count checked before work
        tuned = sorted({k.name for k in knobs} & set(overrides))
        if tuned:
            raise HarnessError(f"--set {', '.join(tuned)}: a tuned knob of {v} cannot also be fixed (use --knobs "
                               f"to tune fewer)")
    out = args.out or Path("runs") / f"tune-{suite.name}"
    _check_out_dir(out, "--out")
    setting_out = args.setting_out or out / f"{study.setting_name}.json"
    report_out = None if args.no_report else (args.report_out or out / "report")
    if report_out is not None:
        _check_out_dir(report_out, "--report-out")
        if not args.allow_dirty:  # before any training: the runs will carry this tree's commit
            from .runs import dirty_refusal, git_commit

            refusal = dirty_refusal([git_commit() or ""], report_out)
            if refusal:
                raise HarnessError(refusal)
    if args.jobs is not None and args.jobs < 1:
        raise HarnessError(f"--jobs must be >= 1, got {args.jobs}")
    jobs = args.jobs or (1 if args.device.startswith("cuda") else default_jobs())
    ray_options = _check_executor(args)
    files = run_study(study, out, setting_out=setting_out, report_out=report_out, jobs=jobs, threads=args.threads,
                      allow_dirty=args.allow_dirty,
                      progress=not args.quiet, executor=args.executor, address=args.address,
                      ray_options=ray_options, command="gan-harness tune " + " ".join(sys.argv[2:]))
    for name, path in files.items():
        if name in ("setting", "md", "figure") or name == "report-seeds md":
            print(f"{name}: {path}", file=sys.stderr)
    return 0


def _incumbent(name: str | None, suite: Any) -> str | None:
    """--incumbent: 'none', a setting's name, or by default the suite's own setting when it is a
    plain one other than the base (a suite under a tuned setting: that study's incumbent, so the
    study's command reproduces its points)."""
    from .settings import get_setting
    from .suite import SUITES

    if name is not None:
        return None if name.lower() == "none" else get_setting(name).name
    own = get_setting(SUITES.get(suite.name).setting)
    if own.per_variant:
        return own.provenance.get("incumbent_setting")
    return None if own.name == suite.setting else own.name


def _json_safe(metrics: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    notes = []
    for k, v in metrics.items():
        if isinstance(v, float) and not math.isfinite(v):
            out[k] = None
            notes.append(f"{k} is {v} (undefined)" if k != "reverse_kl" else "reverse_kl undefined: no high-quality sample")
        else:
            out[k] = v
    if notes:
        out["warnings"] = notes
    return out


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate_samples
    from .spec import parse_set

    metrics = evaluate_samples(args.samples, args.dataset, parse_set(args.sets), device=args.device)
    print(json.dumps(_json_safe(metrics), sort_keys=False))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    _check_out_dir(args.out, "--out")
    files = write_report(args.runs_dir, args.out, formats=tuple(args.format), metrics=args.metrics,
                         level=args.level, test=args.test, x_axis=args.x_axis,
                         snapshot_seed=args.snapshot_seed, allow_dirty=args.allow_dirty, baseline=args.baseline)
    for kind, path in files.items():
        if not kind.startswith("figure:"):
            print(f"{kind}: {path}")
    n_fig = sum(k.startswith("figure:") for k in files)
    if n_fig:
        print(f"figures: {n_fig} files in {args.out}")
    return 0


def cmd_record(args: argparse.Namespace) -> int:
    from .baseline import record_baseline

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        baseline = record_baseline(args.runs_dir, args.out, args.judge_seeds)
    for w in caught:  # only once the baseline is written: a refusal stays one line
        print(f"gan-harness: warning: {str(w.message).splitlines()[0]}", file=sys.stderr)
    n_seeds = sum(len(g["seeds"]) for g in baseline["groups"])
    print(f"baseline: {args.out} ({len(baseline['groups'])} groups, {n_seeds} runs, "
          f"{len(baseline['references'])} reference rows)")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from .check import check, check_samples, parse_margins, write_check

    if args.out is not None:
        _check_out_dir(args.out, "--out")
    options: dict[str, Any] = {"test": args.test, "alpha": args.alpha, "margins": parse_margins(args.margins),
                               "statistic": args.statistic}
    if args.margin_sds is not None:
        options["margin_sds"] = args.margin_sds
    from .check import check_variant, resolve_baseline_arg
    from .plugins import load_plugins

    options["behaviour"] = not args.no_behaviour
    training_only = [(flag, value) for flag, value in (
        ("--suite", args.suite), ("--seeds", args.seeds), ("--datasets", args.datasets), ("--set", args.sets or None),
        ("--runs-out", args.runs_out), ("--jobs", args.jobs), ("--steps", args.steps)) if value is not None]
    baseline = resolve_baseline_arg(args.baseline) if args.baseline is not None else None
    if args.variant is not None:
        if args.candidate is not None or args.samples:
            raise HarnessError("--variant (training mode) takes no CANDIDATE and no --samples")
        if not args.against:
            raise HarnessError("--variant needs --against REFERENCE_VARIANT (e.g. --against wgan-gp)")
        if args.dataset is not None:
            raise HarnessError("--dataset applies to --samples mode; in training mode use --datasets")
        if args.jobs is not None and args.jobs < 1:
            raise HarnessError(f"--jobs must be >= 1, got {args.jobs}")
        if args.runs_out is not None:
            _check_out_dir(args.runs_out, "--runs-out")
    else:
        if training_only:
            raise HarnessError(f"{training_only[0][0]} applies to training mode (--variant) only")
        if baseline is None:
            raise HarnessError("--baseline is required (a recorded baseline file, a runs directory, or a shipped "
                               "baseline name: ci, quick)")
        if args.samples:
            options.pop("behaviour")  # sample files carry no training history
    if args.samples:
        if args.candidate is not None:
            raise HarnessError(f"give either a CANDIDATE ({args.candidate}) or --samples, not both")
        if not args.dataset:
            raise HarnessError("--samples needs --dataset (the data set the samples imitate)")
    elif args.variant is None:
        if args.candidate is None:
            raise HarnessError("give a CANDIDATE (runs directory or baseline file), --dataset D --samples FILE ..., or "
                               "--variant V --against REF")
        for flag, value in (("--dataset", args.dataset), ("--against", args.against)):
            if value is not None:
                raise HarnessError(f"{flag} applies to --samples and --variant modes only")
    load_plugins(args.plugins)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if args.variant is not None:
            from .spec import parse_set
            from .suite import default_jobs

            jobs = args.jobs or (1 if args.device.startswith("cuda") else default_jobs())
            result = check_variant(args.variant, args.against, suite=args.suite or "ci", seeds=args.seeds,
                                   datasets=args.datasets, baseline=baseline, runs_out=args.runs_out,
                                   overrides=parse_set(args.sets), jobs=jobs, device=args.device,
                                   suite_overrides=parse_set([f"steps={args.steps}"]) if args.steps else None,
                                   progress=not args.quiet, **options)
        elif args.samples:
            result = check_samples(args.samples, args.dataset, baseline, against=args.against,
                                   device=args.device, **options)
        else:
            result = check(args.candidate, baseline, **options)
        files = write_check(result, args.out) if args.out is not None else {}
    for w in caught:  # only once the check is done: a refusal stays one line
        print(f"gan-harness: warning: {str(w.message).splitlines()[0]}", file=sys.stderr)
    print(result.to_text(), end="")
    if files:
        print(f"written: {files['md']}, {files['json']}")
    if result.inconclusive and args.allow_inconclusive:
        return 0
    return result.exit_status


def cmd_list(args: argparse.Namespace) -> int:
    from .data import DATASETS
    from .metrics import METRICS
    from .spec import FIELDS
    from .suite import SUITES
    from .variant import get_variant, variant_names

    what = args.what
    if what in ("all", "variants"):
        print("variants (case-insensitive; display spellings such as WGAN-GP, SN-GAN accepted):")
        for name in variant_names():
            v = get_variant(name)
            print(f"  {name:12s} {v.description}  [{v.reference}]")
    if what in ("all", "datasets"):
        print("datasets (names are case-insensitive):")
        for name in DATASETS.names():
            doc = (DATASETS.get(name).__doc__ or "").strip().splitlines()
            print(f"  {name:16s} {doc[0] if doc else ''}")
        for alias, (target, note) in DATASETS.aliases().items():
            print(f"  {alias:16s} {note or '= ' + target}")
        print("mixtures of any geometry (--datasets/--dataset FAMILY:KEY=VALUE,...; canonical name: keys sorted, "
              "defaults filled in):")
        for fam in DATASETS.families():
            print(f"  {fam.usage:34s} {fam.description}")
    if what in ("all", "suites"):
        print("suites:")
        for name, s in SUITES.items():
            print(f"  {name:16s} {s.description} (setting {s.setting})")
        print(f"  {DIRAC_SUITE:16s} {DIRAC_DESCRIPTION}")
    if what in ("all", "settings"):
        from .settings import SETTINGS

        print("settings (--setting NAME):")
        for name, st in SETTINGS.items():
            values = ", ".join(f"{k}={v}" for k, v in st.overrides.items()) or "no overrides"
            if st.per_variant:
                values += "; tuned per variant and data set: " + ", ".join(
                    f"{v} on {d}" for v, by_ds in sorted(st.per_variant.items()) for d in sorted(by_ds))
            print(f"  {name:16s} {st.description} [{values}]")
    if what in ("all", "metrics"):
        print("metrics:")
        for name, m in METRICS.items():
            print(f"  {name:18s} {'higher' if m.higher_is_better else 'lower'} is better: {m.description}")
    if what in ("all", "keys"):
        print("config keys (--set NAME=VALUE):")
        for name, f in FIELDS.items():
            print(f"  {name:18s} default {f.default!r}: {f.metadata['help']}")
    return 0


COMMANDS = {"run": cmd_run, "tune": cmd_tune, "evaluate": cmd_evaluate, "report": cmd_report, "record": cmd_record, "check": cmd_check,
            "list": cmd_list}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_BAD_INPUT
        return COMMANDS[args.command](args)
    except HarnessError as exc:
        print(f"gan-harness: error: {str(exc).replace(chr(10), ' ')}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # e.g. `gan-harness list | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("gan-harness: interrupted (unfinished runs stay marked 'running' and are resumed or redone next time)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
