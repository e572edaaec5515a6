"""The rows of one matched pair (:func:`_compare`): one per metric the baseline stores, the
"diverged" row, and one per training-behaviour summary ("probe:" rows), each judged by the
check's statistic (harness.check.statistics) or left pending until the check decides all rows."""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import HarnessError
from .result import BETTER, DIVERGED_ROW, NA, NOT_EQUIVALENT, PASS, PROBE_PREFIX, REGRESSION, Row, _fmt_alpha, _label, \
    _num, _pct
from .statistics import (MIN_SEEDS, SD_FLOOR, _Options, _rank_row, _seeds_for_rank_test, t_decision,
                         welch_bounds)


def _metric_values(seeds: Sequence[Mapping[str, Any]], metric: str) -> np.ndarray:
    out = []
    for s in seeds:
        v = s["metrics"].get(metric)
        out.append(math.nan if v is None else float(v))
    return np.asarray(out, np.float64)


def _noise_sd(seeds: Sequence[Mapping[str, Any]], metric: str) -> float:
    sds = []
    for s in seeds:
        noise = s.get("eval_noise")
        sd = (noise.get("sd") or {}).get(metric) if isinstance(noise, Mapping) else None
        if isinstance(sd, (int, float)) and not isinstance(sd, bool) and math.isfinite(sd):
            sds.append(float(sd))
    return float(np.mean(sds)) if sds else math.nan


def _share_text(k: int, n: int, k_b: int, n_b: int, what: str) -> str:
    return f"{what} in {k}/{n} seeds against {k_b}/{n_b}"


