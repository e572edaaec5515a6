"""``inception-v3``: the standard FID network (pool3, 2,048-d), through torchmetrics/torch-fidelity.

Used only when its weights file is on disk; nothing is ever downloaded. The file is torch-fidelity's
``weights-inception-2015-12-05-6726825d.pth`` (the TensorFlow FID graph converted to PyTorch), looked
up, in order, at the path given as the ``weights`` option (the evaluator's ``feature_weights``), then
in ``torch.hub.get_dir()/checkpoints/`` (``$TORCH_HOME/hub/checkpoints/``, by default
``~/.cache/torch/hub/checkpoints/``).

Images in [-1, 1] are quantised to uint8 (round((x + 1) * 127.5)), grey images repeated to three
channels, and resized to 299 x 299 with the TensorFlow-1.x-compatible bilinear resize
(``antialias=False``, as the TensorFlow reference FID; torchmetrics >= 1.8 defaults to
antialias=True, which gives different numbers).

Needs the optional extra: ``pip install 'gan-harness[inception]'`` (torch-fidelity, which needs
torchvision; see docs/IMAGES.md for a torch build that torchvision imports beside).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..errors import HarnessError
from .base import FEATURES, FeatureExtractor, sha256_file_cached

WEIGHTS_NAME = "weights-inception-2015-12-05-6726825d.pth"
DIM = 2048


def default_weights_dir() -> Path:
    """Where torch.hub (and so torch-fidelity) keeps downloaded checkpoints."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def find_weights(weights: str | Path = "") -> Path:
    """The weights file, or a one-line HarnessError saying which file to put where."""
    if weights:
        path = Path(weights).expanduser()
        if path.is_file():
            return path
        raise HarnessError(f"inception-v3 weights file {path} does not exist (expected torch-fidelity's {WEIGHTS_NAME})")
    path = default_weights_dir() / WEIGHTS_NAME
    if path.is_file():
        return path
    raise HarnessError(f"inception-v3 weights not found: put {WEIGHTS_NAME} in {path.parent}/ "
                       f"(or set TORCH_HOME, or pass feature_weights=PATH); they are never downloaded")


def _inception_class() -> type:
    try:
        import torch_fidelity  # noqa: F401
        from torchmetrics.image.fid import NoTrainInceptionV3
    except Exception as exc:  # ImportError, or torchvision failing to load beside this torch build
        raise HarnessError(f"inception-v3 needs torch-fidelity and torchvision ({type(exc).__name__}: {exc}); "
                           "install the extra: pip install 'gan-harness[inception]' (see docs/IMAGES.md)") from None
    return NoTrainInceptionV3


def to_uint8_rgb(x: torch.Tensor) -> torch.Tensor:
    """float (n, C, H, W) in [-1, 1], C in {1, 3} -> uint8 (n, 3, H, W)."""
    if x.shape[1] not in (1, 3):
        raise HarnessError(f"inception-v3 takes 1- or 3-channel images, got {x.shape[1]} channels")
    u8 = ((x.float() + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)
    return u8.expand(-1, 3, -1, -1) if u8.shape[1] == 1 else u8


class InceptionV3(FeatureExtractor):
    name = "inception-v3"

    def __init__(self, weights: str | Path = "", device: str | torch.device = "cpu"):
        self.path = find_weights(weights)
        cls = _inception_class()
        try:
            self.net = cls(name="inception-v3-compat", features_list=[str(DIM)],
                           feature_extractor_weights_path=str(self.path), antialias=False)
        except Exception as exc:
            raise HarnessError(f"cannot load inception-v3 weights from {self.path}: {type(exc).__name__}: {exc}") from None
        self._sha = sha256_file_cached(self.path)
        self.to(device)

    def dim(self, channels: int) -> int:
        return DIM

    def weights_sha256(self) -> str:
        return self._sha

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "weights_sha256": self._sha, "weights_file": self.path.name,
                "layer": "pool3 (2048)", "resize": "299x299 bilinear, TF1-compatible (antialias=False)",
                "input": "uint8 = round((x + 1) * 127.5), grey repeated to RGB",
                "implementation": "torchmetrics NoTrainInceptionV3 (torch-fidelity)"}

    chunk = 32  # 299 x 299 RGB images per forward

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(to_uint8_rgb(x))


def _factory(weights: str = "", device: str = "cpu", **_: Any) -> InceptionV3:
    return InceptionV3(weights=weights, device=device)


FEATURES.register("inception-v3", _factory)
