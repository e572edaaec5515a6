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
    arch = resolve_arch(config, shape)
    if arch not in NETS:
        raise HarnessError(NETS.unknown_message(arch))
    return NETS.get(arch)(config, shape)
