"""Named random streams derived from one run seed.

Weight init, data sampling, training noise, penalty interpolation, probes, evaluation and the
evaluation-noise banks each
draw from their own generator, so that e.g. evaluating more often never changes training.
All streams live on the CPU: the same seed gives the same draws on every device.
"""
from __future__ import annotations

import contextlib
import hashlib
from typing import Iterator

import torch

STREAMS = ("init", "data", "noise", "penalty", "probe", "eval", "eval-noise")


def derive_seed(seed: int, stream: str) -> int:
    """A 63-bit seed for `stream`, a pure function of (seed, stream)."""
    digest = hashlib.sha256(f"gan-harness:{int(seed)}:{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def generator(seed: int, stream: str) -> torch.Generator:
    g = torch.Generator(device="cpu")
    g.manual_seed(derive_seed(seed, stream))
    return g


class Streams:
    """The run's generators, one per stream name."""

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._gens = {name: generator(self.seed, name) for name in STREAMS}

    def __getitem__(self, name: str) -> torch.Generator:
        return self._gens[name]

    def get_state(self) -> dict[str, torch.Tensor]:
        """Every stream's generator state (a ByteTensor each), for a resume checkpoint."""
        return {name: gen.get_state() for name, gen in self._gens.items()}

    def set_state(self, states: dict[str, torch.Tensor]) -> None:
        """Put every stream back where `states` (from get_state) left it; all of them or none."""
        if set(states) != set(self._gens):
            raise ValueError(f"streams {sorted(states)} do not match {sorted(self._gens)}")
        for name, gen in self._gens.items():
            gen.set_state(states[name])


@contextlib.contextmanager
def seeded_global(seed: int, stream: str = "init") -> Iterator[None]:
    """Run code that uses torch's global RNG (module init, spectral-norm vectors) under a derived seed,
    leaving the caller's global RNG state untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(seed, stream))
        yield


def normal(shape: tuple[int, ...], gen: torch.Generator, device: torch.device | str = "cpu") -> torch.Tensor:
    """Standard normal noise drawn on the CPU from `gen`, then moved to `device`."""
    return torch.randn(shape, generator=gen).to(device)


def uniform(shape: tuple[int, ...], gen: torch.Generator, device: torch.device | str = "cpu") -> torch.Tensor:
    return torch.rand(shape, generator=gen).to(device)


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """torch's default dtype set to `dtype` for the duration (float64 checks and the Dirac-GAN)."""
    prev = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(prev)
