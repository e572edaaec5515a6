"""Run directories: atomic writes, status, environment manifest, and loading into pandas.

Layout of one run (``<root>/<variant>/<dataset>/seed-<k>/``):

- ``spec.json``          the resolved RunSpec and its fingerprint (written first)
- ``manifest.json``      environment (versions, device, git commit, numeric signature), data set geometry,
                         eval protocol
- ``status.json``        ``running`` | ``completed`` | ``diverged`` | ``failed``, with step and reason
- ``history.jsonl``      one probe record per ``log_every`` steps (append-only)
- ``evaluations.jsonl``  one record per evaluation (append-only)
- ``samples.npy``        final generated samples (the fixed evaluation latent bank)
- ``snapshots.npz``      (2-D data) samples and D on a grid at each evaluation step
- ``checkpoint.pt``      final G and D weights
- ``resume.pt``          (``checkpoint_every`` > 0, while the run is unfinished) the full training state
                         of the last checkpoint step, from which a killed run continues
- ``summary.json``       status, final metrics, wall time (written last)
- ``.lock``              the lock file: the process executing the run holds an exclusive flock on it

Every JSON file is written to a temporary file and renamed, so a reader never sees half a file; a
run whose status is not final is visibly incomplete, and the next sweep continues it from its
resume checkpoint or redoes it. One process at a time owns a run directory (``run_lock``).
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import socket
import platform
import re
import subprocess
import sys
import tempfile
import traceback
import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from .errors import HarnessError
from .spec import RunSpec

FINAL_STATUSES = ("completed", "diverged")
#: files a (re)started run writes; a redo removes them first so nothing of an old attempt remains
OUTPUT_FILES = ("history.jsonl", "evaluations.jsonl", "summary.json", "samples.npy", "snapshots.npz",
                "checkpoint.pt", "error.txt", "resume.pt")
#: the full training state of an unfinished run (harness.trainer), removed when the run finishes
RESUME_FILE = "resume.pt"
#: the file a run directory's owner holds an exclusive flock on
LOCK_FILE = ".lock"
ID_COLUMNS = ["variant", "dataset", "seed", "status"]


# ----------------------------------------------------------------------------- atomic writes
def _default_file_mode() -> int:
    """The mode open() would give a new file (0666 less the umask): mkstemp makes its files 0600,
    which would leave results unreadable to the rest of a group that shares a runs directory."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _default_file_mode())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def to_jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    return obj


def atomic_write_json(path: Path, obj: Any) -> None:
    # NaN and Infinity are kept (Python's json reads them back); never rounded on write
    atomic_write_bytes(path, (json.dumps(to_jsonable(obj), indent=2, sort_keys=True) + "\n").encode())


def atomic_write_npy(path: Path, arr: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, np.asarray(arr))
    atomic_write_bytes(path, buf.getvalue())


def atomic_write_npz(path: Path, **arrays: np.ndarray) -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def append_jsonl(path: Path, record: dict[str, Any]) -> None:
    """Append one line with a single write; readers ignore a torn last line."""
    line = json.dumps(to_jsonable(record), sort_keys=True) + "\n"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()


def read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if not Path(path).exists():
        return rows
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            if i >= len(lines) - 2:  # a torn final line from an interrupted run
                break
            raise
    return rows


# ----------------------------------------------------------------------------- environment
def git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if out.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def committed_report_dir(path: str | Path) -> bool:
    """Whether `path` lies in the `reports/` folder of the git checkout this harness runs from: the
    example reports committed with the code (a pip-installed harness has no such folder)."""
    root = Path(__file__).resolve().parents[1]
    if not (root / ".git").exists():
        return False
    try:
        Path(path).resolve().relative_to(root / "reports")
    except ValueError:
        return False
    return True


def dirty_refusal(commits: list[str], out: str | Path) -> str | None:
    """The one-line refusal for writing a report of runs made from an uncommitted working tree
    (commits ending in "-dirty") into a committed report folder; None when there is nothing to refuse."""
    dirty = sorted({c for c in commits if c and c.endswith("-dirty")})
    if not dirty or not committed_report_dir(out):
        return None
    return (f"{out} is a committed report folder, but the runs come from a working tree with uncommitted changes "
            f"(code commit {dirty[0]}): commit first, or pass --allow-dirty (the report then says so)")


