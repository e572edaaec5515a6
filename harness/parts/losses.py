"""Loss pairs on raw discriminator outputs (logits / critic values).

Each pair is (d_loss(d_real, d_fake), g_loss(d_fake)); both return scalars to minimise. A pair whose
G loss also needs D's outputs on real data (relativistic losses: Jolicoeur-Martineau 2018) sets
``g_sees_real``: the loop then draws a real batch for each G step (from the run's data stream) and
calls g_loss(d_fake, d_real).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from ..registry import Registry

Tensor = torch.Tensor


@dataclass(frozen=True)
class LossPair:
    d: Callable[[Tensor, Tensor], Tensor]
    g: Callable[..., Tensor]  # g(d_fake), or g(d_fake, d_real) with g_sees_real
    description: str = ""
    g_sees_real: bool = False


def bce_d(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """-E log sigmoid(D(x)) - E log(1 - sigmoid(D(G(z)))), on logits (numerically stable)."""
    return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()


def nonsaturating_g(d_fake: Tensor) -> Tensor:
    """G maximises log D(G(z)): -E log sigmoid(D(G(z)))."""
    return F.softplus(-d_fake).mean()


def saturating_g(d_fake: Tensor) -> Tensor:
    """The minimax form: G minimises E log(1 - sigmoid(D(G(z)))) = -E softplus(D(G(z)))."""
    return -F.softplus(d_fake).mean()


def wasserstein_d(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """The critic maximises E D(x) - E D(G(z))."""
    return d_fake.mean() - d_real.mean()


def wasserstein_g(d_fake: Tensor) -> Tensor:
    return -d_fake.mean()


def hinge_d(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """E relu(1 - D(x)) + E relu(1 + D(G(z)))."""
    return F.relu(1.0 - d_real).mean() + F.relu(1.0 + d_fake).mean()


def least_squares_d(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """LSGAN (Mao et al. 2017, the 0-1 coding a = 0, b = c = 1): (1/2) E (D(x) - 1)^2 + (1/2) E D(G(z))^2."""
    return 0.5 * (d_real - 1.0).pow(2).mean() + 0.5 * d_fake.pow(2).mean()


def least_squares_g(d_fake: Tensor) -> Tensor:
    """LSGAN's G: (1/2) E (D(G(z)) - 1)^2, G pulls its samples' scores to the real label."""
    return 0.5 * (d_fake - 1.0).pow(2).mean()


LOSSES: Registry[LossPair] = Registry("loss")
LOSSES.register("nonsaturating", LossPair(bce_d, nonsaturating_g, "BCE on logits; G maximises log D(G(z)) (Goodfellow et al. 2014)"))
LOSSES.register("saturating", LossPair(bce_d, saturating_g, "BCE on logits; G minimises log(1 - D(G(z))) (the minimax form)"))
LOSSES.register("wasserstein", LossPair(wasserstein_d, wasserstein_g, "critic E D(x) - E D(G(z)) (Arjovsky et al. 2017)"))
LOSSES.register("hinge", LossPair(hinge_d, wasserstein_g, "hinge for D, -E D(G(z)) for G (Miyato et al. 2018)"))
LOSSES.register("least_squares", LossPair(least_squares_d, least_squares_g,
                                          "least squares, labels 0 (fake) and 1 (real) (LSGAN, Mao et al. 2017)"))
