"""Constraints on the discriminator: applied once when D is built, and/or after every D step."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import Registry
from ..space import Knob, declare_knobs


def _noop(d: nn.Module, clip_value: float) -> None:
    return None


@dataclass(frozen=True)
class Constraint:
    """on_build wraps D's layers once; after_step acts on D after every D step. For K seed-stacked
    runs (harness.vectorize) a constraint runs only where it says how: ``batched`` (after_step acts
    element by element, so on stacked parameters it acts on each member's own) and, where on_build
    reparametrises the linear weights, ``stacked_weight(w, state, training)``: the same map for
    weights (K, out, in) with per-member state, written here beside the single-run form."""
    on_build: Callable[[nn.Module], nn.Module] = lambda d: d
    after_step: Callable[[nn.Module, float], None] = _noop
    description: str = ""
    batched: bool = False
    stacked_weight: Callable[..., torch.Tensor] | None = None


def spectral_norm_all(d: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) on every linear and conv layer, one power
    iteration per training forward."""
    for module in list(d.modules()):
        if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d)):
            nn.utils.parametrizations.spectral_norm(module, n_power_iterations=1)
    return d


def stacked_spectral_norm(w: torch.Tensor, u: torch.Tensor, v: torch.Tensor, training: bool,
                          eps: float = 1e-12) -> torch.Tensor:
    """spectral_norm_all's map for K stacked weights w (K, out, in): W / sigma(W) per member, sigma
    from the member's own vectors u (K, out), v (K, in), which one power iteration updates in place
    on a training forward, as torch.nn.utils.parametrizations.spectral_norm does for one weight."""
    if training:
        with torch.no_grad():
            u.copy_(F.normalize(torch.bmm(w, v.unsqueeze(-1)).squeeze(-1), dim=-1, eps=eps))
            v.copy_(F.normalize(torch.bmm(w.transpose(1, 2), u.unsqueeze(-1)).squeeze(-1), dim=-1, eps=eps))
    u, v = u.clone(), v.clone()
    sigma = (u * torch.bmm(w, v.unsqueeze(-1)).squeeze(-1)).sum(-1)
    return w / sigma[:, None, None]


@torch.no_grad()
def clip_weights(d: nn.Module, clip_value: float) -> None:
    """WGAN weight clipping: every parameter of D into [-c, c] after each critic step."""
    for p in d.parameters():
        p.clamp_(-clip_value, clip_value)


CONSTRAINTS: Registry[Constraint] = Registry("constraint")
CONSTRAINTS.register("none", Constraint(description="no constraint", batched=True))
CONSTRAINTS.register("clip", Constraint(after_step=clip_weights, batched=True,
                                        description="clip D's weights to [-clip_value, clip_value] after each D step (WGAN)"))
CONSTRAINTS.register("spectral_norm", Constraint(on_build=spectral_norm_all, batched=True,
                                                 stacked_weight=stacked_spectral_norm,
                                                 description="spectral norm on every D layer (SN-GAN)"))
# Clipping's bound, two decades around WGAN's 0.01 (harness.space: what `gan-harness tune` searches).
declare_knobs("constraint", "clip", Knob("clip_value", "log", 1e-3, 1e-1))
