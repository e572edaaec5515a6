"""Network builders: ``(config, data_shape) -> (G, D)``, registered by architecture name.

``arch=auto`` picks ``mlp`` for vector data and ``dcgan`` for images. D returns one raw value per
sample (a logit or a critic value), shape (N,). Constraints such as spectral norm are applied by
the variant, never baked into a network.
"""
from .base import NETS, NetBuilder, build_networks, resolve_arch
from . import mlp  # noqa: E402,F401
from . import dcgan  # noqa: E402,F401
from . import pacgan  # noqa: E402,F401

__all__ = ["NETS", "NetBuilder", "build_networks", "resolve_arch"]