def harness_version() -> str:
    """The installed distribution's version ('unknown' when the package runs from a bare checkout)."""
    try:
        return metadata.version("gan-harness")
    except metadata.PackageNotFoundError:
        return "unknown"


#: environment variables that change which CPU/GPU kernels run, or how they reduce (numeric_signature)
KERNEL_ENV_VARS = ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "MKL_CBWR",
                   "MKL_ENABLE_INSTRUCTIONS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "CUBLAS_WORKSPACE_CONFIG")


def cpu_model() -> str:
    """The CPU's model name: /proc/cpuinfo "model name" (Linux), else platform.processor(), else "unknown"."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                key, sep, value = line.partition(":")
                if sep and key.strip() == "model name" and value.strip():
                    return " ".join(value.split())
    except OSError:
        pass
    return platform.processor() or "unknown"


def _torch_build(torch: Any) -> dict[str, Any]:
    """BLAS/LAPACK and oneDNN (MKL-DNN) facts from ``torch.__config__.show()``, kept short."""
    try:
        shown = torch.__config__.show()
    except Exception:  # pragma: no cover - a torch without the config module
        shown = ""
    lines = [ln.strip().lstrip("- ").strip() for ln in shown.splitlines()]

    def setting(name: str) -> str | None:
        m = re.search(rf"\b{name}=([^,\s]*)", shown)
        return m.group(1) if m else None

    def line_with(*needles: str) -> str | None:
        return next((ln for ln in lines if any(n in ln for n in needles)), None)

    return {"blas_info": setting("BLAS_INFO"), "lapack_info": setting("LAPACK_INFO"),
            "mkl_available": bool(torch.backends.mkl.is_available()),
            "mkl_version": line_with("Math Kernel Library"),
            "onednn_available": bool(torch.backends.mkldnn.is_available()),
            "onednn_version": line_with("MKL-DNN", "oneDNN")}


def numeric_signature(device: str) -> dict[str, Any]:
    """What decides a run's float results bit for bit on this machine, and a short id of it.

    The harness promises the same numbers for the same spec *on the same machine* (harness.trainer);
    this names "the same machine" so that two runs, or a run and a recorded baseline, can say
    whether an exact comparison is meaningful (same ``signature_id``) or only a statistical one.
    Recorded in each run's manifest.json, inside the run (under harness.trainer.deterministic), so
    every value is the one in effect while the run trained.

    - ``cpu_model``: float kernels are chosen per CPU (vector width, FMA), and the reduction order
      and rounding of sums and matrix products follow the chosen kernel.
    - ``cpu_capability``: the ISA torch's own kernels dispatch to (``DEFAULT``, ``AVX2``,
      ``AVX512``, ...); two machines with different capability reduce in different orders.
    - ``build``: BLAS/LAPACK (``BLAS_INFO``, ``LAPACK_INFO``, the MKL version line) and oneDNN
      (MKL-DNN) availability and version: the libraries that do matmuls and convolutions, each
      with its own blocking and summation order.
    - ``torch_version``: kernels and their dispatch change between releases.
    - ``threads``: intra-op threads split reductions into per-thread partial sums (a different
      count adds in a different order); inter-op threads are recorded with them.
    - ``env``: the variables among KERNEL_ENV_VARS that are set: ONEDNN_MAX_CPU_ISA /
      DNNL_MAX_CPU_ISA and ATEN_CPU_CAPABILITY cap the ISA oneDNN / torch use, MKL_CBWR and
      MKL_ENABLE_INSTRUCTIONS fix MKL's code path, OMP_NUM_THREADS / MKL_NUM_THREADS the threads,
      CUBLAS_WORKSPACE_CONFIG makes cuBLAS deterministic (the harness sets ``:4096:8`` on CUDA).
    - ``float32_matmul_precision`` and, on CUDA, ``allow_tf32``: "high"/"medium" or TF32 let
      float32 matmuls and convolutions run in reduced precision (TF32 on CUDA, bfloat16 passes in
      oneDNN).
    - ``device_type`` (``cpu``, ``cuda``; not the index: two identical GPUs give the same numbers)
      and for CUDA ``gpu_name``, ``gpu_capability``, ``cuda_version``, ``cudnn_version``: the GPU
      kernels (cuBLAS, cuDNN) are chosen per GPU architecture and per library version.
    - ``deterministic_algorithms`` (and warn-only), ``cudnn_deterministic``, ``cudnn_benchmark``:
      recorded, not hashed: the harness sets them the same way for every run
      (``torch.use_deterministic_algorithms(True)``, warn-only on CUDA; cudnn.benchmark off), so
      they say whether a run was made under the harness's own settings; reference pseudo-runs,
      which train nothing, are scored outside them and keep the same ``signature_id``.

    ``signature_id``: the first 16 hex digits of the SHA-256 of the JSON (sorted keys) of every
    field above except the recorded-only determinism flags.
    """
    import torch

    get_capability = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", None)
    sig: dict[str, Any] = {
        "cpu_model": cpu_model(),
        "cpu_capability": get_capability() if get_capability is not None else "unknown",
        "build": _torch_build(torch),
        "torch_version": torch.__version__,
        "threads": {"intra_op": torch.get_num_threads(), "inter_op": torch.get_num_interop_threads()},
        "env": {k: os.environ[k] for k in KERNEL_ENV_VARS if k in os.environ},
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "device_type": torch.device(device).type,
    }
    if sig["device_type"] == "cuda" and torch.cuda.is_available():
        dev = torch.device(device)
        sig["allow_tf32"] = {"cuda_matmul": bool(torch.backends.cuda.matmul.allow_tf32),
                             "cudnn": bool(torch.backends.cudnn.allow_tf32)}
        sig["gpu_name"] = torch.cuda.get_device_name(dev)
        sig["gpu_capability"] = ".".join(map(str, torch.cuda.get_device_capability(dev)))
        sig["cuda_version"] = torch.version.cuda
        sig["cudnn_version"] = torch.backends.cudnn.version()
    sig["signature_id"] = signature_id(sig)
    sig["deterministic_algorithms"] = bool(torch.are_deterministic_algorithms_enabled())
    sig["deterministic_warn_only"] = bool(torch.is_deterministic_algorithms_warn_only_enabled())
    sig["cudnn_deterministic"] = bool(torch.backends.cudnn.deterministic)
    sig["cudnn_benchmark"] = bool(torch.backends.cudnn.benchmark)
    return sig


#: numeric_signature fields recorded but left out of signature_id (see its docstring)
UNHASHED_SIGNATURE_FIELDS = ("signature_id", "deterministic_algorithms", "deterministic_warn_only",
                             "cudnn_deterministic", "cudnn_benchmark")


def signature_id(signature: dict[str, Any]) -> str:
    """The id of a numeric signature: sha256 (first 16 hex) of its hashed fields as sorted-key JSON."""
    hashed = {k: v for k, v in signature.items() if k not in UNHASHED_SIGNATURE_FIELDS}
    return hashlib.sha256(json.dumps(hashed, sort_keys=True).encode()).hexdigest()[:16]


def environment(device: str) -> dict[str, Any]:
    import scipy
    import torch

    versions = {"python": sys.version.split()[0], "gan-harness": harness_version(), "torch": torch.__version__,
                "numpy": np.__version__, "scipy": scipy.__version__, "pandas": pd.__version__}
    for dist in ("torchmetrics", "seaborn"):
        try:
            versions[dist] = metadata.version(dist)  # without importing it (slow)
        except metadata.PackageNotFoundError:  # pragma: no cover
            pass
    env = {"versions": versions, "platform": platform.platform(), "machine": platform.machine(),
           "device": device, "torch_threads": torch.get_num_threads(), "git_commit": git_commit()}
    if device.startswith("cuda") and torch.cuda.is_available():
        env["cuda_device_name"] = torch.cuda.get_device_name(torch.device(device))
        env["cuda_version"] = torch.version.cuda
    env["numeric_signature"] = numeric_signature(device)
    return env


# ----------------------------------------------------------------------------- run directories
def path_component(name: str) -> str:
    """`name` as one directory name: '%' and '/' percent-encoded (%25, %2F), so that distinct names
    stay distinct; e.g. a centres file's path in a data set name. Other characters (':', '=', ',')
    are kept: the directory reads like the name."""
    return name.replace("%", "%25").replace("/", "%2F")


def run_dir(root: Path, spec: RunSpec) -> Path:
    """``<root>/<variant>/<dataset>/seed-<k>``, or ``.../<dataset>/<grid point>/seed-<k>`` in a grid
    sweep (the data set name through :func:`path_component`)."""
    base = Path(root) / spec.variant / path_component(spec.dataset)
    return (base / spec.point if spec.grid else base) / f"seed-{spec.seed}"


def read_status(path: Path) -> dict[str, Any] | None:
    try:
        return read_json(Path(path) / "status.json")
    except (OSError, json.JSONDecodeError):
        return None


def is_finished(path: Path) -> bool:
    """Completed or diverged (a divergence is a result), with its summary written."""
    status = read_status(path)
    return bool(status and status.get("status") in FINAL_STATUSES and (Path(path) / "summary.json").exists())


def stored_spec(path: Path) -> RunSpec | None:
    try:
        return RunSpec.from_dict(read_json(Path(path) / "spec.json"))
    except (OSError, json.JSONDecodeError, KeyError, HarnessError):
        return None


def config_differences(a: RunSpec, b: RunSpec) -> list[str]:
    da, db = a.to_dict(), b.to_dict()
    diffs = [k for k in ("variant", "dataset", "seed") if da[k] != db[k]]
    diffs += [k for k in da["config"] if da["config"][k] != db["config"].get(k)]
    return diffs


def find_run_dirs(root: Path) -> list[Path]:
    return sorted(p.parent for p in Path(root).rglob("spec.json"))


def load_history(path: Path) -> pd.DataFrame:
    """The probe records of one run, one row per logged step."""
    return pd.DataFrame(read_jsonl(Path(path) / "history.jsonl"))


def load_evaluations(path: Path) -> pd.DataFrame:
    """The evaluations of one run, one row per evaluated step."""
    return pd.DataFrame(read_jsonl(Path(path) / "evaluations.jsonl"))


def grid_point(path: Path, spec: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """(grid point, its label) of the run at `path` with spec.json `spec`: ({}, "") without a grid;
    otherwise spec's "grid" and the name of the run's <point> directory (the parent of seed-<k>)."""
    grid = spec.get("grid") or {}
    if not isinstance(grid, dict):
        raise TypeError(f"spec.json 'grid' must be an object, got {type(grid).__name__}")
    return grid, (Path(path).parent.name if grid else "")


class UnreadableRun(ValueError):
    """A run directory whose files cannot be read as a run; the message names the file and why."""


@dataclass(frozen=True)
class RunFiles:
    """The files of one run directory, parsed once: what every reader of runs starts from
    (:func:`load_runs`, the report's collect_runs, `record`)."""
    path: Path
    spec: dict[str, Any]
    status: dict[str, Any]  # {} when status.json is missing or unreadable (a run still starting)
    summary: dict[str, Any] | None  # None until the run is finished
    variant: str
    dataset: str
    seed: int
    grid: dict[str, Any]
    point: str
    status_problem: str | None = None  # why status.json gave nothing ("missing status.json", ...)

    @property
    def state(self) -> str:
        return str(self.status.get("status", "unknown"))

    @property
    def reference(self) -> bool:
        return self.spec.get("reference") is True or isinstance((self.summary or {}).get("reference"), str)

    @property
    def config(self) -> dict[str, Any]:
        cfg = self.spec.get("config")
        return cfg if isinstance(cfg, dict) else {}


def _json_object(path: Path, name: str, missing_ok: bool = False) -> dict[str, Any] | None:
    try:
        obj = read_json(path / name)
    except FileNotFoundError:
        if missing_ok:
            return None
        raise UnreadableRun(f"missing {name}") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise UnreadableRun(f"unreadable {name} ({type(exc).__name__}: {exc})") from None
    if not isinstance(obj, dict):
        raise UnreadableRun(f"{name} is not a JSON object")
    return obj


def read_run(path: str | Path) -> RunFiles:
    """spec.json (required: variant, dataset, seed, and a grid object if any), status.json and
    summary.json (None before the run finishes) of the run at `path`; UnreadableRun naming the
    file and the problem otherwise."""
    path = Path(path)
    spec = _json_object(path, "spec.json")
    try:
        variant, dataset, seed = str(spec["variant"]), str(spec["dataset"]), int(spec["seed"])
        grid, point = grid_point(path, spec)
    except (KeyError, TypeError, ValueError) as exc:
        raise UnreadableRun(f"spec.json lacks a usable variant, dataset, seed or grid ({type(exc).__name__}: "
                            f"{exc})") from None
    problem = None
    try:
        status = _json_object(path, "status.json")
    except UnreadableRun as why:  # missing, or being written: the run is not finished
        status, problem = {}, str(why)
    summary = _json_object(path, "summary.json", missing_ok=True)
    return RunFiles(path, spec, status, summary, variant, dataset, seed, grid, point, problem)


def _row(path: Path) -> dict[str, Any]:
    f = read_run(path)
    row: dict[str, Any] = {"variant": f.variant, "dataset": f.dataset, "seed": f.seed,
                           "status": f.state, "step": f.status.get("step"),
                           "reason": f.status.get("reason"), "steps": f.config.get("steps"),
                           "fingerprint": f.spec.get("fingerprint"), "device": f.spec.get("device"),
                           "run_dir": str(path), "reference": f.spec.get("reference") is True,
                           "grid": json.dumps(f.grid, sort_keys=True), "point": f.point,
                           "setting": f.spec.get("setting", "")}
    if f.summary is not None:
        row["wall_time_s"] = f.summary.get("wall_time_s")
        row["protocol"] = json.dumps(f.summary.get("protocol", {}), sort_keys=True)
        for key, value in f.summary.get("metrics", {}).items():
            row[key] = value
    row["diverged_step"] = row["step"] if row["status"] == "diverged" else None
    return row


def load_runs(path: str | Path) -> pd.DataFrame:
    """One row per run under `path`: variant, dataset, seed, status, step, reason, wall time, one
    column per final metric (modes_covered, hq_fraction, reverse_kl, frechet_distance, w1, ...),
    the protocol (JSON), run_dir, "reference" (True for the reference pseudo-runs real, null-*),
    "grid" (the grid point as JSON, "{}" without one), "point" (its label, "" without one) and
    "setting" (the named hyper-parameter setting, "" for references and runs that predate settings).
    Unreadable runs are skipped with a warning naming each."""
    root = Path(path)
    if not root.exists():
        raise HarnessError(f"runs directory not found: {root}")
    if not root.is_dir():
        raise HarnessError(f"not a directory: {root}")
    rows = []
    for d in find_run_dirs(root):
        try:
            rows.append(_row(d))
        except (UnreadableRun, AttributeError, TypeError) as exc:
            warnings.warn(f"skipping unreadable run {d}: {type(exc).__name__}: {exc}", stacklevel=2)
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=ID_COLUMNS)
    return df.sort_values(["dataset", "variant", "point", "seed"], kind="stable").reset_index(drop=True)


