"""The pieces variants are made of: loss pairs, penalties on D, constraints on D, optimisers.

Each is a pure function (or a tiny object) registered by name; a variant names the parts it uses
and the training loop calls them without ever looking at the variant's name. Register your own
with e.g. ``harness.parts.LOSSES.register("my-loss", LossPair(...))``.
"""
from .constraints import CONSTRAINTS, Constraint
from .losses import LOSSES, LossPair
from .optim import OPTIMIZERS
from .penalties import PENALTIES

__all__ = ["LOSSES", "PENALTIES", "CONSTRAINTS", "OPTIMIZERS", "LossPair", "Constraint"]
