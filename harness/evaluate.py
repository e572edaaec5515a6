"""Score samples from any GAN with a data set's evaluator: the way users check their own
implementation without our trainer."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .data import canonical_dataset
from .errors import HarnessError
from .resolve import check_device, dataset_defaults, make_dataset, make_evaluator
from .spec import make_config

SAMPLE_KEYS = ("samples", "x", "arr_0")


def load_samples(path: str | Path) -> np.ndarray:
    """An array from .npy, .npz (key 'samples' or its only array) or .pt (tensor or {'samples': tensor})."""
    path = Path(path)
    if not path.exists():
        raise HarnessError(f"samples file not found: {path}")
    if path.is_dir():
        raise HarnessError(f"samples path is a directory, expected a .npy, .npz or .pt file: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            return np.load(path, allow_pickle=False)
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                keys = list(z.keys())
                key = next((k for k in SAMPLE_KEYS if k in keys), keys[0] if len(keys) == 1 else None)
                if key is None:
                    raise HarnessError(f"{path}: .npz holds {keys}; name the samples array 'samples'")
                return z[key]
        if suffix == ".pt":
            import torch

            obj = torch.load(path, map_location="cpu", weights_only=True)
            if isinstance(obj, dict):
                key = next((k for k in SAMPLE_KEYS if k in obj), None)
                if key is None:
                    raise HarnessError(f"{path}: .pt holds a dict without a 'samples' tensor (keys: {sorted(obj)})")
                obj = obj[key]
            if not isinstance(obj, torch.Tensor):
                raise HarnessError(f"{path}: expected a tensor, got {type(obj).__name__}")
            return obj.detach().cpu().numpy()
    except HarnessError:
        raise
    except Exception as exc:
        raise HarnessError(f"could not read samples from {path}: {type(exc).__name__}: {exc}") from None
    raise HarnessError(f"unsupported samples file type {suffix!r} ({path}); use .npy, .npz or .pt")


def evaluate_samples(samples: Any, dataset: str, overrides: Mapping[str, Any] | None = None,
                     device: str = "cpu") -> dict[str, float]:
    """Metrics for `samples` (an array, tensor or file path) against `dataset`, with the same names
    and protocol as a run's final evaluation."""
    dataset = canonical_dataset(dataset)
    cfg = make_config(dataset_defaults(dataset), overrides or {})
    check_device(device)
    data = make_dataset(dataset, cfg)
    evaluator = make_evaluator(data, cfg, device)  # options and preconditions, before reading the samples
    arr = load_samples(samples) if isinstance(samples, (str, Path)) else samples
    return evaluator.evaluate(evaluator.check_samples(arr))
