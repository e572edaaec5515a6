"""Data sets: a registry of factories ``(config) -> Dataset``.

A data set samples training batches from an explicit generator and builds the evaluator that
scores generated samples against it. Register your own with ``DATASETS.register(name, factory)``.
"""
from .base import DATASETS, Dataset, DatasetFactory, DatasetFamily, Evaluator, canonical_dataset, get_dataset
from . import toy  # noqa: E402,F401  (registers ring8, grid25, 8gaussians, ..., the ring/grid/centres families)
from . import images  # noqa: E402,F401  (registers digits, stacked-digits, mnist, stacked-mnist, cifar10, image-folder)

__all__ = ["DATASETS", "Dataset", "DatasetFactory", "DatasetFamily", "Evaluator", "canonical_dataset", "get_dataset"]
