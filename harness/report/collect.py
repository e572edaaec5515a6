"""Reading the stored runs a report is made from (never trains, never recomputes a metric).

A run needs readable ``spec.json``, ``status.json`` (completed or diverged) and ``summary.json``;
otherwise it is skipped with a warning naming it and the reason. A missing or corrupt auxiliary
file (``manifest.json``, ``history.jsonl``, ``evaluations.jsonl``, ``samples.npy``,
``snapshots.npz``) is also named in a warning (a diverged run may lack history and evaluations:
not warned); the run keeps its final metrics and the parts that need that file (verdict checks,
curves, figures) go without it.
"""
from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import HarnessError
from ..metrics import METRICS
from ..runs import FINAL_STATUSES, load_runs, read_json, read_jsonl


def metric_order() -> list[str]:
    """Registered metric names in registration order (the order tables use)."""
    return METRICS.registration_order()


def higher_is_better(metric: str) -> bool:
    return bool(METRICS.get(metric).higher_is_better)


@dataclass
class Run:
    """One usable run: its load_runs row plus the auxiliary rows it was stored with."""

    path: Path
    variant: str
    dataset: str
    seed: int
    status: dict[str, Any]
    metrics: dict[str, float]  # final metrics exactly as summary.json has them
    protocol: dict[str, Any]
    manifest: dict[str, Any] | None
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    evaluations: pd.DataFrame = field(default_factory=pd.DataFrame)
    steps: int | None = None

    @property
    def label(self) -> str:
        return f"{self.variant}/{self.dataset}/seed-{self.seed}"

    @property
    def n_modes(self) -> int | None:
        data = (self.manifest or {}).get("dataset") or {}
        k = data.get("n_modes")
        return int(k) if isinstance(k, (int, float)) and not isinstance(k, bool) and k > 0 else None

    @property
    def data_shape(self) -> tuple[int, ...] | None:
        shape = ((self.manifest or {}).get("dataset") or {}).get("shape")
        return tuple(int(s) for s in shape) if isinstance(shape, list) else None

    def load_array(self, name: str) -> Any:
        """``samples.npy`` as an array or ``snapshots.npz`` as a dict; None (with a warning when the
        file exists but cannot be read) otherwise."""
        path = self.path / name
        if not path.exists():
            return None
        try:
            if name.endswith(".npz"):
                with np.load(path, allow_pickle=False) as z:
                    return {k: z[k] for k in z.files}
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            warnings.warn(f"run {self.path}: unreadable {name} ({type(exc).__name__}: {exc}); figures go without it",
                          stacklevel=2)
            return None


def _warn_skip(path: Path | str, why: str) -> None:
    warnings.warn(f"skipping run {path}: {why}", stacklevel=3)


def _aux_jsonl(path: Path, name: str, expected: bool) -> pd.DataFrame:
    if not (path / name).exists():
        if expected:  # a run that diverged before its first probe or evaluation has none: not a defect
            warnings.warn(f"run {path}: missing {name}; checks that need it are left out for this run", stacklevel=3)
        return pd.DataFrame()
    try:
        return pd.DataFrame(read_jsonl(path / name))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        warnings.warn(f"run {path}: unreadable {name} ({type(exc).__name__}: {exc}); checks that need it are left "
                      "out for this run", stacklevel=3)
        return pd.DataFrame()


def _manifest(path: Path) -> dict[str, Any] | None:
    try:
        m = read_json(path / "manifest.json")
        return m if isinstance(m, dict) else None
    except (OSError, ValueError) as exc:
        warnings.warn(f"run {path}: unreadable manifest.json ({type(exc).__name__}); the data set's number of "
                      "modes is unknown for this run", stacklevel=3)
        return None


def _run(row: pd.Series) -> Run | None:
    path = Path(row["run_dir"])
    status = row.get("status")
    if status not in FINAL_STATUSES:
        _warn_skip(path, f"status {status!r} is not final ({' or '.join(FINAL_STATUSES)})")
        return None
    try:
        summary = read_json(path / "summary.json")
        status_obj = read_json(path / "status.json")
    except FileNotFoundError as exc:
        _warn_skip(path, f"missing {Path(exc.filename).name}")
        return None
    except (OSError, ValueError) as exc:
        _warn_skip(path, f"unreadable summary.json or status.json ({type(exc).__name__}: {exc})")
        return None
    metrics = summary.get("metrics") if isinstance(summary, dict) else None
    if not isinstance(metrics, dict) or not isinstance(status_obj, dict):
        _warn_skip(path, "summary.json has no 'metrics' object")
        return None
    clean: dict[str, float] = {}
    for k, v in metrics.items():
        try:
            clean[str(k)] = math.nan if v is None else float(v)
        except (TypeError, ValueError):
            _warn_skip(path, f"summary.json metric {k!r} is not a number: {v!r}")
            return None
    protocol = summary.get("protocol") or {}
    steps = row.get("steps")
    return Run(path=path, variant=str(row["variant"]), dataset=str(row["dataset"]), seed=int(row["seed"]),
               status=status_obj, metrics=clean, protocol=protocol if isinstance(protocol, dict) else {},
               manifest=_manifest(path), history=_aux_jsonl(path, "history.jsonl", status == "completed"),
               evaluations=_aux_jsonl(path, "evaluations.jsonl", status == "completed"),
               steps=int(steps) if steps is not None and not pd.isna(steps) else None)


def collect_runs(runs_dir: str | Path) -> list[Run]:
    """Every usable run under `runs_dir`, sorted by data set, variant, seed. Raises HarnessError
    for a missing directory or one without any usable run."""
    root = Path(runs_dir)
    if not root.exists():
        raise HarnessError(f"runs directory not found: {root}")
    if not root.is_dir():
        raise HarnessError(f"not a directory: {root}")
    for d in sorted(p for p in root.rglob("seed-*") if p.is_dir() and not (p / "spec.json").exists()):
        _warn_skip(d, "missing spec.json")
    df = load_runs(root)
    if df.empty:
        raise HarnessError(f"no runs found in {root} (expected <variant>/<dataset>/seed-<k>/spec.json)")
    runs = [r for r in (_run(row) for _, row in df.iterrows()) if r is not None]
    if not runs:
        raise HarnessError(f"no finished runs in {root}: all {len(df)} were skipped (see the warnings)")
    return sorted(runs, key=lambda r: (r.dataset, r.variant, r.seed))


def runs_frame(runs: list[Run]) -> pd.DataFrame:
    """One row per run with its final metrics (the report's view of load_runs)."""
    rows = [{"dataset": r.dataset, "variant": r.variant, "seed": r.seed, "status": r.status.get("status"),
             "step": r.status.get("step"), **r.metrics} for r in runs]
    return pd.DataFrame(rows)


def protocol_json(protocol: dict[str, Any]) -> str:
    return json.dumps(protocol, sort_keys=True)
