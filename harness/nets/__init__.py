"""Network builders: ``(config, data_shape) -> (G, D)``, registered by architecture name.

``arch=auto`` picks ``mlp`` for vector data and ``dcgan`` for images. D returns one raw value per
sample (a logit or a critic value), shape (N,). Constraints such as spectral norm are applied by
the variant, never baked into a network.
"""
from __future__ import annotations

from typing import Any, Callable

from torch import nn

from ..errors import HarnessError
from .. import spec as _spec
from ..registry import Registry

NetBuilder = Callable[[Any, tuple[int, ...]], tuple[nn.Module, nn.Module]]
NETS: Registry[NetBuilder] = Registry("architecture")
_spec.CHOICES["arch"] = lambda: ["auto", *NETS.names()]


def resolve_arch(config: Any, shape: tuple[int, ...]) -> str:
    if config.arch != "auto":
        return config.arch
    return "mlp" if len(shape) == 1 else "dcgan"


def build_networks(config: Any, shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    arch = resolve_arch(config, shape)
    if arch not in NETS:
        raise HarnessError(NETS.unknown_message(arch))
    return NETS.get(arch)(config, shape)


from . import mlp  # noqa: E402,F401
from . import dcgan  # noqa: E402,F401
