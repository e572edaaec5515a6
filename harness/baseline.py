"""Recorded baselines: a runs directory summarised in one small, versioned, human-readable JSON file.

``gan-harness record RUNS_DIR --out FILE`` (:func:`record_baseline`) keeps what a later comparison
of a candidate needs, so that it can be made without the run directories: per group of trained
runs (variant, data set and grid point) the setting, the config and the evaluation protocol shared
by its seeds, and per seed the status, final metrics, evaluation noise, G and D steps, a summary of
each metric's curve, a summary of its training behaviour (:func:`behaviour_summary`: the median of
losses, gradient norms and D's largest singular value over the last half of training) and a digest
of the training history; the numeric signatures of the machines
the runs were made on (harness.runs.numeric_signature); and the reference rows' final metrics for
context. :func:`load_baseline` reads one back.

The file is a pure function of the stored runs: no timestamps, no absolute paths, keys sorted,
indented by one space, lists of plain values on one line; recording the same runs twice gives
byte-identical files.

JSON has no infinity or NaN: a non-finite float is stored as the string ``"inf"``, ``"-inf"`` or
``"nan"`` wherever it occurs, and :func:`load_baseline` turns every string that is exactly one of
these back into the float. The writer refuses a genuine string value equal to one of them (none
of the harness's names is), so the round trip is exact.

History digest: for each key of a run's history.jsonl records whose value is a number (``step``
and the wall-clock ``wall_time_s`` excepted), the steps of the records that have it and the
SHA-256 of those values as little-endian float64 bytes, in file order (:func:`history_digest`).
Two histories are identical, bit for bit, exactly when their digests are. Per record, so that a
comparison can name the first step at which two histories part: ``record_steps`` (the step of each
record with a numeric ``step``, in file order) and ``record_hashes`` (:func:`record_hash`: the first
12 hex digits of the SHA-256 over the record's numeric values, ``step`` included and
``wall_time_s`` excluded, in sorted key order, each as the key's UTF-8 bytes, a zero byte and the
value as little-endian float64). Baselines recorded before these two keys existed load as well; a
comparison then names the differing keys without the step.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .errors import HarnessError
from .runs import atomic_write_bytes, harness_version, to_jsonable

FORMAT = "gan-harness-baseline"
FORMAT_VERSION = 1
#: how non-finite floats are written (JSON has no infinity or NaN)
NON_FINITE = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}
#: history keys that get no digest: the x axis itself, and wall-clock time (differs on every run)
UNDIGESTED_HISTORY_KEYS = ("step", "wall_time_s")
#: per metric curve statistics kept from harness.report.curves.curve_stats
CURVE_FIELDS = ("best", "best_step", "final", "final_step", "auc_per_step")
#: training-behaviour summaries kept per seed (compared by harness.check as "probe:<name>" rows):
#: name -> its scale in a comparison, "log" (compared as log10: norms and singular values) or "linear"
#: (losses and D's real-minus-fake gap, which change sign). "sigma_max" is the largest singular value
#: over D's layers (history keys "sigma_max/<layer>"); the others are history keys (harness.probes).
BEHAVIOUR: dict[str, str] = {"loss_d": "linear", "loss_g": "linear", "critic_gap": "linear",
                             "grad_norm_d": "log", "grad_norm_g": "log", "input_grad_real": "log",
                             "input_grad_fake": "log", "input_grad_interp": "log", "sigma_max": "log"}
#: the share of a run's history records, counted from its end, that a behaviour summary reads
BEHAVIOUR_WINDOW = 0.5
ENCODING_NOTE = ('non-finite floats are the strings "inf", "-inf" and "nan"; history digests are the SHA-256 of '
                 'each numeric key\'s values as little-endian float64, in file order; record hashes the first 12 hex '
                 'digits of the SHA-256 over one history record\'s numeric keys and values (key, zero byte, '
                 'float64), sorted by key, wall_time_s excluded')


# ----------------------------------------------------------------------------- encoding
def encode_non_finite(obj: Any, where: str = "") -> Any:
    """`obj` with every non-finite float replaced by "inf", "-inf" or "nan" (JSON-safe). Raises
    HarnessError for a string value that is itself one of those (it would not read back)."""
    if isinstance(obj, dict):
        return {str(k): encode_non_finite(v, f"{where}.{k}" if where else str(k)) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [encode_non_finite(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, float) and not math.isfinite(obj):
        return "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, str) and obj in NON_FINITE:
        raise HarnessError(f"cannot record the string value {obj!r} at {where}: a baseline stores non-finite "
                           "floats as such strings")
    return obj


def decode_non_finite(obj: Any) -> Any:
    """The inverse of :func:`encode_non_finite`: the strings "inf", "-inf", "nan" become floats."""
    if isinstance(obj, dict):
        return {k: decode_non_finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode_non_finite(v) for v in obj]
    if isinstance(obj, str) and obj in NON_FINITE:
        return NON_FINITE[obj]
    return obj


def dumps(obj: Any) -> str:
    """Sorted-key JSON, indented by one space, with lists of plain values on one line; ends with a
    newline. `obj` must already be JSON-safe (no non-finite floats: see encode_non_finite)."""
    return _dumps(obj, 0) + "\n"


def _dumps(obj: Any, depth: int) -> str:
    inner, outer = " " * (depth + 1), " " * depth
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{inner}{json.dumps(str(k))}: {_dumps(obj[k], depth + 1)}" for k in sorted(obj, key=str)]
        return "{\n" + ",\n".join(items) + "\n" + outer + "}"
    if isinstance(obj, (list, tuple)):
        if not obj:
            return "[]"
        if not any(isinstance(v, (dict, list, tuple)) for v in obj):
            return "[" + ", ".join(json.dumps(v, allow_nan=False) for v in obj) + "]"
        return "[\n" + ",\n".join(inner + _dumps(v, depth + 1) for v in obj) + "\n" + outer + "]"
    return json.dumps(obj, allow_nan=False)


# ----------------------------------------------------------------------------- per-run summaries
def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _step(value: Any) -> Any:
    """A step as an int when it is a whole finite number (curve steps come back as floats)."""
    if _is_number(value) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    return value


def float64_digest(values: Sequence[float]) -> str:
    """SHA-256 (hex) of `values` as little-endian float64 bytes."""
    return hashlib.sha256(np.asarray(values, dtype="<f8").tobytes()).hexdigest()


def history_digest(records: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """{key: {"steps": [...], "sha256": hex}} for every key of the history records whose value is a
    number, except UNDIGESTED_HISTORY_KEYS; only records with a numeric "step" count, in file order."""
    steps: dict[str, list[Any]] = defaultdict(list)
    values: dict[str, list[float]] = defaultdict(list)
    for rec in records:
        if not isinstance(rec, Mapping) or not _is_number(rec.get("step")):
            continue
        for key, value in rec.items():
            if key in UNDIGESTED_HISTORY_KEYS or not _is_number(value):
                continue
            steps[str(key)].append(_step(rec["step"]))
            values[str(key)].append(float(value))
    return {k: {"steps": steps[k], "sha256": float64_digest(values[k])} for k in sorted(steps)}


RECORD_HASH_HEX = 12
#: history keys a record hash leaves out: wall-clock time differs on every run
UNHASHED_RECORD_KEYS = ("wall_time_s",)


def record_hash(record: Mapping[str, Any]) -> str:
    """The first RECORD_HASH_HEX hex digits of the SHA-256 of one history record's numeric values
    (booleans are not numbers here), ``wall_time_s`` left out, in sorted key order: for each, the
    key's UTF-8 bytes, a zero byte and the value as little-endian float64. Two records hash alike
    exactly when they hold the same numeric keys with the same bits (up to a hash collision)."""
    h = hashlib.sha256()
    for key in sorted(str(k) for k in record):
        value = record[key]
        if key in UNHASHED_RECORD_KEYS or not _is_number(value):
            continue
        h.update(key.encode("utf-8") + b"\0" + np.asarray(float(value), dtype="<f8").tobytes())
    return h.hexdigest()[:RECORD_HASH_HEX]


def record_hashes(records: Iterable[Mapping[str, Any]]) -> tuple[list[Any], list[str]]:
    """(steps, hashes) of the history records with a numeric "step", in file order (the records
    :func:`history_digest` counts), one :func:`record_hash` each."""
    kept = [r for r in records if isinstance(r, Mapping) and _is_number(r.get("step"))]
    return [_step(r["step"]) for r in kept], [record_hash(r) for r in kept]


def _probe_value(record: Mapping[str, Any], name: str) -> float | None:
    if name == "sigma_max":
        values = [float(v) for k, v in record.items() if k.startswith("sigma_max/") and _is_number(v)]
        return max(values) if values else None
    value = record.get(name)
    return float(value) if _is_number(value) else None


def behaviour_summary(records: Sequence[Mapping[str, Any]], window: float = BEHAVIOUR_WINDOW) -> dict[str, float]:
    """Per :data:`BEHAVIOUR` probe, the median of its values over the last `window` of the history
    records (those with a numeric step of at least (1 - window) x the last step), in the probe's own
    units; a probe absent from the records is left out. NaN/inf values are kept (the median of a
    window holding NaN is NaN: a diverged run)."""
    kept = [r for r in records if isinstance(r, Mapping) and _is_number(r.get("step"))]
    if not kept:
        return {}
    last = float(kept[-1]["step"])
    tail = [r for r in kept if float(r["step"]) >= (1.0 - window) * last]
    out = {}
    for name in BEHAVIOUR:
        values = [v for v in (_probe_value(r, name) for r in tail) if v is not None]
        if values:
            arr = np.asarray(values, np.float64)
            out[name] = float("nan") if np.isnan(arr).any() else float(np.median(arr))
    return out


def _curves(run: Any) -> dict[str, dict[str, Any]]:
    from .metrics import METRICS
    from .report.collect import higher_is_better
    from .report.curves import curve_stats

    if run.evaluations.empty:
        return {}
    out = {}
    for metric in sorted(m for m in run.metrics if m in METRICS):
        stats = curve_stats(run.evaluations, metric, higher_is_better(metric))
        out[metric] = {f: (_step(getattr(stats, f)) if f in ("best_step", "final_step") else float(getattr(stats, f)))
                       for f in CURVE_FIELDS}
    return out


def _signature(run: Any) -> dict[str, Any] | None:
    env = (run.manifest or {}).get("environment")
    sig = env.get("numeric_signature") if isinstance(env, dict) else None
    return sig if isinstance(sig, dict) and isinstance(sig.get("signature_id"), str) else None


def _seed_entry(run: Any) -> dict[str, Any]:
    summary = run.summary
    records = [r for r in run.history_records if isinstance(r, dict)]
    steps, hashes = record_hashes(records)
    entry: dict[str, Any] = {
        "seed": run.seed, "status": run.status.get("status"), "reason": run.status.get("reason"),
        "g_steps": run.g_steps, "d_steps": run.d_steps, "metrics": dict(run.metrics),
        "metrics_step": summary.get("metrics_step"), "curves": _curves(run),
        "behaviour": behaviour_summary(records),
        "history": {"records": len(records), "digest": history_digest(records),
                    "final_record": records[-1] if records else None,
                    "record_steps": steps, "record_hashes": hashes},
        "signature_id": (_signature(run) or {}).get("signature_id")}
    if isinstance(summary.get("eval_noise"), dict):
        entry["eval_noise"] = summary["eval_noise"]
    return entry


def _label(variant: str, dataset: str, point: str) -> str:
    return "/".join([variant, dataset] + ([point] if point else []))


def _same(runs: list[Any], what: str, get: Any, label: str) -> Any:
    """The value `get(run)` shared by every run of a group; HarnessError naming the seeds that differ."""
    first = get(runs[0])
    for r in runs[1:]:
        value = get(r)
        if json.dumps(to_jsonable(value), sort_keys=True) != json.dumps(to_jsonable(first), sort_keys=True):
            detail = ""
            if isinstance(first, dict) and isinstance(value, dict):
                keys = sorted(k for k in set(first) | set(value) if first.get(k) != value.get(k))
                detail = f" (differ in: {', '.join(keys)})"
            raise HarnessError(f"{label}: seeds {runs[0].seed} and {r.seed} have different {what}s{detail}; a "
                               f"baseline keeps one {what} per variant, data set and grid point")
    return first


def _none_first(ids: Iterable[str | None]) -> list[str | None]:
    return sorted(set(ids), key=lambda s: (s is not None, s or ""))


# ----------------------------------------------------------------------------- the baseline
def created_from(runs_dir: str | Path) -> str:
    """The runs directory as given, relative (an absolute path is made relative to the working
    directory), with forward slashes."""
    path = Path(runs_dir)
    if path.is_absolute():
        path = Path(os.path.relpath(path, Path.cwd()))
    return path.as_posix()


def build_baseline(runs_dir: str | Path) -> dict[str, Any]:
    """The baseline of the runs under `runs_dir` as a JSON-safe dict (non-finite floats encoded).

    Reads every run once (harness.report.collect.collect_runs: unusable runs are skipped with an
    InputWarning naming each). Raises HarnessError for a missing directory, one without a finished
    trained run, duplicate runs of one seed, or seeds of one group with different configs, settings
    or protocols."""
    from .report.collect import InputWarning, collect_runs
    from .report.protocols import flatten, protocol_id

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            runs = collect_runs(runs_dir)
            error = None
        except HarnessError as exc:
            runs, error = [], exc
    for w in caught:  # pass every warning on to the caller
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    skipped = [w.message.describe(runs_dir) for w in caught
               if isinstance(w.message, InputWarning) and w.message.skipped]
    trained = [r for r in runs if not r.reference]
    if error is not None and not skipped:
        raise error
    if not trained:
        if skipped:
            more = f" and {len(skipped) - 1} more" if len(skipped) > 1 else ""
            why = f"; {len(skipped)} skipped: {skipped[0]}{more}"
        else:
            why = " (only reference rows)"
        raise HarnessError(f"no finished trained runs in {runs_dir}{why}")

    by_group: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
    for r in trained:
        by_group[(r.dataset, r.variant, r.point)].append(r)
    groups, signatures = [], {}
    for (dataset, variant, point), members in sorted(by_group.items()):
        label = _label(variant, dataset, point)
        members = sorted(members, key=lambda r: r.seed)
        for a, b in zip(members, members[1:]):
            if a.seed == b.seed:
                raise HarnessError(f"{label}: seed {a.seed} is stored twice, in {a.path} and {b.path}")
        protocol = _same(members, "protocol", lambda r: r.protocol, label)
        for r in members:
            sig = _signature(r)
            if sig is not None:
                signatures[sig["signature_id"]] = sig
        groups.append({
            "variant": variant, "dataset": dataset, "point": point, "grid": members[0].grid,
            "setting": _same(members, "setting", lambda r: r.setting, label),
            "config": _same(members, "config", lambda r: r.config, label),
            "protocol": protocol, "protocol_id": protocol_id(flatten(protocol)),
            "signature_ids": _none_first((_signature(r) or {}).get("signature_id") for r in members),
            "seeds": [_seed_entry(r) for r in members]})
    references = []
    for r in sorted((r for r in runs if r.reference), key=lambda r: (r.dataset, r.variant, r.seed)):
        sig = _signature(r)
        if sig is not None:
            signatures.setdefault(sig["signature_id"], sig)
        references.append({"name": r.variant, "dataset": r.dataset, "seed": r.seed, "metrics": dict(r.metrics),
                           "protocol_id": protocol_id(flatten(r.protocol)),
                           "signature_id": sig["signature_id"] if sig else None})
    trained_ids = _none_first(sid for g in groups for sid in g["signature_ids"])
    single = trained_ids[0] if len(trained_ids) == 1 else None
    baseline = {"format": FORMAT, "format_version": FORMAT_VERSION, "harness_version": harness_version(),
                "created_from": created_from(runs_dir), "encoding": ENCODING_NOTE,
                "numeric_signature": signatures[single] if single is not None else None,
                "numeric_signatures": signatures, "groups": groups, "references": references}
    return encode_non_finite(to_jsonable(baseline))


#: candidate seeds a recorded baseline should be able to judge (``gan-harness record --judge-seeds``)
JUDGE_SEEDS = 4


class SeedsWarning(UserWarning):
    """A recorded group has too few seeds for a check of k candidate seeds to judge its rows."""


def judging_warnings(baseline: Mapping[str, Any], judge_seeds: int = JUDGE_SEEDS, alpha: float = 0.05) -> list[str]:
    """One line per group whose seeds are too few for the check's default statistic (the joint
    permutation test, harness.check) to judge `judge_seeds` candidate seeds at `alpha`: never (the
    smallest possible p, 1/C(k + n, k), or 2/C(k + n, k) for the two-sided behaviour rows, is above
    alpha) or not for every correlation of its rows (m rows times that p is above alpha: rows that
    vary independently would then be reported "not judged", an INCONCLUSIVE check)."""
    from .permutation import min_marginal_p, seeds_needed

    out = []
    for g in baseline["groups"]:
        n_b = len(g["seeds"])
        behaviour = {b for s in g["seeds"] for b in (s.get("behaviour") or {})}
        metrics = {m for s in g["seeds"] for m in (s.get("metrics") or {})}
        rows = 1 + len(metrics) + len(behaviour)  # the diverged row, the metrics, the probe: rows
        sided = "two-sided" if behaviour else "less"
        floor = min_marginal_p(judge_seeds, n_b, sided)
        # C(k + n, k) is symmetric in k and n: the baseline seeds needed against k candidate seeds
        need = seeds_needed(judge_seeds, rows, alpha, sided)
        label = "/".join(x for x in (g["variant"], g["dataset"], g.get("point", "")) if x)
        if floor > alpha:
            out.append(f"{label}: {n_b} seeds: a check of {judge_seeds} candidate seeds can never judge its rows "
                       f"(smallest p {floor:.2g} > {alpha:g}); record at least {need.minimum} seeds "
                       f"({need.bonferroni} judge all {rows} rows whatever their correlation)")
        elif rows * floor > alpha:
            out.append(f"{label}: {n_b} seeds: a check of {judge_seeds} candidate seeds may leave rows not judged "
                       f"(INCONCLUSIVE) when its {rows} rows vary independently; {need.bonferroni} seeds judge them "
                       "whatever their correlation")
    return out


def record_baseline(runs_dir: str | Path, out: str | Path, judge_seeds: int = JUDGE_SEEDS) -> dict[str, Any]:
    """Write the baseline of `runs_dir` to `out` (atomically, nothing written on error) and return it
    as :func:`load_baseline` would (non-finite floats decoded). Warns (:class:`SeedsWarning`) for
    each group with too few seeds to judge a check of `judge_seeds` candidate seeds
    (:func:`judging_warnings`)."""
    if isinstance(judge_seeds, bool) or not isinstance(judge_seeds, int) or judge_seeds < 1:
        raise HarnessError(f"--judge-seeds must be a positive integer, got {judge_seeds!r}")
    out = Path(out)
    if out.is_dir():
        raise HarnessError(f"--out {out} is a directory; give a file name, e.g. {out / 'baseline.json'}")
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise HarnessError(f"--out {out}: {parent} is a file, not a directory")
            break
    baseline = build_baseline(runs_dir)
    atomic_write_bytes(out, dumps(baseline).encode("utf-8"))
    for line in judging_warnings(baseline, judge_seeds):
        warnings.warn(SeedsWarning(line), stacklevel=2)
    return decode_non_finite(baseline)


def load_baseline(path: str | Path) -> dict[str, Any]:
    """A recorded baseline, validated (format and version) and with non-finite floats restored.
    Raises HarnessError naming the file when it is missing, unreadable, not a baseline or of
    another format version."""
    path = Path(path)
    if not path.exists():
        raise HarnessError(f"baseline file not found: {path}")
    if path.is_dir():
        raise HarnessError(f"{path}: is a directory, not a baseline file")
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise HarnessError(f"{path}: unreadable baseline ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise HarnessError(f"{path}: not a gan-harness baseline (format {found!r}, expected {FORMAT!r})")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise HarnessError(f"{path}: baseline format version {version}, this gan-harness reads {FORMAT_VERSION}")
    if not isinstance(data.get("groups"), list) or not isinstance(data.get("references"), list):
        raise HarnessError(f"{path}: corrupt baseline (no 'groups' or 'references' list)")
    return decode_non_finite(data)
