"""Penalties on the discriminator. Each returns the unweighted penalty; the loop multiplies by
``config.penalty_weight``. Random draws (interpolation weights) come from the run's own
``penalty`` stream, passed in explicitly."""
from __future__ import annotations

from typing import Callable, Optional

import torch

from ..registry import Registry
from ..rng import uniform
from ..space import Knob, declare_knobs

Tensor = torch.Tensor
Penalty = Callable[[torch.nn.Module, Tensor, Tensor, torch.Generator], Optional[Tensor]]


def input_gradients(d: torch.nn.Module, x: Tensor, create_graph: bool) -> tuple[Tensor, Tensor]:
    """(D(x), dD/dx) for a batch, with x detached from whatever produced it."""
    x = x.detach().requires_grad_(True)
    out = d(x)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=create_graph)
    return out, grad


def interpolates(real: Tensor, fake: Tensor, gen: torch.Generator) -> Tensor:
    """x_hat = a x_r + (1 - a) x_g with a ~ U[0, 1] per sample."""
    alpha = uniform((real.shape[0],) + (1,) * (real.dim() - 1), gen, real.device)
    return alpha * real.detach() + (1 - alpha) * fake.detach()


def gradient_penalty(d: torch.nn.Module, real: Tensor, fake: Tensor, gen: torch.Generator) -> Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E (||grad_x_hat D(x_hat)||_2 - 1)^2."""
    _, grad = input_gradients(d, interpolates(real, fake, gen), create_graph=True)
    norms = grad.flatten(1).norm(2, dim=1)
    return ((norms - 1.0) ** 2).mean()


def r1_penalty(d: torch.nn.Module, real: Tensor, fake: Tensor, gen: torch.Generator) -> Tensor:
    """R1 (Mescheder et al. 2018) as in the paper: (1/2) E_real ||grad_x D(x)||^2 (weight gamma applied
    by the loop). Their code applies gamma E||grad||^2 without the 1/2: halve gamma to match it."""
    _, grad = input_gradients(d, real, create_graph=True)
    return 0.5 * grad.flatten(1).pow(2).sum(1).mean()


def no_penalty(d: torch.nn.Module, real: Tensor, fake: Tensor, gen: torch.Generator) -> None:
    return None


PENALTIES: Registry[Penalty] = Registry("penalty")
PENALTIES.register("none", no_penalty)
PENALTIES.register("gp", gradient_penalty)
PENALTIES.register("r1", r1_penalty)

# The weight each penalty owns, over a range that spans the published values: lambda = 10 (WGAN-GP on
# images) and 0.1 (its authors' 2-D toy script, gan_toy.py); R1's gamma from 0.1 to 100 (Mescheder et
# al. 2018). harness.space: what `gan-harness tune` searches.
declare_knobs("penalty", "gp", Knob("penalty_weight", "log", 1e-2, 1e2))
declare_knobs("penalty", "r1", Knob("penalty_weight", "log", 1e-2, 1e2))
