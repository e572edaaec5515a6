"""Reference rows: what a number has to beat before it is evidence of anything.

For every data set of a sweep and every seed of its runs, the data set's own evaluator scores, on
exactly the runs' protocol (same N, same fixed reference sample):

- ``real``: an independent sample of the data (the floor a perfect generator reaches);
- ``null-gaussian``: a Gaussian with the data's mean and covariance (2-D mixtures) or, for images,
  each pixel drawn from a Gaussian with that pixel's mean and standard deviation over the data,
  clipped to [-1, 1];
- ``null-uniform`` (2-D mixtures): uniform over the centres' bounding box, widened on every side by
  half the median distance between neighbouring centres (grid25: the box [-5, 5]^2).

Each is stored as a pseudo-run ``<root>/<name>/<dataset>/seed-<k>/`` (spec.json with
``"reference": true``, status, manifest, summary; no history) so that ``load_runs`` and every report
read them like runs. A reference row's samples come from the stream ``reference-row:<name>:<dataset>``
of seed k: independent of every training stream and of the evaluator's fixed reference sample.
"""
from __future__ import annotations

import datetime as _dt
import time
from pathlib import Path
from typing import Any, Sequence

from . import runs
from .errors import HarnessError
from .metrics import METRICS
from .resolve import dataset_defaults, make_dataset, make_evaluator
from .rng import generator
from .spec import RunSpec, make_config

#: the config fields a reference row depends on (the data set and its evaluation protocol)
REFERENCE_KEYS = ("n_eval", "data_path", "image_size", "n_w1", "features", "feature_weights")


def reference_specs(specs: Sequence[RunSpec]) -> list[RunSpec]:
    """One pseudo-spec per (reference model, data set, seed) of `specs`, in a stable order."""
    by_dataset: dict[str, RunSpec] = {}
    seeds: dict[str, set[int]] = {}
    for s in specs:
        by_dataset.setdefault(s.dataset, s)
        seeds.setdefault(s.dataset, set()).add(s.seed)
    out = []
    for name, first in by_dataset.items():
        cfg = make_config(dataset_defaults(name), {k: getattr(first.config, k) for k in REFERENCE_KEYS})
        models = make_dataset(name, cfg).null_models()
        out += [RunSpec(variant=model, dataset=name, seed=seed, config=cfg, device=first.device)
                for model in models for seed in sorted(seeds[name])]
    return out


def plan_references(specs: Sequence[RunSpec], out: Path) -> list[tuple[RunSpec, Path, bool]]:
    """(spec, path, skip) per reference row, like suite.plan, except that a stored reference row of
    another protocol is simply scored again."""
    planned = []
    for spec in specs:
        path = runs.run_dir(Path(out), spec)
        if path.exists() and not path.is_dir():
            raise HarnessError(f"run path is a file, not a directory: {path}")
        old = runs.stored_spec(path) if path.exists() else None
        same = old is not None and old.fingerprint() == spec.fingerprint()
        planned.append((spec, path, same and runs.is_finished(path)))
    return planned


def score(spec: RunSpec) -> tuple[dict[str, float], dict[str, Any], dict[str, Any]]:
    """(metrics, protocol, data set description) of one reference row."""
    data = make_dataset(spec.dataset, spec.config)
    models = data.null_models()
    if spec.variant not in models:
        raise HarnessError(f"data set {spec.dataset!r} has no reference model {spec.variant!r} "
                           f"(it has: {', '.join(models)})")
    evaluator = make_evaluator(data, spec.config, spec.device)
    gen = generator(spec.seed, f"reference-row:{spec.variant}:{spec.dataset}")
    metrics = evaluator.evaluate(models[spec.variant](spec.config.n_eval, gen))
    protocol = {"evaluator": evaluator.protocol(),
                "metric_versions": {m: METRICS.get(m).version for m in evaluator.metrics if m in METRICS}}
    return metrics, protocol, data.describe()


def execute_reference(spec: RunSpec, path: str | Path) -> dict[str, Any]:
    """Score and store one reference row; never raises (a failure becomes a result)."""
    path = Path(path)
    t0 = time.perf_counter()
    try:
        metrics, protocol, described = score(spec)
    except Exception as exc:
        return {"run_id": spec.run_id, "status": "failed", "step": None, "reason": f"{type(exc).__name__}: {exc}"}
    path.mkdir(parents=True, exist_ok=True)
    for name in runs.OUTPUT_FILES:
        (path / name).unlink(missing_ok=True)
    runs.atomic_write_json(path / "status.json", {"status": "running", "step": 0, "reason": None})
    runs.atomic_write_json(path / "spec.json", {**spec.to_dict(), "fingerprint": spec.fingerprint(), "reference": True})
    runs.atomic_write_json(path / "manifest.json", {
        "environment": runs.environment(spec.device), "dataset": described, "protocol": protocol,
        "started": _dt.datetime.now(_dt.timezone.utc).isoformat()})
    wall = time.perf_counter() - t0
    runs.atomic_write_json(path / "summary.json", {
        "status": "completed", "step": 0, "reason": None, "reference": spec.variant, "metrics": metrics,
        "protocol": protocol, "wall_time_s": wall, "run_id": spec.run_id, "fingerprint": spec.fingerprint()})
    runs.atomic_write_json(path / "status.json", {"status": "completed", "step": 0, "reason": None})
    return {"run_id": spec.run_id, "status": "completed", "step": 0, "reason": None, "wall_time_s": wall}