# ----------------------------------------------------------------------------- ownership
class RunBusy(HarnessError):
    """Another live process holds the run directory."""


_HELD: dict[str, list[int]] = {}  # real path -> [fd, depth] of the locks this process holds


def lock_holder(path: Path) -> str:
    """'pid P on HOST' as the current (or last) owner wrote it into the lock file, or 'unknown'."""
    try:
        return (Path(path) / LOCK_FILE).read_text().strip() or "unknown"
    except OSError:
        return "unknown"


@contextlib.contextmanager
def run_lock(path: Path, *, wait: bool = False, lock_file: bool = True) -> Iterator[None]:
    """Own directory `path` for the duration: an exclusive ``fcntl.flock`` on ``path/.lock`` (into
    which the owner writes its pid and host), or with `lock_file` False on the directory itself
    (no file left behind: report directories that are committed).

    The OS releases the lock when its owner exits or is killed, so a lock never outlives its
    process and needs no cleaning up (the file stays). Without `wait`, raise RunBusy (naming the
    owner) when another process holds it; with `wait`, block until it is free. Re-entrant within
    one process. flock needs a file system that supports it across the processes involved (any
    local one; NFS with working locks)."""
    path = Path(path)
    key = os.path.realpath(path)
    if key in _HELD:
        _HELD[key][1] += 1
        try:
            yield
        finally:
            _HELD[key][1] -= 1
        return
    path.mkdir(parents=True, exist_ok=True)
    fd = os.open(path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666) if lock_file else os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        os.close(fd)
        raise RunBusy(f"{path} is owned by another live process ({lock_holder(path)})") from None
    except BaseException:
        os.close(fd)
        raise
    try:
        if lock_file:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        _HELD[key] = [fd, 1]
        yield
    finally:
        _HELD.pop(key, None)
        os.close(fd)  # releases the lock


