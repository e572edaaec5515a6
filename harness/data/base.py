"""Base types of data sets and evaluators, and the DATASETS registry (see harness.data)."""
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

    def evaluate_with_details(self, samples: Any) -> tuple[dict[str, float], dict[str, Any]]:
        """The metrics, and details stored beside them in a run's evaluations (not metrics: e.g. the
        per-mode counts behind modes_covered). None by default."""
        return self.evaluate(samples), {}

    def protocol(self) -> dict[str, Any]:
        """Everything a number depends on besides the samples (sample counts, reference seed, ...)."""
        return {}


class Dataset(abc.ABC):
    name: str
    shape: tuple[int, ...]
    defaults: Mapping[str, Any] = {}
    #: the Config evaluation options (harness.resolve.EVAL_OPTIONS) this data set's evaluator takes;
    #: a non-default value of any other one is refused before any work
    evaluator_options: tuple[str, ...] = ()

    @abc.abstractmethod
    def sample(self, n: int, gen: torch.Generator) -> torch.Tensor:
        """n training samples on the CPU (float32), drawn from `gen` only."""

    @abc.abstractmethod
    def evaluator(self, n_eval: int, *, device: str = "cpu", **options: Any) -> Evaluator:
        """The evaluator at `n_eval` samples; `options` are the declared `evaluator_options`."""

    def null_models(self) -> dict[str, Callable[[int, torch.Generator], Any]]:
        """Reference models, name -> (n, generator) -> n samples (harness.references): at least
        ``real``, an independent sample of the data."""
        return {"real": self.sample}

    def describe(self) -> dict[str, Any]:
        """Geometry / provenance recorded in each run's manifest."""
        return {"name": self.name, "shape": list(self.shape)}


DatasetFactory = Callable[..., Dataset]
DATASETS: Registry[DatasetFactory] = Registry("data set", entry_point_group="gan_harness.datasets")


def get_dataset(name: str, **options: Any) -> Dataset:
    return DATASETS.get(name)(**options)