def _metric_row(label: str, base_label: str, metric: str, cand_seeds: list, base_seeds: list, opts: _Options) -> Row:
    from ..report.collect import higher_is_better
    from ..report.fmt import cell
    from ..report.stats import describe, finite, mannwhitney, min_pvalue_mannwhitney, quantile

    hib = higher_is_better(metric)
    sign = 1.0 if hib else -1.0
    c_raw, b_raw = _metric_values(cand_seeds, metric), _metric_values(base_seeds, metric)
    cs, bs = describe(c_raw), describe(b_raw)
    b_fin = finite(b_raw)
    seed_sd = float(np.std(b_fin, ddof=1)) if len(b_fin) >= 2 else math.nan
    noise = _noise_sd(base_seeds, metric)
    from ..metrics import METRICS

    resolution = METRICS.get(metric).resolution if metric in METRICS else 0.0
    quantum = resolution / math.sqrt(12) if resolution > 0 else math.nan
    if metric in opts.margins:
        margin, source = opts.margins[metric], "--margin"
    elif opts.statistic in ("rank", "permutation"):
        margin, source = 0.0, f"none ({opts.statistic} test: same distribution)"
    else:
        # the same value as margin_from_sd(seed_sd, noise, k), naming which sd it came from
        sds = ((seed_sd, "seed sd"), (noise, "eval-noise sd"), (quantum, "resolution/√12"), (SD_FLOOR, "sd floor"))
        s_used, which = max(((v, w) for v, w in sds if not math.isnan(v)), key=lambda x: x[0])
        margin = opts.margin_sds * s_used
        source = f"{_num(opts.margin_sds)} × {which}"
    common = dict(group=label, baseline_group=base_label, metric=metric, higher_is_better=hib,
                  n_candidate=len(c_raw), n_baseline=len(b_raw), candidate_mean=cs.mean, candidate_sd=cs.std,
                  baseline_mean=bs.mean, baseline_sd=bs.std, candidate_text=cell(cs, nan_label="diverged"),
                  baseline_text=cell(bs, nan_label="diverged"), margin=float(margin), margin_source=source)
    nan = math.nan
    k_c, k_b = int(np.isnan(c_raw).sum()), int(np.isnan(b_raw).sum())
    if opts.statistic == "permutation":  # NaN (no value: diverged) ranks as the worst value
        if opts.test == "equivalence":
            sided, shift = "two-sided", 0.0
        else:
            sided, shift = "less", (margin if metric in opts.margins else 0.0)
        inf_c, inf_b = int(np.isinf(c_raw).sum()), int(np.isinf(b_raw).sum())
        notes = [_share_text(k, len(c_raw), kb, len(b_raw), what) for k, kb, what in
                 ((k_c, k_b, "no value (diverged)"), (inf_c, inf_b, "non-finite")) if k or kb]
        return opts.pending_permutation_row(common, sign * c_raw, sign * b_raw, sided, shift, "; ".join(notes))
    if k_c * len(b_raw) > k_b * len(c_raw):  # a larger share of seeds without a value
        return Row(**common, delta_hat=nan, low=nan, high=nan, p=nan, decision=REGRESSION,
                   test="divergence (NaN) count", detail=_share_text(k_c, len(c_raw), k_b, len(b_raw), "diverged"))
    c, b = sign * c_raw[~np.isnan(c_raw)], sign * b_raw[~np.isnan(b_raw)]
    if len(c) < MIN_SEEDS or len(b) < MIN_SEEDS:
        return Row(**common, delta_hat=nan, low=nan, high=nan, p=nan, decision=NA, test="none",
                   detail=f"fewer than {MIN_SEEDS} values on a side once NaN (diverged) seeds are left out "
                          f"({len(c)} candidate, {len(b)} baseline)")
    if opts.statistic == "rank":
        inf_c, inf_b = int(np.isinf(c).sum()), int(np.isinf(b).sum())
        detail = _share_text(inf_c, len(c), inf_b, len(b), "non-finite") if inf_c or inf_b else ""
        return _rank_row({**common, "n_candidate_finite": len(c), "n_baseline_finite": len(b)}, c, b, margin,
                         opts.test, detail)
    if np.isfinite(c).all() and np.isfinite(b).all():
        diff, low, high = welch_bounds(c, b, opts.alpha, opts.test)
        test = (f"Welch one-sided {_pct(1 - opts.alpha)} lower bound" if opts.test == "noninferiority"
                else f"Welch TOST, {_pct(1 - 2 * opts.alpha)} interval")
        return Row(**common, delta_hat=diff, low=low, high=high, p=nan,
                   decision=t_decision(low, high, margin, opts.test), test=test)
    # an infinite value on either side: ranks and medians
    inf_c, inf_b = int(np.isinf(c).sum()), int(np.isinf(b).sum())
    detail = _share_text(inf_c, len(c), inf_b, len(b), "non-finite")
    if len(c) == len(b) and np.array_equal(np.sort(c), np.sort(b)):  # the same values (e.g. a rerun): no test
        return Row(**common, delta_hat=0.0, low=nan, high=nan, p=1.0, decision=PASS,
                   test="none needed: identical values", detail=detail)
    if min_pvalue_mannwhitney(len(c), len(b), "less") >= opts.alpha:
        need_c, need_b = _seeds_for_rank_test(len(c), len(b), opts.alpha)
        return Row(**common, delta_hat=nan, low=nan, high=nan, p=nan, decision=NA, seeds_needed=need_c,
                   test="not judged: exact Mann-Whitney, one-sided, cannot reach the level",
                   detail=f"{detail}; its smallest p with {len(c)} candidate and {len(b)} baseline values is "
                          f"1/{math.comb(len(c) + len(b), len(c))}, not < {_fmt_alpha(opts.alpha)}: it needs "
                          f"{need_c} candidate seeds against these {len(b)}, or {need_b} baseline seeds against "
                          f"these {len(c)}")
    _, p_worse, method = mannwhitney(c, b, "less")
    _, p_better, _ = mannwhitney(c, b, "greater")
    with np.errstate(invalid="ignore"):
        med = quantile(c, 0.5) - quantile(b, 0.5)  # inf - inf: NaN, neither worse nor better
    worse = p_worse < opts.alpha and med < -margin
    better = p_better < opts.alpha and med > margin
    if opts.test == "equivalence":
        decision = NOT_EQUIVALENT if (worse or better) else PASS
    else:
        decision = REGRESSION if worse else BETTER if better else PASS
    return Row(**common, delta_hat=float(med), low=nan, high=nan, p=float(p_worse), decision=decision,
               test=f"exact Mann-Whitney, one-sided ({method}), and medians", detail=detail)


