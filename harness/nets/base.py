"""The NETS registry and the network builder (see harness.nets)."""
from __future__ import annotations

from typing import Any, Callable

from torch import nn

from ..errors import HarnessError
from ..registry import Registry

NetBuilder = Callable[[Any, tuple[int, ...]], tuple[nn.Module, nn.Module]]
NETS: Registry[NetBuilder] = Registry("architecture")


def resolve_arch(config: Any, shape: tuple[int, ...]) -> str:
    if config.arch != "auto":
        return config.arch
    return "mlp" if len(shape) == 1 else "dcgan"


def build_networks(config: Any, shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    """G and D of the config's architecture. With ``pack`` = m > 1 (PacGAN), D is the builder's D
    for the packed shape (the first axis m times as long), wrapped to take m * B samples
    (harness.nets.pack); G is the one built for the data shape, drawn first as without packing."""
    arch = resolve_arch(config, shape)
    if arch not in NETS:
        raise HarnessError(NETS.unknown_message(arch))
    g, d = NETS.get(arch)(config, shape)
    pack = getattr(config, "pack", 1)
    if pack > 1:
        from .pack import Packed, packed_shape

        _, d = NETS.get(arch)(config, packed_shape(tuple(shape), pack))
        d = Packed(d, pack)
    return g, d
