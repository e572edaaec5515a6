"""Constraints on the discriminator: applied once when D is built, and/or after every D step."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from ..registry import Registry
from ..space import Knob, declare_knobs


def _noop(d: nn.Module, clip_value: float) -> None:
    return None


@dataclass(frozen=True)
class Constraint:
    on_build: Callable[[nn.Module], nn.Module] = lambda d: d
    after_step: Callable[[nn.Module, float], None] = _noop
    description: str = ""


def spectral_norm_all(d: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) on every linear and conv layer, one power
    iteration per training forward."""
    for module in list(d.modules()):
        if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d)):
            nn.utils.parametrizations.spectral_norm(module, n_power_iterations=1)
    return d


@torch.no_grad()
def clip_weights(d: nn.Module, clip_value: float) -> None:
    """WGAN weight clipping: every parameter of D into [-c, c] after each critic step."""
    for p in d.parameters():
        p.clamp_(-clip_value, clip_value)


CONSTRAINTS: Registry[Constraint] = Registry("constraint")
CONSTRAINTS.register("none", Constraint(description="no constraint"))
CONSTRAINTS.register("clip", Constraint(after_step=clip_weights, description="clip D's weights to [-clip_value, clip_value] after each D step (WGAN)"))
CONSTRAINTS.register("spectral_norm", Constraint(on_build=spectral_norm_all, description="spectral norm on every D layer (SN-GAN)"))
# Clipping's bound, two decades around WGAN's 0.01 (harness.space: what `gan-harness tune` searches).
declare_knobs("constraint", "clip", Knob("clip_value", "log", 1e-3, 1e-1))
