"""PacGAN's 2-D networks (Lin et al. 2018), as its code for the synthetic experiments builds them
(fjxmlzn/PacGAN, synthetic_data_experiments/, config.py and pacgan_task.py of 2DGrid and 2DRing):

  G: z -> g_layers x [linear without bias, batch norm, ReLU] of g_hidden units -> linear with bias
     to the data dimension (the code's MLP has use_bias=False and then turns the bias of the last
     linear back on). PacGAN: 4 x 400, z in R^2.
  D: d_layers x [linear maxout of d_hidden units, MAXOUT_PIECES pieces each] -> linear to 1 value.
     PacGAN: 3 x 200, 5 pieces. Unit j of a maxout layer is the largest of the pieces j*k .. j*k+k-1
     of one linear map to d_hidden*k values (the layout of the code's LinearMaxout).
  Init: every linear weight N(0, INIT_STD^2) with INIT_STD = 0.02, every bias 0; batch norm scale
  1 and shift 0. Batch norm: epsilon 1e-4 (the code's default) and running statistics updated
  with weight 0.05 per training forward (the code's 0.05 m + 0.95 p).

Widths and depths come from the config (g_hidden, d_hidden, g_layers, d_layers); the pacgan suite
sets PacGAN's. Packing (``pack``) is not built in: harness.nets.build_networks builds D for the
packed input and wraps it (harness.nets.pack).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..errors import HarnessError
from .base import NETS

MAXOUT_PIECES = 5
INIT_STD = 0.02
BN_EPS = 1e-4
BN_MOMENTUM = 0.05


class Maxout(nn.Module):
    """Linear maxout: y_j = max_k (W x + b)[j * pieces + k]."""

    def __init__(self, n_in: int, n_out: int, pieces: int = MAXOUT_PIECES):
        super().__init__()
        self.n_out, self.pieces = n_out, pieces
        self.linear = nn.Linear(n_in, n_out * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.linear(x)
        return h.view(*h.shape[:-1], self.n_out, self.pieces).amax(dim=-1)


def init_normal(module: nn.Module, std: float = INIT_STD) -> None:
    """Every linear weight N(0, std^2), every linear bias 0 (batch norm keeps scale 1, shift 0)."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class PacGANGenerator(nn.Module):
    def __init__(self, z_dim: int, out_dim: int, hidden: int, layers: int):
        super().__init__()
        mods: list[nn.Module] = []
        width = z_dim
        for _ in range(layers):
            mods += [nn.Linear(width, hidden, bias=False), nn.BatchNorm1d(hidden, eps=BN_EPS, momentum=BN_MOMENTUM),
                     nn.ReLU()]
            width = hidden
        mods.append(nn.Linear(width, out_dim))
        self.net = nn.Sequential(*mods)
        init_normal(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class PacGANDiscriminator(nn.Module):
    def __init__(self, in_dim: int, hidden: int, layers: int, pieces: int = MAXOUT_PIECES):
        super().__init__()
        mods: list[nn.Module] = []
        width = in_dim
        for _ in range(layers):
            mods.append(Maxout(width, hidden, pieces))
            width = hidden
        mods.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*mods)
        init_normal(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


def build_pacgan_mlp(config: Any, shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    if len(shape) != 1:
        raise HarnessError(f"arch=pacgan-mlp needs vector data, got shape {tuple(shape)}")
    g = PacGANGenerator(config.z_dim, shape[0], config.g_hidden, config.g_layers)
    d = PacGANDiscriminator(shape[0], config.d_hidden, config.d_layers)
    return g, d


NETS.register("pacgan-mlp", build_pacgan_mlp)
