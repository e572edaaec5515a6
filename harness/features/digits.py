"""``digits-classifier``: a small CNN trained on scikit-learn's 8x8 digits (training split).

Its penultimate layer (64 ReLU units) is the feature space of FID/KID/PR/DC on digit data, and its
argmax labels each channel of a sample (the mode of a stacked sample is the triple of labels).
Inputs of any size are first resized to 8x8 by area averaging (the inverse of the harness' own
up-sampling up to bilinear blur, which the training augmentation covers); each channel is
classified on its own, and a C-channel image gets the C per-channel feature vectors concatenated
(dimension 64 C). The network runs in float32 (the metric math after it in float64). Channels are
processed one after the other (channel c of every image, then channel c + 1), each in fixed chunks,
so a channel's features never depend on the batch size or on the other channels, by construction.

The weights file ``digits_classifier.pt`` ships with the package; it was made by
``python -m harness.features.train_digits`` (deterministic, one CPU thread) and its SHA-256 is
checked on load. Held-out accuracy: see ``ACCURACY`` below and docs/IMAGES.md.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import HarnessError
from .base import FEATURES, FeatureExtractor, as_images, chunked, sha256_file_cached

WEIGHTS_FILE = Path(__file__).with_name("digits_classifier.pt")
WEIGHTS_SHA256 = "3f58a82e823b6a71495f0474f9ddadd57a2d633ec414b5598e3aa6c3c4fb8441"
TRAIN_COMMAND = "python -m harness.features.train_digits"
#: held-out accuracy on the digits test split, as printed by TRAIN_COMMAND (native 8x8, and after
#: bilinear up-sampling to 16x16 / 32x32 then area down-sampling back to 8x8)
ACCURACY = {"8": 353 / 359, "16": 354 / 359, "32": 354 / 359}  # 0.9833, 0.9861, 0.9861
NATIVE = 8
EMBED = 64


class DigitNet(nn.Module):
    """1 x 8 x 8 -> 64-d embedding (ReLU) -> 10 logits."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),  # 4 x 4
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),  # 2 x 2
            nn.Flatten(), nn.Linear(64 * 2 * 2, EMBED), nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(EMBED, 10))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def to_native(x: torch.Tensor) -> torch.Tensor:
    """(n, C, H, W) -> (n * C, 1, 8, 8): channels apart, area-resized to 8 x 8."""
    n, c, h, w = x.shape
    x = x.reshape(n * c, 1, h, w)
    if (h, w) != (NATIVE, NATIVE):
        x = F.interpolate(x, size=(NATIVE, NATIVE), mode="area")
    return x


class DigitsClassifier(FeatureExtractor):
    name = "digits-classifier"
    is_classifier = True

    def __init__(self, weights: str | Path = "", device: str | torch.device = "cpu"):
        path = Path(weights) if weights else WEIGHTS_FILE
        if not path.is_file():
            raise HarnessError(f"digits-classifier weights not found at {path}; make them with `{TRAIN_COMMAND}`")
        self.path = path
        self._sha = sha256_file_cached(path)
        if not weights and self._sha != WEIGHTS_SHA256:
            raise HarnessError(f"{path} has SHA-256 {self._sha}, expected {WEIGHTS_SHA256}; "
                               f"restore the packaged file or rebuild it with `{TRAIN_COMMAND}`")
        net = DigitNet()
        try:
            net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        except Exception as exc:
            raise HarnessError(f"cannot load digits-classifier weights from {path}: {exc}") from None
        self.net = net.eval()
        self.to(device)

    def dim(self, channels: int) -> int:
        return EMBED * int(channels)

    def weights_sha256(self) -> str:
        return self._sha

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "weights_sha256": self._sha, "layer": f"penultimate ({EMBED} ReLU units) per channel",
                "resize": "area to 8x8", "dtype": "float32", "source": f"{TRAIN_COMMAND} (harness/features/digits.py)"}

    chunk = 512  # single-channel 8 x 8 inputs per forward

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.embed(to_native(x.float()))

    def _labels(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(to_native(x.float())).argmax(dim=1)

    def _per_channel(self, fn, images: Any, dtype: type) -> np.ndarray:
        x = as_images(images)
        parts = [chunked(fn, x[:, c:c + 1], self.chunk, self.device, dtype) for c in range(x.shape[1])]
        return np.concatenate([p.reshape(len(x), -1) for p in parts], axis=1)

    def features(self, images: Any) -> np.ndarray:
        return self._per_channel(self._features, images, np.float64)

    def labels(self, images: Any) -> np.ndarray:
        return self._per_channel(self._labels, images, np.int64)

    def features_and_labels(self, images: Any) -> tuple[np.ndarray, np.ndarray]:
        """One forward of the body per chunk: the embedding, and the head's argmax on it."""
        def both(x: torch.Tensor) -> torch.Tensor:
            e = self.net.embed(to_native(x.float()))
            return torch.cat([e, self.net.head(e).argmax(dim=1, keepdim=True).to(e.dtype)], dim=1)

        out = self._per_channel(both, images, np.float64).reshape(-1, EMBED + 1)  # rows: (image, channel)
        n = len(out) // max(1, as_images(images).shape[1])
        feats = out[:, :EMBED].reshape(n, -1)
        labels = out[:, EMBED].astype(np.int64).reshape(n, -1)
        return feats, labels


def _factory(weights: str = "", device: str = "cpu", **_: Any) -> DigitsClassifier:
    return DigitsClassifier(weights=weights, device=device)


FEATURES.register("digits-classifier", _factory)
