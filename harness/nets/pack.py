"""Packing (PacGAN, Lin et al. 2018): D judges m samples at once, concatenated into one input.

A batch of N = m * B samples is laid out slot by slot: rows s*B .. s*B + B - 1 fill slot s of the
B packs, so pack i is (x[i], x[B + i], ..., x[(m-1)B + i]) concatenated along the first
non-batch axis (the features of vector data, the channels of images). D itself is built for the
packed shape; only its first layer sees the wider input. PacGAN's code draws the m slots of a
fake pack from m separate G forwards of B latents each, which is this layout (harness.trainer).
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import HarnessError


def packed_shape(shape: tuple[int, ...], pack: int) -> tuple[int, ...]:
    """The shape of one pack of `pack` samples of `shape`: the first axis m times as long."""
    return (shape[0] * pack, *shape[1:])


def pack_samples(x: torch.Tensor, pack: int) -> torch.Tensor:
    """(m * B, C, ...) slot-major samples -> (B, m * C, ...) packs."""
    n = x.shape[0]
    if n % pack:
        raise HarnessError(f"{n} samples cannot be packed in groups of pack={pack}")
    b = n // pack
    return x.reshape(pack, b, *x.shape[1:]).transpose(0, 1).reshape(b, pack * x.shape[1], *x.shape[2:])


class Packed(nn.Module):
    """D on packs: forward takes m * B slot-major samples and returns B values (one per pack)."""

    def __init__(self, inner: nn.Module, pack: int):
        super().__init__()
        self.inner, self.pack = inner, int(pack)

    def pack_input(self, x: torch.Tensor) -> torch.Tensor:
        return pack_samples(x, self.pack)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(self.pack_input(x))


def unpacked(d: nn.Module, *xs: torch.Tensor) -> tuple[nn.Module, list[torch.Tensor]]:
    """The network that sees D's actual inputs, and those inputs: (inner D, packs) for a packed D,
    (D, xs) otherwise. Penalties and input-gradient probes work on these, so that the gradient
    norm and the interpolation weight are per D input (per pack), as for an unpacked D."""
    if isinstance(d, Packed):
        return d.inner, [d.pack_input(x) for x in xs]
    return d, list(xs)
