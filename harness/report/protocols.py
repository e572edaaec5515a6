"""Every number carries its protocol; a table column only ever holds numbers of one protocol.

The protocol of a metric value is the run's ``summary.json`` "protocol" (evaluator settings such
as sample counts, reference seed, feature extractor and its weights' hash; the evaluation latent
bank; the budget), flattened to dotted keys, with ``metric_versions`` narrowed to the metric
itself. ``budget.n_dis`` (D steps per G step; older runs kept it there) is left out of the
comparison: it is part of a variant (WGAN's five critic steps), not of how the number was
measured. Reference rows (real, null-*) are compared with the runs on the evaluator's settings
and the metric's version only (:func:`narrow_to_evaluator`).
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable, Mapping, Sequence

from ..errors import HarnessError

IGNORED_FIELDS = ("budget.n_dis",)


def flatten(obj: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in sorted(obj):
        value = obj[key]
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def metric_protocol(protocol: Mapping[str, Any], metric: str,
                    ignored: Sequence[str] = IGNORED_FIELDS) -> dict[str, Any]:
    """The flattened protocol one metric value was measured under."""
    flat = flatten(protocol)
    out = {k: v for k, v in flat.items() if not k.startswith("metric_versions.") and k not in ignored}
    version_key = f"metric_versions.{metric}"
    if version_key in flat:
        out[version_key] = flat[version_key]
    return out


def narrow_to_evaluator(flat: Mapping[str, Any], metric: str) -> dict[str, Any]:
    """The part of a flattened metric protocol that a reference row shares with trained runs: the
    evaluator's settings and the metric's version (a reference has no budget or latent bank)."""
    return {k: v for k, v in flat.items() if k.startswith("evaluator.") or k == f"metric_versions.{metric}"}


def protocol_id(flat: Mapping[str, Any]) -> str:
    """A short stable hash of a flattened protocol (the CSV's `protocol_id` column)."""
    return hashlib.sha256(json.dumps(dict(flat), sort_keys=True, default=str).encode()).hexdigest()[:12]


def _show(value: Any) -> str:
    return "(absent)" if value is _ABSENT else json.dumps(value, sort_keys=True, default=str)


_ABSENT = object()


def check_column(dataset: str, metric: str, entries: Iterable[tuple[str, Mapping[str, Any]]],
                 what: str = "") -> dict[str, Any]:
    """Refuse (HarnessError, one line) to put values measured under different protocols in one
    column. `entries`: (run label, flattened protocol); `what`: who is compared, for the message
    (default: the runs). Returns the common protocol."""
    entries = list(entries)
    if not entries:
        return {}
    keys = sorted(set().union(*(e[1].keys() for e in entries)))
    diffs = []
    for key in keys:
        groups: dict[str, list[str]] = {}
        for label, proto in entries:
            groups.setdefault(_show(proto.get(key, _ABSENT)), []).append(label)
        if len(groups) > 1:
            parts = [f"{value} for {_labels(labels)}" for value, labels in sorted(groups.items())]
            diffs.append(f"{key} ({'; '.join(parts)})")
    if diffs:
        who = f" ({what})" if what else ""
        raise HarnessError(f"refusing to put {metric} on {dataset} measured under different protocols in one "
                           f"column{who}: they differ in {', '.join(diffs)}")
    return dict(entries[0][1])


def _labels(labels: list[str], limit: int = 3) -> str:
    shown = ", ".join(labels[:limit])
    return shown + (f" and {len(labels) - limit} more" if len(labels) > limit else "")


def common_fields(protocols: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The fields with the same value in every protocol of `protocols` (for captions)."""
    if not protocols:
        return {}
    first = protocols[0]
    return {k: v for k, v in first.items() if all(k in p and p[k] == v for p in protocols[1:])}
