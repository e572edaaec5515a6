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


VARIANTS: Registry[Variant] = Registry("variant", entry_point_group="gan_harness.variants")
_builtins_loaded = False


def _load_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        import baselines  # noqa: F401  (registers the reference variants)


def register_variant(variant: Variant, *, replace: bool = False) -> Variant:
    """Make `variant` available by name to the CLI, suites and ``harness.train``."""
    _load_builtins()
    if not isinstance(variant, Variant):
        raise HarnessError(f"register_variant expects a harness.Variant, got {type(variant).__name__}")
    return VARIANTS.register(variant.name, variant, replace=replace)


def get_variant(name: str) -> Variant:
    _load_builtins()
    v = VARIANTS.get(name)
    if not isinstance(v, Variant):
        raise HarnessError(f"variant entry {name!r} is a {type(v).__name__}, not a harness.Variant")
    return v


def variant_names() -> list[str]:
    _load_builtins()
    return VARIANTS.names()
