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
from .base import FEATURES, FeatureExtractor, FeatureFactory, get_features, sha256_file, sha256_file_cached
from . import digits, inception  # noqa: E402,F401  (register digits-classifier, inception-v3)

__all__ = ["FEATURES", "FeatureExtractor", "FeatureFactory", "get_features", "sha256_file", "sha256_file_cached"]
