"""The check's options: tests, statistics, their defaults, and their validation (bad input raises
HarnessError, the CLI's exit 2, before any work)."""
from __future__ import annotations

import math
from typing import Iterable, Mapping

from ..errors import HarnessError

TESTS = ("noninferiority", "equivalence")
#: how rows compare the seeds: "permutation" (default: one joint permutation test over every row of
#: the check, Westfall-Young min-p step-down: at most alpha of checks of an exchangeable candidate
#: fail, whatever the distribution of seeds and however correlated the rows; harness.permutation),
#: "rank" (exact Mann-Whitney per row, Bonferroni over the rows: the same guarantee, less power) or
#: "mean" (Welch's t bounds, a margin of k seed sds; normal theory)
STATISTICS = ("permutation", "rank", "mean")
DEFAULT_STATISTIC = "permutation"
DEFAULT_TEST = "noninferiority"
DEFAULT_ALPHA = 0.05
#: margin δ = DEFAULT_MARGIN_SDS × the baseline's seed sd (see harness.check's docstring for the simulation)
DEFAULT_MARGIN_SDS = 8.0


def _check_options(test: str, alpha: float, margin_sds: float, margins: Mapping[str, float] | None) -> dict[str, float]:
    from ..metrics import METRICS
    from ..spec import unknown_key_message

    if test not in TESTS:
        raise HarnessError(unknown_key_message(str(test), list(TESTS), what="--test"))
    if not (isinstance(alpha, (int, float)) and 0 < alpha < 0.5):
        raise HarnessError(f"--alpha must be in (0, 0.5), got {alpha!r}")
    if not (isinstance(margin_sds, (int, float)) and math.isfinite(margin_sds) and margin_sds > 0):
        raise HarnessError(f"--margin-sds must be a positive number, got {margin_sds!r}")
    out = {}
    for metric, value in (margins or {}).items():
        if metric not in METRICS:
            raise HarnessError(METRICS.unknown_message(metric).replace("unknown metric", "--margin: unknown metric", 1))
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise HarnessError(f"--margin {metric}={value!r}: the margin must be a positive number in {metric}'s units")
        out[metric] = float(value)
    return out


def _check_statistic(statistic: str, test: str = DEFAULT_TEST, margins: Mapping[str, float] | None = None) -> None:
    from ..spec import unknown_key_message

    if statistic not in STATISTICS:
        raise HarnessError(unknown_key_message(str(statistic), list(STATISTICS), what="--statistic"))
    if statistic == "permutation" and test == "equivalence" and margins:
        raise HarnessError("--margin with --test equivalence needs --statistic rank or mean (the permutation "
                           "statistic's equivalence rows test for any difference, without a margin)")


def parse_margins(items: Iterable[str] | None) -> dict[str, float]:
    """``--margin METRIC=VALUE`` (repeatable) -> {metric: δ}; validated by :func:`harness.check.check`."""
    out: dict[str, float] = {}
    for item in items or []:
        if "=" not in item:
            raise HarnessError(f"--margin {item!r}: expected METRIC=VALUE, e.g. w1=0.05")
        metric, value = (x.strip() for x in item.split("=", 1))
        if metric in out:
            raise HarnessError(f"--margin {metric} is given twice")
        try:
            out[metric] = float(value)
        except ValueError:
            raise HarnessError(f"--margin {item!r}: {value!r} is not a number") from None
    return out
