"""Penalties on the discriminator. Each returns the unweighted penalty; the loop multiplies by
``config.penalty_weight``.

A penalty is written once and runs both ways: for one run (D's input ``(B, *x)``, the run's own
``penalty`` stream) and for K seed-stacked runs (harness.vectorize: D's input ``(K, B, *x)``, one
stream per member, member k's draws from its own stream, the penalty a vector of K values). The
fourth argument, :class:`Draws` (a plain ``torch.Generator`` is taken as one run's), knows which: a
penalty draws through it, reduces per sample over the axes after ``draws.sample_axis`` and averages
over that axis. A penalty marked :func:`batched` promises exactly that; the vectorised trainer runs
only those (a test runs every registered penalty both ways in float64 and compares).
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence, Union

import torch

from ..registry import Registry
from ..rng import normal, uniform
from ..space import Knob, declare_knobs

Tensor = torch.Tensor


class Draws:
    """A penalty's context: its random draws, from one generator (one run) or for K stacked members
    from one generator each, stacked on a leading member axis; and where the run is: `step`, the G
    step being taken, and `d_step`, the run's D step being taken (both from 1; 0 outside the loop),
    e.g. for a penalty applied every k-th D step (lazy regularisation)."""

    def __init__(self, gens: Union[torch.Generator, Sequence[torch.Generator]], step: int = 0, d_step: int = 0):
        self.gens = None if isinstance(gens, torch.Generator) else list(gens)
        self.gen = gens if isinstance(gens, torch.Generator) else None
        self.step, self.d_step = step, d_step

    @property
    def sample_axis(self) -> int:
        """The axis of the samples in D's input: 0 for one run, 1 after the member axis."""
        return 0 if self.gens is None else 1

    def _draw(self, fn, shape: tuple[int, ...], device) -> Tensor:
        if self.gens is None:
            return fn(shape, self.gen, device)
        return torch.stack([fn(shape, g, device) for g in self.gens])

    def uniform(self, shape: tuple[int, ...], device) -> Tensor:
        """U[0, 1) of `shape` per run (with a leading member axis when stacked)."""
        return self._draw(uniform, shape, device)

    def normal(self, shape: tuple[int, ...], device) -> Tensor:
        return self._draw(normal, shape, device)

    def per_sample(self, x: Tensor) -> tuple[int, ...]:
        """The shape of one draw per sample of x, broadcastable against x: (B, 1, ..., 1)."""
        axis = self.sample_axis
        return (x.shape[axis],) + (1,) * (x.dim() - axis - 1)

    def rows(self, x: Tensor) -> Tensor:
        """x as one row per sample: (B, features), or (K, B, features) when stacked."""
        return x.flatten(self.sample_axis + 1)

    def lead(self, x: Tensor) -> tuple[int, ...]:
        """x's member axes: () for one run, (K,) when stacked."""
        return tuple(x.shape[:self.sample_axis])


def as_draws(gen: Union[torch.Generator, Draws]) -> Draws:
    return gen if isinstance(gen, Draws) else Draws(gen)


Penalty = Callable[[torch.nn.Module, Tensor, Tensor, Union[torch.Generator, Draws]], Optional[Tensor]]


def batched(fn: Penalty) -> Penalty:
    """Mark a penalty as written for both shapes (see the module's docstring): --vectorize runs it."""
    fn.batched = True  # type: ignore[attr-defined]
    return fn


def input_gradients(d: torch.nn.Module, x: Tensor, create_graph: bool) -> tuple[Tensor, Tensor]:
    """(D(x), dD/dx) for a batch, with x detached from whatever produced it. Each sample's (and
    member's) output depends on its own input only, so the gradient of the sum is each one's."""
    x = x.detach().requires_grad_(True)
    out = d(x)
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=create_graph)
    return out, grad


def interpolates(real: Tensor, fake: Tensor, gen: Union[torch.Generator, Draws]) -> Tensor:
    """x_hat = a x_r + (1 - a) x_g with a ~ U[0, 1] per sample."""
    draws = as_draws(gen)
    alpha = draws.uniform(draws.per_sample(real), real.device)
    return alpha * real.detach() + (1 - alpha) * fake.detach()


