"""Base type of feature extractors, batching and hashing helpers, and the FEATURES registry (see harness.features)."""
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

    #: images per network forward. Fixed per extractor, never the caller's choice: CPU libraries
    #: (oneDNN) pick different kernels for different batch shapes, and their float results differ in
    #: the last bits (seen on AVX-512), so every forward has exactly this many images (the last chunk
    #: is zero-padded) and image i always sits at position i mod chunk. Features of a data set then
    #: do not depend on how callers batch it, and a prefix of the images gets the same features alone.
    chunk: int = 256

    # ------------------------------------------------------------------ batched entry points
    def features(self, images: Any) -> np.ndarray:
        """Features of all images, extracted in fixed chunks under no_grad; float64 (N, d)."""
        return chunked(self._features, images, self.chunk, self.device, np.float64)

    def labels(self, images: Any) -> np.ndarray:
        """Predicted class of each channel, int64 (N, C)."""
        return chunked(self._labels, images, self.chunk, self.device, np.int64)

    def features_and_labels(self, images: Any) -> tuple[np.ndarray, np.ndarray]:
        """Both at once (a classifier overrides this with a single forward pass)."""
        return self.features(images), self.labels(images)


def as_images(images: Any) -> torch.Tensor:
    x = images if isinstance(images, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(images))
    if x.ndim != 4:
        raise HarnessError(f"feature extraction needs images of shape (N, C, H, W), got {tuple(x.shape)}")
    if len(x) == 0:
        raise HarnessError("feature extraction got no images")
    return x


def chunked(fn: Callable[[torch.Tensor], torch.Tensor], images: Any, chunk: int, device: torch.device,
            dtype: type) -> np.ndarray:
    """`fn` over `images` in forwards of exactly `chunk` items (the last one zero-padded, the padding
    dropped), so each item's result depends only on the item and its index mod `chunk`."""
    x = as_images(images)
    n, outs = len(x), []
    with torch.no_grad():
        for i in range(0, n, chunk):
            part = x[i:i + chunk]
            if len(part) < chunk:
                part = torch.cat([part, part.new_zeros((chunk - len(part),) + tuple(part.shape[1:]))])
            out = fn(part.to(device))[:min(chunk, n - i)]
            outs.append(out.cpu().numpy().astype(dtype, copy=False))
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
