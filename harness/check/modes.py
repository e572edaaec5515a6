"""The check's entry points: :func:`check` (runs mode: two runs directories or baselines),
:func:`check_samples` (samples mode: sample files of a GAN trained elsewhere) and
:func:`check_variant` (training mode: train a variant under a suite's protocol, then check it)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from ..baseline import decode_non_finite
from ..errors import HarnessError
from ..runs import to_jsonable
from .exact import exact_check
from .matching import config_differences, load_side, match_groups, protocol_differences, resolve_baseline_arg
from .options import (DEFAULT_ALPHA, DEFAULT_MARGIN_SDS, DEFAULT_STATISTIC, DEFAULT_TEST, _check_options,
                      _check_statistic)
from .result import CheckResult, Exact, _label
from .rows import _compare, _metrics_of
from .statistics import MIN_SEEDS, _decide_rows, _family_note, _Options


def _enough_seeds(label: str, group: Mapping[str, Any], role: str) -> None:
    n = len(group["seeds"])
    if n < MIN_SEEDS:
        raise HarnessError(f"{label}: the {role} has {n} seed{'s' if n != 1 else ''}; the check needs at least "
                           f"{MIN_SEEDS} seeds on each side for Welch's t (3 or more recommended: the default "
                           f"margin is calibrated for 3)")


#: simulated false-alarm rate of the default test with 2 seeds on a side (see harness.check's docstring)
FEW_SEEDS_NOTE = ("fewer than 3 seeds on a side in {label} ({n_c} candidate, {n_b} baseline): the default margin keeps "
                  "false alarms at 5 % from 3 seeds per side; with 2 against 2 it raises about 26 % of them")


def _few_seeds_notes(label: str, n_c: int, n_b: int, opts: _Options) -> list[str]:
    if opts.statistic != "mean" or min(n_c, n_b) >= 3 or opts.margin_sds != DEFAULT_MARGIN_SDS:
        return []
    return [FEW_SEEDS_NOTE.format(label=label, n_c=n_c, n_b=n_b)]


# ----------------------------------------------------------------------------- runs mode
def _check_margins_apply(margins: Mapping[str, float], groups: Iterable[Mapping[str, Any]]) -> None:
    present = {m for g in groups for m in _metrics_of(g)[0]}
    for m in margins:
        if m not in present:
            raise HarnessError(f"--margin {m}: no compared group reports {m} (they report: {', '.join(sorted(present))})")


def check(candidate: Any, baseline: Any, *, pairs: Mapping[str, str] | None = None, test: str = DEFAULT_TEST,
          alpha: float = DEFAULT_ALPHA, margin_sds: float = DEFAULT_MARGIN_SDS,
          margins: Mapping[str, float] | None = None, behaviour: bool = True,
          statistic: str = DEFAULT_STATISTIC) -> CheckResult:
    """Check `candidate` against `baseline` (each a runs directory, a recorded baseline file or a
    loaded baseline dict): the statistical and exact parts of harness.check's docstring.

    `pairs`: candidate variant -> baseline variant ({"mine": "wgan-gp"}); `test`: "noninferiority"
    or "equivalence"; `alpha`: the level; `margin_sds`: k of the default margin; `margins`: {metric:
    δ in metric units}; `behaviour`: also compare the training-behaviour summaries ("probe:" rows)
    where both sides recorded them. Raises HarnessError (the CLI's exit 2) for bad input: a missing, corrupt or
    other-version file, differing protocols, no matched group, too few seeds, unknown options.
    Returns a :class:`CheckResult`; ``result.passed`` is the verdict."""
    margins = _check_options(test, alpha, margin_sds, margins)
    _check_statistic(statistic, test, margins)
    opts = _Options(test, float(alpha), float(margin_sds), margins, statistic)
    cand, cand_desc = load_side(candidate, "candidate")
    base, base_desc = load_side(baseline, "baseline")
    matched, unmatched_c, unmatched_b = match_groups(cand, base, pairs)
    if not matched:
        have_c = ", ".join(_label(g) for g in cand["groups"]) or "none"
        have_b = ", ".join(_label(g) for g in base["groups"]) or "none"
        raise HarnessError(f"no candidate group matches a baseline group (variant, data set, grid point): candidate "
                           f"has {have_c}; baseline has {have_b}")
    mismatches = []
    for cg, bg in matched:
        diffs = protocol_differences(cg["protocol"], bg["protocol"])
        if diffs:
            mismatches.append(f"{_label(cg)}: {'; '.join(diffs)}")
    if mismatches:
        raise HarnessError("protocols differ (candidate vs baseline), refusing to compare: " + " | ".join(mismatches))
    for cg, bg in matched:
        _enough_seeds(_label(cg), cg, "candidate")
        _enough_seeds(_label(bg), bg, "baseline")
    _check_margins_apply(margins, [bg for _, bg in matched])
    rows, exact, cfg, notes = [], [], {}, []
    unregistered = sorted({m for _, bg in matched for m in _metrics_of(bg)[1]})
    if unregistered:
        notes.append(f"not compared (not in the metric registry, so their direction is unknown): {', '.join(unregistered)}")
    for cg, bg in matched:
        rows += _compare(cg, bg, opts, behaviour=behaviour)
        notes += _few_seeds_notes(_label(cg), len(cg["seeds"]), len(bg["seeds"]), opts)
        exact.append(exact_check(cg, bg))
        diffs = config_differences(cg, bg)
        if diffs:
            label = _label(cg) if _label(cg) == _label(bg) else f"{_label(cg)} vs {_label(bg)}"
            cfg[label] = diffs
    rows = _decide_rows(rows, opts)
    notes += _family_note(rows, opts)
    return CheckResult(cand_desc, base_desc, "runs", test, float(alpha), float(margin_sds), margins, rows, exact,
                       unmatched_c, unmatched_b, cfg, notes, statistic=statistic)


# ----------------------------------------------------------------------------- samples mode
def _pick_group(base: Mapping[str, Any], dataset: str, against: str | None, desc: str) -> dict[str, Any]:
    groups = [g for g in base["groups"] if g["dataset"] == dataset]
    if not groups:
        have = sorted({g["dataset"] for g in base["groups"]})
        raise HarnessError(f"baseline {desc} has no group on data set {dataset!r} (it has: {', '.join(have)})")
    labels = [_label(g) for g in groups]
    if against is None:
        if len(groups) > 1:
            raise HarnessError(f"baseline {desc} has {len(groups)} groups on {dataset} ({', '.join(labels)}); name the "
                               "one to compare with --against VARIANT (or VARIANT/POINT)")
        return groups[0]
    variant, _, point = against.partition("/")
    if variant not in {g["variant"] for g in groups}:  # a display spelling (SN-GAN) of a registered variant
        from ..variant import VARIANTS

        try:
            variant = VARIANTS.canonical(variant)
        except HarnessError:
            pass  # reported below with the groups the baseline has
    chosen = [g for g in groups if g["variant"] == variant and (not point or g.get("point", "") == point)]
    if not chosen:
        raise HarnessError(f"--against {against}: no such group on {dataset} in baseline {desc} (it has: "
                           f"{', '.join(labels)})")
    if len(chosen) > 1:
        raise HarnessError(f"--against {against}: {len(chosen)} grid points ({', '.join(_label(g) for g in chosen)}); "
                           "name one as VARIANT/POINT")
    return chosen[0]


def _evaluator_for(group: Mapping[str, Any], dataset: str, device: str) -> Any:
    """The evaluator of the group's protocol: the group's config (its evaluation options, data path,
    image size), n_eval and scalar evaluation options taken from the recorded protocol."""
    from ..resolve import EVAL_OPTIONS, check_device, dataset_defaults, make_dataset, make_evaluator
    from ..spec import FIELDS, make_config

    check_device(device)
    layer = {k: v for k, v in (group.get("config") or {}).items() if k in FIELDS}
    recorded = group["protocol"].get("evaluator") or {}
    for key in ("n_eval",) + EVAL_OPTIONS:
        value = recorded.get(key)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and key in FIELDS:
            layer[key] = value
    cfg = make_config(dataset_defaults(dataset), layer)
    data = make_dataset(dataset, cfg)
    return make_evaluator(data, cfg, device)


def check_samples(samples: Sequence[Any], dataset: str, baseline: Any, *, against: str | None = None,
                  test: str = DEFAULT_TEST, alpha: float = DEFAULT_ALPHA, margin_sds: float = DEFAULT_MARGIN_SDS,
                  margins: Mapping[str, float] | None = None, device: str = "cpu",
                  statistic: str = DEFAULT_STATISTIC) -> CheckResult:
    """Check final samples of a GAN trained outside the harness against one baseline group on
    `dataset`: each item of `samples` (a .npy/.npz/.pt path as `gan-harness evaluate` reads, or an
    array) is one seed's samples, scored by the evaluator of the baseline's protocol; statistical
    part only. `against`: the baseline variant (or VARIANT/POINT), required when the baseline has
    more than one group on `dataset`. Each file must hold exactly the protocol's n_eval samples."""
    from ..data import DATASETS
    from ..evaluate import load_samples
    from ..metrics import METRICS

    margins = _check_options(test, alpha, margin_sds, margins)
    _check_statistic(statistic, test, margins)
    opts = _Options(test, float(alpha), float(margin_sds), margins, statistic)
    samples = list(samples)
    if len(samples) < MIN_SEEDS:
        raise HarnessError(f"--samples: {len(samples)} file{'s' if len(samples) != 1 else ''} given; the check needs at "
                           f"least {MIN_SEEDS} sample files (one per seed) for Welch's t test, 3 or more recommended "
                           "(the default margin is calibrated for 3)")
    dataset = DATASETS.canonical(dataset)  # an unknown name: one line with the known ones
    base, base_desc = load_side(baseline, "baseline")
    group = _pick_group(base, dataset, against, base_desc)
    base_label = _label(group)
    _enough_seeds(base_label, group, "baseline")
    _check_margins_apply(margins, [group])
    evaluator = _evaluator_for(group, dataset, device)
    mine = {"evaluator": evaluator.protocol(),
            "metric_versions": {m: METRICS.get(m).version for m in evaluator.metrics if m in METRICS}}
    theirs = {"evaluator": group["protocol"].get("evaluator") or {},
              "metric_versions": {m: v for m, v in (group["protocol"].get("metric_versions") or {}).items()}}
    diffs = protocol_differences(mine, theirs)
    if diffs:
        raise HarnessError(f"protocols differ (this evaluator vs baseline {base_label}), refusing to compare: "
                           + "; ".join(diffs))
    n_eval = int(evaluator.n_eval)
    arrays, names = [], []
    for i, item in enumerate(samples):
        name = str(item) if isinstance(item, (str, Path)) else f"samples[{i}]"
        arr = load_samples(item) if isinstance(item, (str, Path)) else item
        try:
            arr = evaluator.check_samples(arr)
        except HarnessError as exc:
            raise HarnessError(f"{name}: {exc}") from None
        if len(arr) != n_eval:
            raise HarnessError(f"{name}: {len(arr)} samples, but the baseline's protocol evaluates n_eval = {n_eval} "
                               "samples per seed")
        arrays.append(arr)
        names.append(name)
    seeds = [{"seed": i, "status": "completed", "metrics": evaluator.evaluate(arr), "source": name}
             for i, (arr, name) in enumerate(zip(arrays, names))]
    cand_group = {"variant": "samples", "dataset": dataset, "point": group.get("point", ""), "config": {},
                  "protocol": group["protocol"], "seeds": seeds}
    label = f"samples/{dataset}"
    rows = _compare(cand_group, group, opts, label=label, status_row=False)
    rows = _decide_rows(rows, opts)
    exact = [Exact(label, base_label, "not applicable",
                   "exact: not applicable (sample files: statistical check only)")]
    desc = f"{len(samples)} sample files ({', '.join(names)})"
    return CheckResult(desc, base_desc, "samples", test, float(alpha), float(margin_sds), margins, rows, exact,
                       notes=_few_seeds_notes(label, len(seeds), len(group["seeds"]), opts) + _family_note(rows, opts),
                       statistic=statistic)


# ----------------------------------------------------------------------------- training mode
def check_variant(variant: str, against: str, *, suite: str = "ci", seeds: Sequence[int] | None = None,
                  datasets: Sequence[str] | None = None, baseline: Any = None, runs_out: str | Path | None = None,
                  overrides: Mapping[str, Any] | None = None, suite_overrides: Mapping[str, Any] | None = None,
                  jobs: int = 1, device: str = "cpu",
                  progress: bool = False, test: str = DEFAULT_TEST, alpha: float = DEFAULT_ALPHA,
                  margin_sds: float = DEFAULT_MARGIN_SDS, margins: Mapping[str, float] | None = None,
                  behaviour: bool = True, statistic: str = DEFAULT_STATISTIC) -> CheckResult:
    """Train `variant` under `suite`'s protocol (its data sets, setting and budget; `seeds`,
    `datasets` replace the suite's; `overrides` apply to `variant` only, `suite_overrides` to both
    sides, as if the suite defined them: a budget such as {"steps": 200}) and check it against the
    reference variant `against`:

    - with `baseline` (a recorded baseline file, a packaged baseline name such as "ci", or a runs
      directory): against that baseline's `against` groups; only `variant` is trained;
    - without: `against` is trained too, on the same seeds and protocol (no overrides), and the
      two are compared.

    Runs land in `runs_out` (default: a new temporary directory; a given directory is reused, so
    finished runs of the same config are not trained again). Everything is validated before any
    training; bad input raises HarnessError."""
    import tempfile

    from ..baseline import build_baseline
    from ..suite import SUITES, expand_suite, run_specs
    from ..variant import get_variant

    margins_checked = _check_options(test, alpha, margin_sds, margins)
    _check_statistic(statistic, test, margins_checked)
    from ..variant import canonical_variant

    # display spellings (SN-GAN) to registered names; unknown names: one line with the known ones
    variant, against = canonical_variant(variant), canonical_variant(against)
    get_variant(variant), get_variant(against)
    spec_suite = SUITES.get(suite)
    changes: dict[str, Any] = {}
    if seeds is not None:
        changes["seeds"] = tuple(int(s) for s in seeds)
    if datasets is not None:
        changes["datasets"] = tuple(datasets)
    if suite_overrides:
        changes["overrides"] = {**spec_suite.overrides, **suite_overrides}
    spec_suite = spec_suite.with_(**changes) if changes else spec_suite
    if len(spec_suite.seeds) < MIN_SEEDS:
        raise HarnessError(f"--seeds: {len(spec_suite.seeds)} seed{'s' if len(spec_suite.seeds) != 1 else ''}; the check "
                           f"needs at least {MIN_SEEDS} (3 or more recommended)")
    if len(set(spec_suite.seeds)) != len(spec_suite.seeds):
        raise HarnessError(f"--seeds: a seed is listed twice ({', '.join(map(str, spec_suite.seeds))})")
    # under a tuned setting the candidate trains with the reference's tuned values (it claims to be it)
    specs = expand_suite(spec_suite.with_(variants=(variant,), tuned_as={variant: against}), overrides, device=device)
    base = None
    if baseline is not None:
        base, _ = load_side(resolve_baseline_arg(baseline), "baseline")
        have = {(g["variant"], g["dataset"]) for g in base["groups"]}
        missing = [d for d in spec_suite.datasets if (against, d) not in have]
        if missing:
            groups = ", ".join(sorted(f"{v}/{d}" for v, d in have)) or "none"
            raise HarnessError(f"baseline has no {against} group on {', '.join(missing)} (it has: {groups})")
        from ..trainer import run_protocol

        for d in spec_suite.datasets:  # refuse another protocol before training, not after
            group = next(g for g in base["groups"] if g["variant"] == against and g["dataset"] == d)
            first = next(s for s in specs if s.dataset == d)
            diffs = protocol_differences(to_jsonable(run_protocol(first)), group["protocol"])
            if diffs:
                raise HarnessError(f"protocols differ ({variant} under suite {spec_suite.name} vs baseline "
                                   f"{_label(group)}), refusing to compare: {'; '.join(diffs)}")
    elif variant == against:
        raise HarnessError(f"--variant and --against are both {variant!r}: without --baseline the check trains the "
                           "two side by side; to check a variant against its own recorded runs, give --baseline")
    else:
        specs += expand_suite(spec_suite.with_(variants=(against,)), None, device=device)
    out = Path(runs_out) if runs_out is not None else Path(tempfile.mkdtemp(prefix="gan-harness-check-"))
    if out.exists() and not out.is_dir():
        raise HarnessError(f"--runs-out {out} is a file, not a directory")
    results = run_specs(specs, out, jobs=jobs, progress=progress, references=False)
    failed = [r for r in results if r["status"] == "failed"]
    if failed:
        raise HarnessError(f"{len(failed)} run{'s' if len(failed) != 1 else ''} failed (not a result: the code raised), "
                           f"e.g. {failed[0]['run_id']}: {failed[0]['reason']}")
    built = decode_non_finite(build_baseline(out))
    built["created_from"] = str(out)
    # a reused --runs-out may hold other seeds (an earlier check): compare the seeds asked for only
    wanted = set(spec_suite.seeds)
    built["groups"] = [{**g, "seeds": [s for s in g["seeds"] if s.get("seed") in wanted]} for g in built["groups"]]
    cand = {**built, "groups": [g for g in built["groups"] if g["variant"] == variant]}
    if base is None:
        base = {**built, "groups": [g for g in built["groups"] if g["variant"] == against]}
    else:
        base = {**base, "groups": [g for g in base["groups"] if g["variant"] == against]}
    result = check(cand, base, pairs={variant: against} if variant != against else None, test=test, alpha=alpha,
                   margin_sds=margin_sds, margins=margins_checked, behaviour=behaviour, statistic=statistic)
    result.candidate = f"{variant} trained in {out} ({len(spec_suite.seeds)} seeds, suite {spec_suite.name})"
    return result