def _diverged_row(label: str, base_label: str, cand_seeds: list, base_seeds: list, opts: _Options | None = None) -> Row:
    """The share of diverged runs: under the permutation statistic a row of the joint test (a
    diverged run is worse than a finished one); otherwise any larger share fails."""
    c = np.array([s.get("status") == "diverged" for s in cand_seeds], np.float64)
    b = np.array([s.get("status") == "diverged" for s in base_seeds], np.float64)
    k_c, k_b, n_c, n_b = int(c.sum()), int(b.sum()), len(c), len(b)
    nan = math.nan
    common = dict(group=label, baseline_group=base_label, metric=DIVERGED_ROW, higher_is_better=None,
                  n_candidate=n_c, n_baseline=n_b, candidate_mean=k_c / n_c, candidate_sd=nan, baseline_mean=k_b / n_b,
                  baseline_sd=nan, candidate_text=f"{k_c}/{n_c} diverged", baseline_text=f"{k_b}/{n_b} diverged",
                  margin=nan, margin_source="")
    if opts is not None and opts.statistic == "permutation":
        return opts.pending_permutation_row(common, -c, -b, "less", 0.0, _share_text(k_c, n_c, k_b, n_b, "diverged"))
    failed = k_c * n_b > k_b * n_c
    return Row(**common, delta_hat=nan, low=nan, high=nan, p=nan, decision=REGRESSION if failed else PASS,
               test="divergence (status) count", detail=_share_text(k_c, n_c, k_b, n_b, "diverged"))


#: the floor of a behaviour row's sd (log10 units for log-scale probes, i.e. 2.3 %; the probe's own
#: units for losses and the gap): a probe whose seeds agree closely (SN-GAN's largest singular value
#: is 1 in every seed) still gets a margin of BEHAVIOUR_SD_FLOOR x k
BEHAVIOUR_SD_FLOOR = 0.01


def _behaviour_values(seeds: Sequence[Mapping[str, Any]], name: str, scale: str) -> np.ndarray:
    out = []
    for s in seeds:
        v = (s.get("behaviour") or {}).get(name)
        v = math.nan if v is None else float(v)
        if scale == "log":
            v = math.log10(v) if v > 0 and math.isfinite(v) else (math.nan if math.isnan(v) or v == math.inf else -math.inf)
        out.append(v)
    return np.asarray(out, np.float64)


