"""MLPs for low-dimensional data. Defaults (3 hidden layers of 128) follow the 2-D mixture setups
of VEEGAN and PacGAN; G uses ReLU, D LeakyReLU(0.2), no normalisation layers."""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..errors import HarnessError
from .base import NETS


def mlp(n_in: int, n_out: int, hidden: int, layers: int, act: type[nn.Module], **act_kw: Any) -> nn.Sequential:
    mods: list[nn.Module] = []
    width = n_in
    for _ in range(layers):
        mods += [nn.Linear(width, hidden), act(**act_kw)]
        width = hidden
    mods.append(nn.Linear(width, n_out))
    return nn.Sequential(*mods)


class MLPGenerator(nn.Module):
    def __init__(self, z_dim: int, out_dim: int, hidden: int, layers: int):
        super().__init__()
        self.net = mlp(z_dim, out_dim, hidden, layers, nn.ReLU)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class MLPDiscriminator(nn.Module):
    def __init__(self, in_dim: int, hidden: int, layers: int):
        super().__init__()
        self.net = mlp(in_dim, 1, hidden, layers, nn.LeakyReLU, negative_slope=0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


def build_mlp(config: Any, shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    if len(shape) != 1:
        raise HarnessError(f"arch=mlp needs vector data, got shape {shape}")
    g = MLPGenerator(config.z_dim, shape[0], config.g_hidden, config.g_layers)
    d = MLPDiscriminator(shape[0], config.d_hidden, config.d_layers)
    return g, d


NETS.register("mlp", build_mlp)