def _grad_norms(d: torch.nn.Module, x: Tensor, draws: Draws) -> Tensor:
    """||grad_x D(x)||_2 per sample, differentiable (the penalty trains D through it)."""
    _, grad = input_gradients(d, x, create_graph=True)
    return draws.rows(grad).norm(2, dim=-1)


@batched
def gradient_penalty(d: torch.nn.Module, real: Tensor, fake: Tensor, gen) -> Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E (||grad_x_hat D(x_hat)||_2 - 1)^2."""
    draws = as_draws(gen)
    return ((_grad_norms(d, interpolates(real, fake, draws), draws) - 1.0) ** 2).mean(-1)


@batched
def lipschitz_penalty(d: torch.nn.Module, real: Tensor, fake: Tensor, gen) -> Tensor:
    """WGAN-LP (Petzka et al. 2018): the one-sided E max(0, ||grad_x_hat D(x_hat)||_2 - 1)^2 on the
    same interpolates as WGAN-GP: gradients below norm 1 are not pushed up."""
    draws = as_draws(gen)
    return (torch.clamp(_grad_norms(d, interpolates(real, fake, draws), draws) - 1.0, min=0.0) ** 2).mean(-1)


@batched
def dragan_penalty(d: torch.nn.Module, real: Tensor, fake: Tensor, gen) -> Tensor:
    """DRAGAN (Kodali et al. 2017; reference code kodalinaveen3/DRAGAN): E (||grad D(x_hat)||_2 - 1)^2
    at x_hat = x + a * delta, a ~ U[0, 1] per sample, delta = C * std(x) * u, u ~ U[0, 1) per
    element, C = 0.5 (std over the real batch's elements): around the data, not between data and G."""
    draws = as_draws(gen)
    x = real.detach()
    std = draws.rows(x).flatten(draws.sample_axis).std(-1, correction=0)  # per run, over the batch (numpy std)
    std = std.reshape(draws.lead(x) + (1,) * (x.dim() - draws.sample_axis))
    delta = DRAGAN_C * std * draws.uniform(tuple(x.shape[draws.sample_axis:]), x.device)
    alpha = draws.uniform(draws.per_sample(x), x.device)
    return ((_grad_norms(d, x + alpha * delta, draws) - 1.0) ** 2).mean(-1)


DRAGAN_C = 0.5  # the perturbation's scale in units of the data's std (the reference code's 0.5)


@batched
def r1_penalty(d: torch.nn.Module, real: Tensor, fake: Tensor, gen) -> Tensor:
    """R1 (Mescheder et al. 2018) as in the paper: (1/2) E_real ||grad_x D(x)||^2 (weight gamma applied
    by the loop). Their code applies gamma E||grad||^2 without the 1/2: halve gamma to match it."""
    draws = as_draws(gen)
    _, grad = input_gradients(d, real, create_graph=True)
    return 0.5 * draws.rows(grad).pow(2).sum(-1).mean(-1)


@batched
def r2_penalty(d: torch.nn.Module, real: Tensor, fake: Tensor, gen) -> Tensor:
    """R2 (Mescheder et al. 2018): (1/2) E_fake ||grad_x D(x)||^2, R1's penalty on G's samples."""
    draws = as_draws(gen)
    _, grad = input_gradients(d, fake, create_graph=True)
    return 0.5 * draws.rows(grad).pow(2).sum(-1).mean(-1)


@batched
def no_penalty(d: torch.nn.Module, real: Tensor, fake: Tensor, gen) -> None:
    return None


PENALTIES: Registry[Penalty] = Registry("penalty")
PENALTIES.register("none", no_penalty)
PENALTIES.register("gp", gradient_penalty)
PENALTIES.register("lp", lipschitz_penalty)
PENALTIES.register("dragan", dragan_penalty)
PENALTIES.register("r1", r1_penalty)
PENALTIES.register("r2", r2_penalty)

# The weight each penalty owns, over a range that spans the published values: lambda = 10 (WGAN-GP on
# images, WGAN-LP, DRAGAN) and 0.1 (WGAN-GP's authors' 2-D toy script, gan_toy.py); R1's and R2's
# gamma from 0.1 to 100 (Mescheder et al. 2018). harness.space: what `gan-harness tune` searches.
for _name in ("gp", "lp", "dragan", "r1", "r2"):
    declare_knobs("penalty", _name, Knob("penalty_weight", "log", 1e-2, 1e2))