def _behaviour_row(label: str, base_label: str, name: str, scale: str, cand_seeds: list, base_seeds: list,
                   opts: _Options) -> Row:
    """Equivalence (TOST) of one training-behaviour summary: no direction is better, so a candidate
    whose gradients, losses or singular values sit far from the baseline's fails either way."""
    from ..report.stats import describe

    c_raw, b_raw = _behaviour_values(cand_seeds, name, scale), _behaviour_values(base_seeds, name, scale)
    cs, bs = describe(c_raw), describe(b_raw)
    b_fin = b_raw[np.isfinite(b_raw)]
    seed_sd = float(np.std(b_fin, ddof=1)) if len(b_fin) >= 2 else math.nan
    s_used, which = (seed_sd, "seed sd") if not math.isnan(seed_sd) and seed_sd >= BEHAVIOUR_SD_FLOOR else \
        (BEHAVIOUR_SD_FLOOR, "sd floor")
    margin = opts.margin_sds * s_used
    unit = "log10 " if scale == "log" else ""

    def txt(d: Any) -> str:
        return "no value" if math.isnan(d.mean) else f"{_num(d.mean)} ± {_num(d.std)}" if not math.isnan(d.std) \
            else _num(d.mean)

    common = dict(group=label, baseline_group=base_label, metric=PROBE_PREFIX + name, higher_is_better=None,
                  n_candidate=len(c_raw), n_baseline=len(b_raw), candidate_mean=cs.mean, candidate_sd=cs.std,
                  baseline_mean=bs.mean, baseline_sd=bs.std, candidate_text=unit + txt(cs),
                  baseline_text=unit + txt(bs), margin=float(margin),
                  margin_source=f"{_num(opts.margin_sds)} × {which}")
    nan = math.nan
    k_c, k_b = int((~np.isfinite(c_raw)).sum()), int((~np.isfinite(b_raw)).sum())
    if opts.statistic == "permutation":  # two-sided; a missing value (NaN) ranks lowest
        detail = _share_text(k_c, len(c_raw), k_b, len(b_raw), "non-finite") if k_c or k_b else ""
        return opts.pending_permutation_row({**common, "margin": 0.0, "margin_source": "none (same distribution)"},
                                            c_raw, b_raw, "two-sided", 0.0, detail)
    if k_c * len(b_raw) > k_b * len(c_raw):
        return Row(**common, delta_hat=nan, low=nan, high=nan, p=nan, decision=NOT_EQUIVALENT,
                   test="non-finite count", detail=_share_text(k_c, len(c_raw), k_b, len(b_raw), "non-finite"))
    c, b = c_raw[np.isfinite(c_raw)], b_raw[np.isfinite(b_raw)]
    if len(c) < MIN_SEEDS or len(b) < MIN_SEEDS:
        return Row(**common, delta_hat=nan, low=nan, high=nan, p=nan, decision=NA, test="none",
                   detail=f"fewer than {MIN_SEEDS} finite values on a side ({len(c)} candidate, {len(b)} baseline)")
    if opts.statistic == "rank":
        return _rank_row({**common, "n_candidate_finite": len(c), "n_baseline_finite": len(b),
                          "margin": 0.0, "margin_source": "none (rank test: same distribution)"},
                         c, b, 0.0, "equivalence")
    diff, low, high = welch_bounds(c, b, opts.alpha, "equivalence")
    return Row(**common, delta_hat=diff, low=low, high=high, p=nan,
               decision=t_decision(low, high, margin, "equivalence"),
               test=f"behaviour ({unit or 'linear '}scale, median of the last half of training), Welch TOST, "
                    f"{_pct(1 - 2 * opts.alpha)} interval")


def _behaviour_rows(label: str, base_label: str, cand_seeds: list, base_seeds: list, opts: _Options) -> list[Row]:
    from ..baseline import BEHAVIOUR

    def names(seeds: list) -> set[str]:
        return set.intersection(*[set(s.get("behaviour") or {}) for s in seeds]) if seeds else set()

    common = names(cand_seeds) & names(base_seeds)
    return [_behaviour_row(label, base_label, n, BEHAVIOUR[n], cand_seeds, base_seeds, opts)
            for n in BEHAVIOUR if n in common]


def _metrics_of(group: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(registered metrics the group stores, in registration order; unregistered ones)."""
    from ..metrics import METRICS

    names = {str(k) for s in group["seeds"] for k in s["metrics"]}
    order = METRICS.registration_order()
    return [m for m in order if m in names], sorted(names - set(order))


def _compare(cand_group: Mapping[str, Any], base_group: Mapping[str, Any], opts: _Options, *,
             label: str | None = None, status_row: bool = True, behaviour: bool = True) -> list[Row]:
    label = label or _label(cand_group)
    base_label = _label(base_group)
    metrics, _ = _metrics_of(base_group)
    for s in cand_group["seeds"]:
        missing = [m for m in metrics if m not in s["metrics"]]
        if missing:
            raise HarnessError(f"{label}: candidate seed {s.get('seed')} has no {', '.join(missing)} (the baseline "
                               f"{base_label} reports {'it' if len(missing) == 1 else 'them'})")
    rows = [_diverged_row(label, base_label, cand_group["seeds"], base_group["seeds"], opts)] if status_row else []
    rows += [_metric_row(label, base_label, m, cand_group["seeds"], base_group["seeds"], opts) for m in metrics]
    if behaviour:
        rows += _behaviour_rows(label, base_label, cand_group["seeds"], base_group["seeds"], opts)
    return rows
