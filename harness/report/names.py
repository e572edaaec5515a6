"""What tables and figures call things: display names of variants, reference rows and metrics.

Variant names are the ones the papers use (the registry's names are identifiers); a variant this
map does not know keeps its registered name. Metric labels, short symbols and the log-axis flag
come from the metric registry (:class:`harness.metrics.MetricInfo`), never from a list here.
"""
from __future__ import annotations

from ..metrics import METRICS

#: registered variant or reference name -> the name a paper prints
VARIANT_NAMES = {
    "vanilla": "NS-GAN",
    "wgan": "WGAN",
    "wgan-gp": "WGAN-GP",
    "sngan": "SN-GAN",
    "lsgan": "LSGAN",
    "gan-r1": "GAN + R1",
    "dragan": "DRAGAN",
    "unrolled": "Unrolled GAN",
    "real": "Real sample",
    "null-gaussian": "Gaussian fit",
    "null-uniform": "Uniform box",
}


def variant_name(key: str) -> str:
    """The display name of a table row key: ``wgan`` -> ``WGAN``; a grid row ``wgan @ lr_g=0.001``
    keeps its point; ``x (reference)`` keeps its mark."""
    head, sep, point = key.partition(" @ ")
    suffix = ""
    if head.endswith(" (reference)"):
        head, suffix = head[: -len(" (reference)")], " (reference)"
    return VARIANT_NAMES.get(head, head) + suffix + (f" @ {point}" if sep else "")


def _info(metric: str):
    return METRICS.get(metric) if metric in METRICS else None


def metric_label(metric: str) -> str:
    """The metric's display label ("Modes covered"); its registered name when none is declared."""
    info = _info(metric)
    return (info.label if info and info.label else metric)


def metric_symbol(metric: str) -> str:
    """A short label for narrow table headers ("HQ"); the label when none is declared."""
    info = _info(metric)
    return info.symbol if info and info.symbol else metric_label(metric)


def metric_unit(metric: str) -> str:
    """"%" for metrics shown in per cent, else ""."""
    info = _info(metric)
    return "%" if info and info.percent else ""


def log_metric(metric: str) -> bool:
    """Whether figures draw the metric on a log axis (distances spread over decades)."""
    info = _info(metric)
    return bool(info and info.log)


def headline_metrics(metrics: list[str]) -> list[str]:
    """The metrics of a paper's main table, in the given order: those with the ``headline`` role;
    all of them when none has it."""
    chosen = [m for m in metrics if (_info(m) is not None and _info(m).headline)]
    return chosen or list(metrics)
