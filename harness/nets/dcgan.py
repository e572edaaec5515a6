"""DCGAN-style convolutional G and D, sized from the image shape (C, S, S), 8 <= S <= 64.

The side is written S = s0 * 2^k with k as large as possible while s0 >= 4 (8 -> 4*2, 16 -> 4*4,
28 -> 7*4, 32 -> 4*8). At 32 x 32 with ``g_hidden = d_hidden = 64`` this is exactly the "standard CNN"
of the SN-GAN paper (Miyato et al. 2018, table 3; Radford et al. 2016 for the DCGAN pattern):

  G: z -> linear -> s0 x s0 x (g_hidden * 2^k) -> k x [4x4 transposed conv, stride 2, halving the
     channels, batch norm, ReLU] -> 3x3 conv to C -> tanh          (32x32: 512 -> 256 -> 128 -> 64 -> C)
  D: k x [3x3 conv stride 1, 4x4 conv stride 2] with d_hidden * 2^i channels at stage i -> 3x3 conv
     with d_hidden * 2^k channels -> linear to 1 value; LeakyReLU(0.1)   (32x32: 64,64,128,128,256,256,512)

``z_dim``, ``g_hidden`` and ``d_hidden`` come from the config. Weights use PyTorch's default init.

D has **no batch norm for any variant**: WGAN-GP's penalty is per sample and must not see batch
statistics (Gulrajani et al. 2017), the SN-GAN standard CNN has none, and one D architecture for all
variants keeps a comparison about the variants' parts only; batch norm in D would also make D's
output for a sample depend on the rest of its batch (real and fake batches normalised apart).
Spectral norm is not built in: ``constraint=spectral_norm`` wraps every conv/linear layer of D.
D returns one raw value per sample, shape (N,); G's output is tanh, in [-1, 1].
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..errors import HarnessError
from .base import NETS

MIN_SIDE, MAX_SIDE = 8, 64


def side_plan(side: int) -> tuple[int, int]:
    """(s0, k) with side = s0 * 2^k, k maximal subject to s0 >= 4."""
    if not MIN_SIDE <= side <= MAX_SIDE:
        raise HarnessError(f"arch=dcgan supports image sides {MIN_SIDE}..{MAX_SIDE}, got {side} (set image_size)")
    s0, k = side, 0
    while s0 % 2 == 0 and s0 // 2 >= 4:
        s0, k = s0 // 2, k + 1
    return s0, k


class DCGANGenerator(nn.Module):
    def __init__(self, z_dim: int, channels: int, side: int, hidden: int):
        super().__init__()
        self.s0, k = side_plan(side)
        self.c0 = hidden * 2 ** k
        self.fc = nn.Linear(z_dim, self.s0 * self.s0 * self.c0)
        layers: list[nn.Module] = [nn.BatchNorm2d(self.c0), nn.ReLU()]
        ch = self.c0
        for _ in range(k):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1), nn.BatchNorm2d(ch // 2), nn.ReLU()]
            ch //= 2
        layers += [nn.Conv2d(ch, channels, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(z).view(-1, self.c0, self.s0, self.s0)
        return self.net(h)


class DCGANDiscriminator(nn.Module):
    def __init__(self, channels: int, side: int, hidden: int, slope: float = 0.1):
        super().__init__()
        s0, k = side_plan(side)
        layers: list[nn.Module] = []
        ch_in = channels
        for i in range(k):
            ch = hidden * 2 ** i
            layers += [nn.Conv2d(ch_in, ch, 3, 1, 1), nn.LeakyReLU(slope),
                       nn.Conv2d(ch, ch, 4, 2, 1), nn.LeakyReLU(slope)]
            ch_in = ch
        ch = hidden * 2 ** k
        layers += [nn.Conv2d(ch_in, ch, 3, 1, 1), nn.LeakyReLU(slope), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(s0 * s0 * ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x)).squeeze(-1)


def build_dcgan(config: Any, shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    if len(shape) != 3 or shape[1] != shape[2]:
        raise HarnessError(f"arch=dcgan needs square images (C, S, S), got shape {tuple(shape)}")
    c, side = int(shape[0]), int(shape[1])
    g = DCGANGenerator(config.z_dim, c, side, config.g_hidden)
    d = DCGANDiscriminator(c, side, config.d_hidden)
    return g, d


NETS.register("dcgan", build_dcgan)