# ----------------------------------------------------------------------------- writing a run
class RunWriter:
    """Writes one run directory as training goes (or nothing, when path is None)."""

    def __init__(self, path: Path | None):
        self.path = Path(path) if path is not None else None

    def start(self, spec: RunSpec, manifest: dict[str, Any]) -> None:
        if self.path is None:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        for name in OUTPUT_FILES:
            (self.path / name).unlink(missing_ok=True)  # a redo starts clean
        self.status("running", 0, None)
        atomic_write_json(self.path / "spec.json", {**spec.to_dict(), "fingerprint": spec.fingerprint()})
        atomic_write_json(self.path / "manifest.json", manifest)

    def resume(self, spec: RunSpec, step: int, offsets: dict[str, int], resumed: dict[str, Any]) -> None:
        """Continue a run from its resume checkpoint at `step`: history.jsonl and evaluations.jsonl
        are cut back to the byte sizes they had at the checkpoint (`offsets`), the files of a
        finished attempt are removed, and manifest.json gains an entry under "resumes"."""
        if self.path is None:
            return
        for name in OUTPUT_FILES:
            if name not in offsets and name != RESUME_FILE:
                (self.path / name).unlink(missing_ok=True)
        for name, size in offsets.items():
            with open(self.path / name, "r+b") as fh:
                fh.truncate(size)
                fh.flush()
                os.fsync(fh.fileno())
        self.status("running", step, None)
        atomic_write_json(self.path / "spec.json", {**spec.to_dict(), "fingerprint": spec.fingerprint()})
        try:
            manifest = read_json(self.path / "manifest.json")
        except (OSError, json.JSONDecodeError):
            manifest = {}
        manifest = {**manifest, "resumes": [*manifest.get("resumes", []), resumed]}
        atomic_write_json(self.path / "manifest.json", manifest)

    def jsonl_sizes(self) -> dict[str, int]:
        """The byte sizes of history.jsonl and evaluations.jsonl, after forcing them to disk (a
        resume checkpoint must never point past what a crash of the machine could leave)."""
        sizes = {}
        for name in ("history.jsonl", "evaluations.jsonl"):
            with open(self.path / name, "ab") as fh:
                os.fsync(fh.fileno())
                sizes[name] = fh.tell()
        return sizes

    def checkpoint(self, state: dict[str, Any]) -> None:
        """Write the resume checkpoint (`state` plus the jsonl sizes under "offsets") atomically."""
        if self.path is None:
            return
        import torch

        buf = io.BytesIO()
        torch.save({**state, "offsets": self.jsonl_sizes()}, buf)
        atomic_write_bytes(self.path / RESUME_FILE, buf.getvalue())

    def status(self, status: str, step: int, reason: str | None) -> None:
        if self.path is not None:
            atomic_write_json(self.path / "status.json", {"status": status, "step": step, "reason": reason})

    def history(self, record: dict[str, Any]) -> None:
        if self.path is not None:
            append_jsonl(self.path / "history.jsonl", record)

    def evaluation(self, record: dict[str, Any]) -> None:
        if self.path is not None:
            append_jsonl(self.path / "evaluations.jsonl", record)

    def finish(self, summary: dict[str, Any], samples: np.ndarray | None, snapshots: dict[str, np.ndarray] | None,
               checkpoint: dict[str, Any]) -> None:
        if self.path is None:
            return
        import torch

        if samples is not None:
            atomic_write_npy(self.path / "samples.npy", samples)
        if snapshots:
            atomic_write_npz(self.path / "snapshots.npz", **snapshots)
        buf = io.BytesIO()
        torch.save(checkpoint, buf)
        atomic_write_bytes(self.path / "checkpoint.pt", buf.getvalue())
        atomic_write_json(self.path / "summary.json", summary)
        self.status(summary["status"], summary["step"], summary["reason"])  # marks the run final
        (self.path / RESUME_FILE).unlink(missing_ok=True)  # a finished run is never resumed

    def fail(self, step: int, exc: BaseException) -> None:
        if self.path is None:
            return
        atomic_write_bytes(self.path / "error.txt", traceback.format_exc().encode())
        self.status("failed", step, f"{type(exc).__name__}: {exc}")
