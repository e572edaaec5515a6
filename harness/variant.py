"""Variants: a name plus the parts and defaults it is made of.

A variant is declarative: its ``defaults`` set ``Config`` fields (loss, penalty, constraint,
n_dis, optimiser, learning rates, ...). The training loop never branches on a variant's name.
Register your own with :func:`register_variant` or the ``gan_harness.variants`` entry point.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .errors import HarnessError
from .registry import Registry
from .spec import FIELDS, make_config, unknown_key_message


@dataclass(frozen=True)
class Variant:
    name: str
    defaults: Mapping[str, Any]
    description: str = ""
    reference: str = ""  # paper and the reference code its defaults come from
    options: Mapping[str, str] = field(default_factory=dict)  # documented alternatives, e.g. {"loss=saturating": "..."}

    def __post_init__(self) -> None:
        for key in self.defaults:
            if key not in FIELDS:
                raise HarnessError(f"variant {self.name!r}: " + unknown_key_message(key, sorted(FIELDS)))
        make_config(self.defaults)  # validates values, e.g. an unknown loss name


# The reference variants (baselines/) are declared under this entry-point group in pyproject.toml,
# exactly as a user's plugin declares its own: the harness never imports them by name. Names match
# case-insensitively and ignoring "-", "_" and spaces, so the display spellings used in the
# literature and the docs (Vanilla, WGAN, WGAN-GP, SN-GAN) name vanilla, wgan, wgan-gp, sngan.
VARIANTS: Registry[Variant] = Registry("variant", entry_point_group="gan_harness.variants", match="loose")
#: names of the reference rows every report shows beside the variants (harness.references)
RESERVED_NAMES = ("real", "null-gaussian", "null-uniform")


def register_variant(variant: Variant, *, replace: bool = False) -> Variant:
    """Make `variant` available by name to the CLI, suites and ``harness.train``."""
    if not isinstance(variant, Variant):
        raise HarnessError(f"register_variant expects a harness.Variant, got {type(variant).__name__}")
    if variant.name in RESERVED_NAMES:
        raise HarnessError(f"variant name {variant.name!r} is reserved for a reference row ({', '.join(RESERVED_NAMES)})")
    return VARIANTS.register(variant.name, variant, replace=replace)


def canonical_variant(name: str) -> str:
    """The registered name of variant `name` (e.g. 'SN-GAN' -> 'sngan'); HarnessError if unknown."""
    return VARIANTS.canonical(name)


def get_variant(name: str) -> Variant:
    v = VARIANTS.get(name)
    if not isinstance(v, Variant):
        raise HarnessError(f"variant entry {name!r} is a {type(v).__name__}, not a harness.Variant")
    return v


def variant_names() -> list[str]:
    return VARIANTS.names()
