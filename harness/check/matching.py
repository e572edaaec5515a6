"""A check's inputs and how their groups match: loading a side (:func:`load_side`: a recorded
baseline file, a packaged baseline name, a runs directory or a loaded dict), and matching groups by
(variant, data set, grid point) with their protocol and config differences."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from ..baseline import FORMAT, FORMAT_VERSION, decode_non_finite
from ..errors import HarnessError
from .result import _label


# ----------------------------------------------------------------------------- inputs
def _validate(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, Mapping) or data.get("format") != FORMAT:
        raise HarnessError(f"{what}: not a gan-harness baseline")
    if data.get("format_version") != FORMAT_VERSION:
        raise HarnessError(f"{what}: baseline format version {data.get('format_version')}, this gan-harness reads "
                           f"{FORMAT_VERSION}")
    groups = data.get("groups")
    if not isinstance(groups, list):
        raise HarnessError(f"{what}: corrupt baseline (no 'groups' list)")
    for i, g in enumerate(groups):
        ok = (isinstance(g, Mapping) and all(isinstance(g.get(k), str) for k in ("variant", "dataset"))
              and isinstance(g.get("seeds"), list) and isinstance(g.get("protocol"), Mapping)
              and all(isinstance(s, Mapping) and isinstance(s.get("metrics"), Mapping) for s in g["seeds"]))
        if not ok:
            raise HarnessError(f"{what}: corrupt baseline (group {i} lacks variant, dataset, protocol or seeds with "
                               "metrics)")
    return dict(data)


def load_side(source: Any, role: str) -> tuple[dict[str, Any], str]:
    """(baseline dict with non-finite floats as floats, description) of a check input: a recorded
    baseline file, a runs directory (harness.baseline.build_baseline, in memory; skipped runs are
    warned about) or an already loaded baseline dict. HarnessError naming `role` otherwise."""
    if isinstance(source, Mapping):
        return _validate(decode_non_finite(dict(source)), f"{role} (in memory)"), f"{role} (in memory)"
    from ..baseline import build_baseline, load_baseline

    path = Path(resolve_baseline_arg(source))
    if not path.exists():
        raise HarnessError(f"{role} not found: {path}")
    if path.is_dir():
        return _validate(decode_non_finite(build_baseline(path)), str(path)), f"{path} (runs directory)"
    return _validate(load_baseline(path), str(path)), str(path)


def packaged_baseline(name: str) -> Path | None:
    """The path of a baseline shipped with the harness (``baselines/<name>.json``, e.g. "ci" or
    "quick"), or None when there is no such file."""
    from importlib import resources

    try:
        path = resources.files("baselines") / f"{name}.json"
    except ModuleNotFoundError:
        return None
    return Path(str(path)) if path.is_file() else None


def resolve_baseline_arg(value: Any) -> Any:
    """A --baseline value: an existing path as given; otherwise the name of a packaged baseline
    ("ci" -> baselines/ci.json); otherwise the path as given (load_side then names it as missing)."""
    if isinstance(value, (str, Path)) and not Path(value).exists() and "/" not in str(value) \
            and not str(value).endswith(".json"):
        packaged = packaged_baseline(str(value))
        if packaged is not None:
            return packaged
    return value


# ----------------------------------------------------------------------------- matching
def _show(value: Any) -> str:
    return "(absent)" if value is _ABSENT else json.dumps(value, sort_keys=True, default=str)


_ABSENT = object()


def protocol_differences(candidate: Mapping[str, Any], baseline: Mapping[str, Any]) -> list[str]:
    """'key: candidate value vs baseline value' for every flattened protocol key that differs
    (harness.report.protocols.IGNORED_FIELDS left out)."""
    from ..report.protocols import IGNORED_FIELDS, flatten

    fc = {k: v for k, v in flatten(candidate).items() if k not in IGNORED_FIELDS}
    fb = {k: v for k, v in flatten(baseline).items() if k not in IGNORED_FIELDS}
    return [f"{k}: {_show(fc.get(k, _ABSENT))} vs {_show(fb.get(k, _ABSENT))}" for k in sorted(set(fc) | set(fb))
            if _show(fc.get(k, _ABSENT)) != _show(fb.get(k, _ABSENT))]


def config_differences(candidate: Mapping[str, Any], baseline: Mapping[str, Any]) -> list[str]:
    """The same for two groups' configs and settings."""
    from ..report.protocols import flatten

    a = {**flatten(candidate.get("config") or {}), "setting": candidate.get("setting", "")}
    b = {**flatten(baseline.get("config") or {}), "setting": baseline.get("setting", "")}
    return [f"{k}: {_show(a.get(k, _ABSENT))} vs {_show(b.get(k, _ABSENT))}" for k in sorted(set(a) | set(b))
            if _show(a.get(k, _ABSENT)) != _show(b.get(k, _ABSENT))]


def match_groups(candidate: Mapping[str, Any], baseline: Mapping[str, Any], pairs: Mapping[str, str] | None = None
                 ) -> tuple[list[tuple[dict, dict]], list[str], list[str]]:
    """(matched (candidate group, baseline group) pairs, unmatched candidate labels, unmatched
    baseline labels). Groups match on (variant, data set, grid point), the candidate's variant
    first mapped through `pairs` (candidate variant -> baseline variant)."""
    pairs = dict(pairs or {})
    cand_variants = sorted({g["variant"] for g in candidate["groups"]})
    for name in pairs:
        if name not in cand_variants:
            raise HarnessError(f"pairs: the candidate has no variant {name!r} (it has: {', '.join(cand_variants)})")
    base = {(g["variant"], g["dataset"], g.get("point", "")): g for g in baseline["groups"]}
    matched, used, unmatched_c = [], set(), []
    for g in candidate["groups"]:
        key = (pairs.get(g["variant"], g["variant"]), g["dataset"], g.get("point", ""))
        if key in base:
            matched.append((g, base[key]))
            used.add(key)
        else:
            unmatched_c.append(_label(g))
    unmatched_b = [_label(g) for k, g in base.items() if k not in used]
    return matched, unmatched_c, unmatched_b
