"""Feature extractors for image metrics: a registry of factories ``(**options) -> FeatureExtractor``.

An extractor maps images, float (N, C, H, W) in [-1, 1], to feature vectors (N, d) for FID, KID,
precision/recall and density/coverage; one that is a classifier also labels each channel (mode
counting on stacked data). Every extractor names the hash of its weights, which goes into each
number's protocol and into the key of the cached real-data statistics.

Built in: ``digits-classifier`` (a small CNN trained on scikit-learn's digits, weights shipped with
the package) and ``inception-v3`` (the standard FID network, used only when its weights file is on
disk: nothing is ever downloaded). Register your own with ``FEATURES.register(name, factory)`` or
the ``gan_harness.features`` entry point.
"""
from __future__ import annotations

import abc
import hashlib
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from ..errors import HarnessError
from ..registry import Registry


class FeatureExtractor(abc.ABC):
    name: str = ""
    #: True when the extractor can label digits (``labels``): mode counting on stacked data
    is_classifier: bool = False

    @abc.abstractmethod
    def dim(self, channels: int) -> int:
        """Feature width for images with `channels` channels."""

    @abc.abstractmethod
    def weights_sha256(self) -> str:
        """SHA-256 of the weights file the features come from."""

    @abc.abstractmethod
    def _features(self, x: torch.Tensor) -> torch.Tensor:
        """One batch: float (n, C, H, W) in [-1, 1] on the extractor's device -> (n, d)."""

    def _labels(self, x: torch.Tensor) -> torch.Tensor:
        raise HarnessError(f"feature extractor {self.name!r} is not a classifier and cannot label samples")

    def describe(self) -> dict[str, Any]:
        """Protocol entry: everything the features depend on."""
        return {"name": self.name, "weights_sha256": self.weights_sha256()}

    #: the torch module features come from (moved by ``to``); None for extractors without one
    net: torch.nn.Module | None = None
    _device: torch.device = torch.device("cpu")

    def to(self, device: str | torch.device) -> "FeatureExtractor":
        self._device = torch.device(device)
        if self.net is not None:
            self.net.to(self._device)
        return self

    @property
    def device(self) -> torch.device:
        return self._device

    # ------------------------------------------------------------------ batched entry points
    def features(self, images: Any, batch_size: int = 500) -> np.ndarray:
        """Features of all images, extracted in batches under no_grad; float64 (N, d)."""
        return _batched(self._features, images, batch_size, self.device, np.float64)

    def labels(self, images: Any, batch_size: int = 500) -> np.ndarray:
        """Predicted class of each channel, int64 (N, C)."""
        return _batched(self._labels, images, batch_size, self.device, np.int64)

    def features_and_labels(self, images: Any, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
        """Both at once (a classifier overrides this with a single forward pass)."""
        return self.features(images, batch_size), self.labels(images, batch_size)


def _batched(fn: Callable[[torch.Tensor], torch.Tensor], images: Any, batch_size: int, device: torch.device,
             dtype: type) -> np.ndarray:
    x = images if isinstance(images, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(images))
    if x.ndim != 4:
        raise HarnessError(f"feature extraction needs images of shape (N, C, H, W), got {tuple(x.shape)}")
    outs = []
    with torch.no_grad():
        for i in range(0, len(x), max(int(batch_size), 1)):
            outs.append(fn(x[i:i + batch_size].to(device)).cpu().numpy().astype(dtype, copy=False))
    if not outs:
        raise HarnessError("feature extraction got no images")
    return np.concatenate(outs)


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_HASHES: dict[tuple[str, int, int], str] = {}


def sha256_file_cached(path: str | os.PathLike) -> str:
    """sha256_file, remembered per (path, size, mtime) for the life of the process."""
    st = os.stat(path)
    key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        _HASHES[key] = sha256_file(path)
    return _HASHES[key]


FeatureFactory = Callable[..., FeatureExtractor]
FEATURES: Registry[FeatureFactory] = Registry("feature extractor", entry_point_group="gan_harness.features")


def get_features(name: str, **options: Any) -> FeatureExtractor:
    """Build a registered extractor; options (``device``, ``weights``) go to its factory."""
    return FEATURES.get(name)(**options)


from . import digits, inception  # noqa: E402,F401  (register digits-classifier, inception-v3)
