"""Metric math: pure functions on arrays (float64), separate from feature extraction.

``METRICS`` declares, for every metric name a run can report, whether higher is better and what
it measures; reports use it to mark the best variant and draw arrows.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..registry import Registry


@dataclass(frozen=True)
class MetricInfo:
    higher_is_better: bool
    description: str
    version: str = "1"


METRICS: Registry[MetricInfo] = Registry("metric")
for _name, _hib, _desc in [
    ("modes_covered", True, "modes that are the nearest centre of >= 1 high-quality sample (VEEGAN)"),
    ("hq_fraction", True, "fraction of samples within 3 sigma of their nearest centre (VEEGAN); perfect = 0.989"),
    ("reverse_kl", False, "KL(p_hat || uniform over modes), high-quality samples only; inf if none"),
    ("frechet_distance", False, "Frechet distance between Gaussian fits of real and generated samples"),
    ("w1", False, "exact Wasserstein-1 distance between equal-size real and generated samples"),
]:
    METRICS.register(_name, MetricInfo(_hib, _desc))
