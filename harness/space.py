"""Tunable knobs: the hyper-parameters each part owns, with the range a tuning study searches.

A fair comparison tunes every variant on its own knobs under the same budget (Lucic et al. 2018,
"Are GANs created equal?"). The knobs are declared by the parts that own them, not by a list in
the tuner: the gradient penalty and R1 declare their weight, weight clipping its bound, Adam its
betas; the training loop declares the knobs every variant shares (the two learning rates, D steps
per G step, the schedule). A plugin part declares its own the same way::

    from harness.space import Knob, declare_knobs
    declare_knobs("penalty", "my-penalty", Knob("penalty_weight", "log", 1e-3, 1e1))

A knob names a ``Config`` field. Scales: ``log`` (log-uniform on [low, high]), ``linear``
(uniform on [low, high]) and ``choice`` (one of ``choices``, equally likely). `space_for` gives
the knobs of one resolved config: the shared knobs, then its optimiser's, penalty's,
constraint's and loss's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from .errors import HarnessError
from .spec import FIELDS, Config, _coerce, unknown_key_message

SCALES = ("log", "linear", "choice")
#: the kinds of part that can own knobs (the config field that names the part)
PART_KINDS = ("loss", "penalty", "constraint", "optimizer")


@dataclass(frozen=True)
class Knob:
    name: str
    scale: str
    low: float | None = None
    high: float | None = None
    choices: tuple = ()

    def __post_init__(self) -> None:
        if self.name not in FIELDS:
            raise HarnessError("knob: " + unknown_key_message(self.name, sorted(FIELDS)))
        if self.scale not in SCALES:
            raise HarnessError(f"knob {self.name}: unknown scale {self.scale!r}; known: {', '.join(SCALES)}")
        if self.scale == "choice":
            if not self.choices:
                raise HarnessError(f"knob {self.name}: empty list of choices")
            object.__setattr__(self, "choices", tuple(_coerce(self.name, c) for c in self.choices))
            return
        if self.low is None or self.high is None or not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise HarnessError(f"knob {self.name}: a {self.scale} range needs finite low and high")
        if not self.low < self.high:
            raise HarnessError(f"knob {self.name}: empty range [{self.low:g}, {self.high:g}] (low must be < high)")
        if self.scale == "log" and self.low <= 0:
            raise HarnessError(f"knob {self.name}: a log range needs low > 0, got {self.low:g}")

    def value(self, u: float) -> Any:
        """The knob's value at u in [0, 1): the quantile of its declared distribution."""
        if self.scale == "choice":
            return self.choices[min(int(u * len(self.choices)), len(self.choices) - 1)]
        if self.scale == "log":
            x = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        else:
            x = self.low + u * (self.high - self.low)
        return _coerce(self.name, float(f"{x:.3g}"))  # three significant digits: readable, and enough

    def describe(self) -> dict[str, Any]:
        if self.scale == "choice":
            return {"scale": "choice", "choices": list(self.choices)}
        return {"scale": self.scale, "low": self.low, "high": self.high}

    @classmethod
    def parse(cls, text: str) -> "Knob":
        """'name=low:high:log', 'name=low:high' (log), 'name=low:high:linear' or 'name=a|b|c' (choice)."""
        name, eq, spec = text.partition("=")
        name, spec = name.strip(), spec.strip()
        if not eq or not spec:
            raise HarnessError(f"--range {text!r}: expected name=low:high[:log|linear] or name=a|b|c")
        if "|" in spec or ":" not in spec:
            return cls(name, "choice", choices=tuple(v.strip() for v in spec.split("|") if v.strip()))
        parts = spec.split(":")
        scale = parts[2] if len(parts) > 2 else "log"
        try:
            low, high = float(parts[0]), float(parts[1])
        except ValueError:
            raise HarnessError(f"--range {text!r}: low and high must be numbers") from None
        return cls(name, scale, low, high)


#: the knobs every variant shares, declared by the training loop. Learning rates: two decades, from
#: the 2-D published values (1e-4: WGAN-GP's toy script, PacGAN; 1e-3: the Unrolled GAN notebook's
#: G) up to 1e-2, which budgets of a few thousand G steps can use (reports/sweep-2d: 2e-3 beat 5e-4
#: for every variant that learned at 2,500 steps); Lucic et al.'s wide range starts at 1e-5, which
#: learns nothing in such a budget. A study can widen any range: --range lr_g=1e-5:1e-2:log.
SHARED_KNOBS: tuple[Knob, ...] = (
    Knob("lr_g", "log", 1e-4, 1e-2),
    Knob("lr_d", "log", 1e-4, 1e-2),
    Knob("n_dis", "choice", choices=(1, 2, 5)),
    Knob("lr_schedule", "choice", choices=("constant", "linear")),
)

_PART_KNOBS: dict[tuple[str, str], tuple[Knob, ...]] = {}


def declare_knobs(kind: str, part: str, *knobs: Knob, replace: bool = False) -> None:
    """Declare the knobs that part `part` of kind `kind` (loss, penalty, constraint, optimizer) owns."""
    if kind not in PART_KINDS:
        raise HarnessError(f"unknown part kind {kind!r}; known: {', '.join(PART_KINDS)}")
    if (kind, part) in _PART_KNOBS and not replace:
        raise HarnessError(f"{kind} {part!r} already declares knobs (pass replace=True to change them)")
    if not all(isinstance(k, Knob) for k in knobs):
        raise HarnessError(f"declare_knobs({kind!r}, {part!r}): every knob must be a harness.space.Knob")
    _PART_KNOBS[(kind, part)] = tuple(knobs)


def part_knobs(kind: str, part: str) -> tuple[Knob, ...]:
    return _PART_KNOBS.get((kind, part), ())


def space_for(config: Config, ranges: Sequence[Knob] = (), only: Sequence[str] | None = None) -> list[Knob]:
    """The knobs of a resolved config: shared, then those of its optimiser, penalty, constraint and
    loss. `ranges` replace a declared knob's range (an unknown name is an error naming the known
    ones); `only` keeps the named knobs (each must be in the space)."""
    knobs: dict[str, Knob] = {k.name: k for k in SHARED_KNOBS}
    for kind in PART_KINDS:
        knobs.update({k.name: k for k in part_knobs(kind, getattr(config, kind))})
    for r in ranges:
        if r.name not in knobs:
            raise HarnessError(f"--range: {unknown_key_message(r.name, sorted(knobs), what='knob')}")
        knobs[r.name] = r
    if only is not None:
        for name in only:
            if name not in knobs:
                raise HarnessError(f"--knobs: {unknown_key_message(name, sorted(knobs), what='knob')}")
        knobs = {n: k for n, k in knobs.items() if n in only}
    return list(knobs.values())


def point_values(knobs: Sequence[Knob], u: Sequence[float]) -> dict[str, Any]:
    """The config values of one quasi-random point u in [0, 1)^d."""
    return {k.name: k.value(float(x)) for k, x in zip(knobs, u)}
