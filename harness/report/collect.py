"""Reading the stored runs a report is made from (never trains, never recomputes a metric).

Each run directory (``<variant>/<dataset>/[<point>/]seed-<k>/``, docs/RUN_FORMAT.md) is read
once: ``spec.json``, ``status.json`` (completed or diverged) and ``summary.json`` are needed;
otherwise the run is skipped with an :class:`InputWarning` naming it and the reason. A missing or
corrupt auxiliary file (``manifest.json``, ``history.jsonl``, ``evaluations.jsonl``,
``samples.npy``, ``snapshots.npz``) is also named in an :class:`InputWarning` (a diverged run may
lack history and evaluations, a reference pseudo-run has none: not warned); the run keeps its
final metrics and the parts that need that file (verdict checks, curves, figures) go without it.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import HarnessError
from ..metrics import METRICS
from ..runs import FINAL_STATUSES, UnreadableRun, find_run_dirs, read_json, read_jsonl, read_run

NULL_PREFIX = "null-"  # reference rows "null-gaussian", "null-uniform": trivial generators
REAL = "real"  # reference row: an independent real sample of the evaluation size


def metric_order() -> list[str]:
    """Registered metric names in registration order (the order tables use)."""
    return METRICS.registration_order()


def higher_is_better(metric: str) -> bool:
    return bool(METRICS.get(metric).higher_is_better)


def display_scale(metric: str) -> float:
    """100 for metrics shown in per cent (MetricInfo.percent), else 1; unregistered keys: 1."""
    return 100.0 if metric in METRICS and METRICS.get(metric).percent else 1.0


class InputWarning(UserWarning):
    """A run, or one of its files, that the report could not (fully) use. `path` names the run
    directory, `text` says why; `skipped`: the whole run was left out."""

    def __init__(self, path: Path | str, text: str, skipped: bool = True):
        self.path, self.text, self.skipped = Path(path), text, skipped
        super().__init__(self.describe())

    def describe(self, root: Path | str | None = None) -> str:
        path = self.path
        if root is not None:
            try:
                path = self.path.relative_to(root)
            except ValueError:
                pass
        return f"{'skipping run' if self.skipped else 'run'} {path}: {self.text}"


def warn_input(path: Path | str, text: str, skipped: bool = False) -> None:
    warnings.warn(InputWarning(path, text, skipped), stacklevel=3)


@dataclass
class Run:
    """One usable run (or reference pseudo-run) and everything the report reads from it."""

    path: Path
    variant: str
    dataset: str
    seed: int
    status: dict[str, Any]
    metrics: dict[str, float]  # final metrics as summary.json has them (None -> NaN)
    protocol: dict[str, Any]
    manifest: dict[str, Any] | None
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    evaluations: pd.DataFrame = field(default_factory=pd.DataFrame)
    steps: int | None = None  # the configured G-step budget
    reference: bool = False  # a reference pseudo-run (real, null-gaussian, null-uniform)
    grid: dict[str, Any] = field(default_factory=dict)  # the grid point ({} without a grid)
    point: str = ""  # its label ("" without a grid)
    setting: str = ""  # the named hyper-parameter setting (harness.settings); "" for references, older runs
    n_dis: int | None = None  # D steps per G step (spec config; old runs: protocol budget)
    g_steps: int | None = None  # G steps trained (summary; old runs: status step)
    d_steps: int | None = None  # D steps trained (summary; old runs: g_steps * n_dis)
    wall_time_s: float | None = None
    eval_noise: dict[str, float] | None = None  # summary "eval_noise" "sd": metric -> sd over latent banks
    config: dict[str, Any] = field(default_factory=dict)  # spec.json "config" as stored
    summary: dict[str, Any] = field(default_factory=dict)  # summary.json as stored
    history_records: list[dict[str, Any]] = field(default_factory=list)  # history.jsonl as stored, one dict a line

    @property
    def label(self) -> str:
        parts = [self.variant, self.dataset] + ([self.point] if self.point else []) + [f"seed-{self.seed}"]
        return "/".join(parts)

    @property
    def is_null(self) -> bool:
        return self.reference and self.variant.startswith(NULL_PREFIX)

    @property
    def commit(self) -> str:
        """The code commit the run was made with ("" when not recorded); "-dirty" at its end: from a
        working tree with uncommitted changes."""
        return str((((self.manifest or {}).get("environment") or {}).get("git_commit")) or "")

    @property
    def n_modes(self) -> int | None:
        data = (self.manifest or {}).get("dataset") or {}
        k = data.get("n_modes")
        return int(k) if isinstance(k, (int, float)) and not isinstance(k, bool) and k > 0 else None

    @property
    def data_shape(self) -> tuple[int, ...] | None:
        shape = ((self.manifest or {}).get("dataset") or {}).get("shape")
        return tuple(int(s) for s in shape) if isinstance(shape, list) else None

    @property
    def data_source(self) -> str:
        return str(((self.manifest or {}).get("dataset") or {}).get("source") or "")

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
            warn_input(self.path, f"unreadable {name} ({type(exc).__name__}: {exc}); figures go without it")
            return None


def _aux_records(path: Path, name: str, expected: bool) -> list[dict[str, Any]]:
    if not (path / name).exists():
        if expected:  # a run that diverged before its first probe or evaluation has none: not a defect
            warn_input(path, f"missing {name}; checks that need it are left out for this run")
        return []
    try:
        return read_jsonl(path / name)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        warn_input(path, f"unreadable {name} ({type(exc).__name__}: {exc}); checks that need it are left out "
                         "for this run")
        return []


def _aux_jsonl(path: Path, name: str, expected: bool) -> pd.DataFrame:
    return pd.DataFrame(_aux_records(path, name, expected))


def _manifest(path: Path) -> dict[str, Any] | None:
    try:
        m = read_json(path / "manifest.json")
        return m if isinstance(m, dict) else None
    except (OSError, ValueError) as exc:
        warn_input(path, f"unreadable manifest.json ({type(exc).__name__}); the data set's number of modes is "
                         "unknown for this run")
        return None


class _Skip(Exception):
    pass


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return int(value)


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _read_run(path: Path) -> Run:
    try:
        files = read_run(path)
    except UnreadableRun as why:
        raise _Skip(str(why)) from None
    spec, status, summary = files.spec, files.status, files.summary
    variant, dataset, seed, grid, point = files.variant, files.dataset, files.seed, files.grid, files.point
    if files.status_problem:
        raise _Skip(files.status_problem)
    if status.get("status") not in FINAL_STATUSES:
        raise _Skip(f"status {status.get('status')!r} is not final ({' or '.join(FINAL_STATUSES)})")
    if summary is None:
        raise _Skip("missing summary.json")
    metrics = summary.get("metrics")
    if not isinstance(metrics, dict):
        raise _Skip("summary.json has no 'metrics' object")
    clean: dict[str, float] = {}
    for k, v in metrics.items():
        try:
            clean[str(k)] = math.nan if v is None else float(v)
        except (TypeError, ValueError):
            raise _Skip(f"summary.json metric {k!r} is not a number: {v!r}") from None
    protocol = summary.get("protocol") if isinstance(summary.get("protocol"), dict) else {}
    config, reference = files.config, files.reference
    n_dis = _int(config.get("n_dis"))
    if n_dis is None:
        n_dis = _int((protocol.get("budget") or {}).get("n_dis"))
    g_steps = _int(summary.get("g_steps"))
    if g_steps is None:
        g_steps = _int(summary.get("step", status.get("step")))
    d_steps = _int(summary.get("d_steps"))
    if d_steps is None and g_steps is not None and n_dis is not None:
        d_steps = g_steps * n_dis
    noise = summary.get("eval_noise")
    noise_sd = noise.get("sd") if isinstance(noise, dict) and isinstance(noise.get("sd"), dict) else None
    eval_noise = {str(k): float(v) for k, v in noise_sd.items() if _float(v) is not None} if noise_sd else None
    expected = status.get("status") == "completed" and not reference
    manifest = _manifest(path)
    history = _aux_records(path, "history.jsonl", expected)
    return Run(path=path, variant=variant, dataset=dataset, seed=seed, status=status, metrics=clean,
               protocol=protocol, manifest=manifest,
               history=pd.DataFrame(history), history_records=history, config=config, summary=summary,
               evaluations=_aux_jsonl(path, "evaluations.jsonl", expected),
               steps=_int(config.get("steps")), reference=reference, grid=grid, point=point, n_dis=n_dis,
               setting="" if reference else str(spec.get("setting") or ""),
               g_steps=0 if reference and g_steps is None else g_steps, d_steps=0 if reference else d_steps,
               wall_time_s=_float(summary.get("wall_time_s")),
               eval_noise=eval_noise)


def collect_runs(runs_dir: str | Path) -> list[Run]:
    """Every usable run under `runs_dir`, each read once, sorted by data set, trained runs before
    reference rows, variant, grid point, seed. Raises HarnessError for a missing directory or one
    without any usable run."""
    root = Path(runs_dir)
    if not root.exists():
        raise HarnessError(f"runs directory not found: {root}")
    if not root.is_dir():
        raise HarnessError(f"not a directory: {root}")
    for d in sorted(p for p in root.rglob("seed-*") if p.is_dir() and not (p / "spec.json").exists()):
        warn_input(d, "missing spec.json", skipped=True)
    dirs = find_run_dirs(root)
    if not dirs:
        raise HarnessError(f"no runs found in {root} (expected <variant>/<dataset>/seed-<k>/spec.json)")
    runs = []
    for d in dirs:
        try:
            runs.append(_read_run(d))
        except _Skip as why:
            warn_input(d, str(why), skipped=True)
    if not runs:
        raise HarnessError(f"no finished runs in {root}: all {len(dirs)} were skipped (see the warnings)")
    return sorted(runs, key=lambda r: (r.dataset, r.reference, r.variant, r.point, r.seed))
