"""Base types of data sets and evaluators, and the DATASETS registry (see harness.data)."""
from __future__ import annotations

import abc
from typing import Any, Callable, Mapping

import numpy as np
import torch

from ..errors import HarnessError, UnknownNameError
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


class DatasetFamily(abc.ABC):
    """A parametric family of data sets, named ``family:key=value,...`` (e.g. ``ring:modes=8,radius=1,sigma=0.01``)."""

    name: str
    usage: str  # e.g. "ring:modes=K,radius=R,sigma=S"
    description: str

    @abc.abstractmethod
    def canonical(self, params: str) -> str:
        """The canonical full name for the text after ``family:`` (keys sorted, defaults filled in,
        numbers normalised), after validating every value. Raises HarnessError (one line)."""

    @abc.abstractmethod
    def build(self, canonical: str) -> Dataset:
        """The data set of a canonical name."""


class DatasetRegistry(Registry[DatasetFactory]):
    """DATASETS: registered names match case-insensitively; a name with a colon is a member of a
    registered family (:class:`DatasetFamily`) and resolves to its canonical spelling."""

    def __init__(self) -> None:
        super().__init__("data set", entry_point_group="gan_harness.datasets", match="case")
        self._families: dict[str, DatasetFamily] = {}

    def register(self, name: str, item: DatasetFactory, *, replace: bool = False) -> DatasetFactory:
        if isinstance(name, str) and ":" in name:
            raise HarnessError(f"data set name {name!r} may not contain ':' (it introduces a family's parameters)")
        return super().register(name, item, replace=replace)

    def register_family(self, family: DatasetFamily) -> DatasetFamily:
        if family.name in self._families:
            raise HarnessError(f"data set family {family.name!r} is already registered")
        self._families[family.name] = family
        return family

    def families(self) -> list[DatasetFamily]:
        return [self._families[k] for k in sorted(self._families)]

    def _family(self, name: str) -> tuple[DatasetFamily, str]:
        head, _, params = name.partition(":")
        family = self._families.get(head.strip().casefold())
        if family is None:
            raise UnknownNameError(f"unknown data set family {head!r} in {name!r}; known families: "
                                   f"{', '.join(f.usage for f in self.families())}")
        return family, params

    def canonical(self, name: str) -> str:
        if isinstance(name, str) and ":" in name:
            family, params = self._family(name)
            return family.canonical(params)
        return super().canonical(name)

    def get(self, name: str) -> DatasetFactory:
        canonical = self.canonical(name)
        if ":" not in canonical:
            return self._items[canonical]
        family, _ = self._family(canonical)

        def factory(**_: Any) -> Dataset:
            return family.build(canonical)

        factory.__doc__ = family.description
        return factory

    def unknown_message(self, name: str) -> str:
        msg = super().unknown_message(name)
        if self._families:
            msg += "; or a mixture: " + ", ".join(f.usage for f in self.families())
        return msg


DATASETS = DatasetRegistry()


def get_dataset(name: str, **options: Any) -> Dataset:
    return DATASETS.get(name)(**options)


def canonical_dataset(name: str) -> str:
    """The canonical name of data set `name`: the registered spelling (case-insensitive, aliases
    resolved) or a family member's canonical spec. Raises HarnessError (one line) if unknown or invalid."""
    return DATASETS.canonical(name)
