"""Fixed, deterministic number formatting for tables (never locale- or time-dependent)."""
from __future__ import annotations

import math

NA = "n/a"


def decimals(x: float) -> int:
    """Decimals that show about three significant digits of |x| (0 to 6)."""
    if not math.isfinite(x) or x == 0:
        return 3
    return max(0, min(6, 2 - math.floor(math.log10(abs(x)))))


def num(x: float | None, d: int | None = None) -> str:
    """`x` with `d` decimals (default: :func:`decimals`); "n/a" for NaN/None, "inf"/"-inf"."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return NA
    x = float(x)
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    d = decimals(x) if d is None else d
    return f"{round(x, d) + 0.0:.{d}f}"  # + 0.0 turns -0.0 into 0.0


def mean_std(mean: float, std: float, sep: str = " ± ") -> str:
    """'mean ± std' with the mean's decimals for both; std "n/a" when undefined (n < 2)."""
    if math.isnan(mean):
        return NA
    d = decimals(mean)
    return f"{num(mean, d)}{sep}{num(std, d)}"


def pvalue(p: float) -> str:
    if p is None or math.isnan(p):
        return NA
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def effect(x: float) -> str:
    return num(x, 2)


def exact(x: float | int | None) -> str:
    """Full-precision text for CSV: repr of the float (round-trips), "" for None."""
    if x is None:
        return ""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(x)
