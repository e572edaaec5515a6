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
    #: further value sets its authors (or the protocol it comes from) published, by source, laid over
    #: `defaults`; `gan-harness tune` always includes them as points (e.g. WGAN-GP's 2-D toy values)
    published: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for where, layer in [("", self.defaults)] + [(f" (published {s!r})", v) for s, v in self.published.items()]:
            for key in layer:
                if key not in FIELDS:
                    raise HarnessError(f"variant {self.name!r}{where}: " + unknown_key_message(key, sorted(FIELDS)))
            make_config(self.defaults, layer)  # validates values, e.g. an unknown loss name
        from .settings import METHOD_FIELDS

        for source, values in self.published.items():
            method = sorted(set(values) & set(METHOD_FIELDS))
            if method:
                raise HarnessError(f"variant {self.name!r}: published values {source!r} set {', '.join(method)}, "
                                   f"which is the method, not a hyper-parameter")


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
