"""A faithful re-implementation of the reference `vanilla` variant under the `ci` suite's protocol,
as a plain PyTorch loop that uses nothing of harness.trainer: the stand-in for "a GAN trained
outside the harness" in the regression check's proof (tests/test_check_proof.py).

What it reproduces, from the README and `gan-harness list`: ring8 (8 components on a circle of
radius 2, σ 0.02, equally likely); G an MLP 16 -> 3 x 128 (ReLU) -> 2, D an MLP 2 -> 3 x 128
(LeakyReLU 0.2) -> 1, PyTorch's default initialisation; the non-saturating loss (BCE on logits);
under the `2d` setting: Adam, lr 2e-3 for both players, betas (0, 0.9), decaying linearly to 0
over the run, one D step then one G step per iteration, fresh noise for each; the ci suite's budget
of 1,000 G steps at batch 256; 2,500 final samples from N(0, I) latents.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


def ring8(n: int, gen: torch.Generator) -> torch.Tensor:
    k = torch.randint(0, 8, (n,), generator=gen)
    angle = 2 * math.pi * k.double() / 8
    centres = torch.stack([2 * torch.cos(angle), 2 * torch.sin(angle)], dim=1).float()
    return centres + 0.02 * torch.randn(n, 2, generator=gen)


def mlp(n_in: int, n_out: int, act: nn.Module) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, 128), act, nn.Linear(128, 128), act, nn.Linear(128, 128), act,
                         nn.Linear(128, n_out))


def train_vanilla(seed: int, steps: int = 1000, batch: int = 256, lr: float = 2e-3, n_samples: int = 2500,
                  flip_d_sign: bool = False) -> np.ndarray:
    """Final samples (n_samples, 2) of one seed. `flip_d_sign`: the bug a regression check must
    catch, D's loss with its sign flipped (D maximises its own classification loss)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(10_000 + seed)
    G, D = mlp(16, 2, nn.ReLU()), mlp(2, 1, nn.LeakyReLU(0.2))
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.0, 0.9))
    bce = nn.BCEWithLogitsLoss()
    ones, zeros = torch.ones(batch), torch.zeros(batch)
    for t in range(1, steps + 1):
        for opt in (opt_g, opt_d):
            for group in opt.param_groups:
                group["lr"] = lr * (1 - (t - 1) / steps)
        x = ring8(batch, gen)
        with torch.no_grad():
            fake = G(torch.randn(batch, 16, generator=gen))
        loss_d = bce(D(x).squeeze(-1), ones) + bce(D(fake).squeeze(-1), zeros)
        if flip_d_sign:
            loss_d = -loss_d
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = bce(D(G(torch.randn(batch, 16, generator=gen))).squeeze(-1), ones)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
    with torch.no_grad():
        return G(torch.randn(n_samples, 16, generator=gen)).numpy()
