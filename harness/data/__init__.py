"""Data sets: a registry of factories ``(config) -> Dataset``.

A data set samples training batches from an explicit generator and builds the evaluator that
scores generated samples against it. Register your own with ``DATASETS.register(name, factory)``.
"""
from __future__ import annotations

import abc
from typing import Any, Callable, Mapping

import numpy as np
import torch

from ..registry import Registry


class Evaluator(abc.ABC):
    """Scores generated samples. A pure function of the samples and the data set (plus its fixed
    reference draw): evaluation never consumes a run's training random streams."""

    metrics: tuple[str, ...] = ()

    @abc.abstractmethod
    def check_samples(self, samples: Any) -> np.ndarray:
        """Validate shape, dtype and finiteness; return a float array. Raises HarnessError."""

    @abc.abstractmethod
    def evaluate(self, samples: Any) -> dict[str, float]:
        """Metric name -> value for a batch of generated samples."""

    def protocol(self) -> dict[str, Any]:
        """Everything a number depends on besides the samples (sample counts, reference seed, ...)."""
        return {}


class Dataset(abc.ABC):
    name: str
    shape: tuple[int, ...]
    defaults: Mapping[str, Any] = {}

    @abc.abstractmethod
    def sample(self, n: int, gen: torch.Generator) -> torch.Tensor:
        """n training samples on the CPU (float32), drawn from `gen` only."""

    @abc.abstractmethod
    def evaluator(self, n_eval: int, **options: Any) -> Evaluator:
        ...

    def describe(self) -> dict[str, Any]:
        """Geometry / provenance recorded in each run's manifest."""
        return {"name": self.name, "shape": list(self.shape)}


DatasetFactory = Callable[..., Dataset]
DATASETS: Registry[DatasetFactory] = Registry("data set", entry_point_group="gan_harness.datasets")


def get_dataset(name: str, **options: Any) -> Dataset:
    return DATASETS.get(name)(**options)


from . import toy  # noqa: E402,F401  (registers ring8, grid25, ...)
from . import images  # noqa: E402,F401  (registers digits, stacked-digits, mnist, stacked-mnist, cifar10, image-folder)
