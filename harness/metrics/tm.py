"""Thin torchmetrics wrappers: torchmetrics' FID and KID on any registered feature extractor.

``torchmetrics.image.fid.FrechetInceptionDistance`` and ``torchmetrics.image.kid.KernelInceptionDistance``
accept ``feature=<nn.Module>``; :class:`ExtractorModule` adapts a :class:`~harness.features.FeatureExtractor`
to that (inputs float in [-1, 1], a ``num_features`` attribute, always in eval mode). Use
``update(images, real=...)`` / ``compute()``. The harness' own evaluators call the plain functions
in harness.metrics.fid / kid; these wrappers exist for torchmetrics users and as a cross-check.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn


class ExtractorModule(nn.Module):
    def __init__(self, extractor: Any, channels: int):
        super().__init__()
        self.extractor = extractor
        self.num_features = int(extractor.dim(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.extractor.features(x))


def torchmetrics_fid(extractor: Any, channels: int, **kwargs: Any):
    from torchmetrics.image.fid import FrechetInceptionDistance

    return FrechetInceptionDistance(feature=ExtractorModule(extractor, channels), **kwargs)

