"""An on-disk cache for real-data features and statistics, keyed by everything they depend on.

Real reference features are computed once per (data set content, reference draw, extractor and its
weights' hash, ...) and stored as ``<cache>/<kind>/<hash>.npz`` with the key beside the arrays.
Cache folder: ``$GAN_HARNESS_CACHE``, else ``~/.cache/gan-harness``. Writes are atomic (a temporary
file in the same folder, then ``os.replace``), so concurrent runs never read half a file; a cache
that cannot be written only costs recomputation.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

CACHE_VERSION = 1


def cache_dir() -> Path:
    env = os.environ.get("GAN_HARNESS_CACHE", "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "gan-harness"


def key_hash(key: Mapping[str, Any]) -> str:
    payload = json.dumps({"cache_version": CACHE_VERSION, **key}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def atomic_save_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    from ..runs import atomic_write_bytes

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def cached_arrays(kind: str, key: Mapping[str, Any], compute: Callable[[], Mapping[str, np.ndarray]],
                  enabled: bool = True) -> dict[str, np.ndarray]:
    """The arrays for `key`, from the cache when present and intact, else computed and stored."""
    if not enabled:
        return dict(compute())
    path = cache_dir() / kind / f"{key_hash(key)}.npz"
    key_json = json.dumps(key, sort_keys=True, default=str)
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                if str(z["__key__"]) == key_json:
                    return {k: z[k] for k in z.files if k != "__key__"}
        except Exception:  # a truncated or foreign file: recompute and overwrite
            pass
    arrays = dict(compute())
    try:
        atomic_save_npz(path, {**arrays, "__key__": np.asarray(key_json)})
    except OSError as exc:
        warnings.warn(f"gan-harness: could not write the cache file {path}: {exc}", stacklevel=2)
    return arrays
