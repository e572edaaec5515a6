"""Fixed, deterministic number formatting for tables (never locale- or time-dependent)."""
from __future__ import annotations

import math

NA = "n/a"


def decimals(x: float) -> int:
    """Decimals that show about three significant digits of |x| (0 to 6)."""
    if not math.isfinite(x) or x == 0:
        return 3
    return max(0, min(6, 2 - math.floor(math.log10(abs(x)))))


INF, NEG_INF = "∞", "−∞"


def num(x: float | None, d: int | None = None) -> str:
    """`x` with `d` decimals (default: :func:`decimals`); "n/a" for NaN/None, "∞"/"−∞"."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return NA
    x = float(x)
    if math.isinf(x):
        return INF if x > 0 else NEG_INF
    d = decimals(x) if d is None else d
    return f"{round(x, d) + 0.0:.{d}f}"  # + 0.0 turns -0.0 into 0.0


def mean_std(mean: float, std: float, sep: str = " ± ") -> str:
    """'mean ± std' with the mean's decimals for both; std "n/a" when undefined (n < 2)."""
    if math.isnan(mean):
        return NA
    d = decimals(mean)
    return f"{num(mean, d)}{sep}{num(std, d)}"


def cell(s, scale: float = 1.0, nan_label: str = NA, sep: str = " ± ") -> str:
    """The text of one table cell from a :class:`~harness.report.stats.Summary` (values times
    `scale`, 100 for per cent): "mean ± std" of the finite values, and when not every run has one,
    each kind of value with its share of the runs, the infinite ones first: "∞ in 2/3; 2.08 in 1/3",
    "2.85 ± 0.13 in 4/5; diverged in 1/5" (`nan_label` names runs without a value)."""
    total = s.n_total
    if total == 0:
        return NA
    values = [v for v in s.values if not math.isnan(v)]
    pos, neg = sum(v == math.inf for v in values), sum(v == -math.inf for v in values)

    def share(k: int) -> str:
        return "" if k == total else f" in {k}/{total}"

    parts = [f"{INF}{share(pos)}"] * bool(pos) + [f"{NEG_INF}{share(neg)}"] * bool(neg)
    if s.n:
        if s.n >= 2 or s.n == total:
            parts.append(mean_std(s.mean * scale, s.std * scale, sep) + share(s.n))
        else:
            parts.append(num(s.mean * scale) + share(s.n))
    if s.n_nan:
        parts.append(nan_label + share(s.n_nan))
    return "; ".join(parts)


def median_steps(values: list[float]) -> str:
    """Median over every run of the step at which each reached a target, a run that never did
    counting as +inf: "750 (2/3 reached)", or "never (1/3 reached)" when the median is infinite.
    NaN values (no target, no evaluation) are left out; "n/a" when none is left."""
    from .stats import quantile

    known = [v for v in values if not math.isnan(v)]
    if not known:
        return NA
    reached = sum(math.isfinite(v) for v in known)
    med = quantile(known, 0.5)
    head = "never" if math.isinf(med) else num(med, 0)
    return f"{head} ({reached}/{len(known)} reached)"


def span(values: list[int | None]) -> str:
    """One integer when every value is the same, else "min–max"; "n/a" when none is known."""
    known = sorted(int(v) for v in values if v is not None)
    if not known:
        return NA
    return f"{known[0]}" if known[0] == known[-1] else f"{known[0]}–{known[-1]}"


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
