"""Unrolled GAN (Metz, Poole, Pfau and Sohl-Dickstein 2017, "Unrolled Generative Adversarial Networks";
reference code poolio/unrolled_gan): G's loss is taken against D after k further steps of D's own
optimiser, and G's gradient flows through those k steps (second-order terms included).

`unrolled_discriminator(state)` starts from D's current parameters and optimiser state (moments and
step count, the scheduled learning rate), takes ``unrolled_steps`` steps on fresh batches from the
run's data and noise streams with the run's D objective (loss pair, penalty, instance noise,
clipping), each a differentiable function of G's samples, and returns D with the k-th parameters
(a module; D's own parameters and optimiser are untouched: D trains as before). D is in eval mode
throughout, so spectral norm uses its current power-iteration vectors without advancing them.

The optimiser steps are written out for the three optimisers the harness registers, with torch's
own formulas (Adam with bias correction and eps added to the square root; RMSprop alpha 0.99, eps
1e-8; SGD): a test compares k unrolled steps with k real optimiser steps (tests/test_update_schemes.py).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .errors import HarnessError

UNROLLABLE = ("adam", "rmsprop", "sgd")
TINY = 1e-30  # sqrt is evaluated at max(v, TINY): its derivative at an exactly-zero second moment is infinite


class WithParams(nn.Module):
    """`module` evaluated with `params` (name -> tensor) in place of its own parameters."""

    def __init__(self, module: nn.Module, params: dict[str, torch.Tensor]):
        super().__init__()
        self.inner = module
        self.params = params

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(self.inner, self.params, (x,))


def _step(kind: str, group: dict[str, Any], p: torch.Tensor, g: torch.Tensor, slot: dict[str, Any]) -> torch.Tensor:
    """One optimiser step of parameter p with gradient g, differentiable in g; `slot` holds the
    step's state (moments, step count) and is updated."""
    lr = group["lr"]
    if kind == "sgd":
        return p - lr * g
    if kind == "rmsprop":
        alpha, eps = group["alpha"], group["eps"]
        slot["square_avg"] = alpha * slot["square_avg"] + (1 - alpha) * g * g
        return p - lr * g / (slot["square_avg"].clamp_min(TINY).sqrt() + eps)
    b1, b2 = group["betas"]
    eps = group["eps"]
    slot["step"] += 1
    t = slot["step"]
    slot["exp_avg"] = b1 * slot["exp_avg"] + (1 - b1) * g
    slot["exp_avg_sq"] = b2 * slot["exp_avg_sq"] + (1 - b2) * g * g
    denom = (slot["exp_avg_sq"].clamp_min(TINY).sqrt() / (1 - b2 ** t) ** 0.5) + eps
    return p - (lr / (1 - b1 ** t)) * slot["exp_avg"] / denom


def _slots(kind: str, opt: torch.optim.Optimizer, named: list[tuple[str, nn.Parameter]]) -> dict[str, dict[str, Any]]:
    """Each parameter's optimiser state as plain tensors (zeros before the optimiser's first step)."""
    out = {}
    for name, p in named:
        st = opt.state.get(p, {})
        if kind == "adam":
            out[name] = {"step": float(st["step"]) if "step" in st else 0.0,
                         "exp_avg": st["exp_avg"].detach().clone() if "exp_avg" in st else torch.zeros_like(p),
                         "exp_avg_sq": st["exp_avg_sq"].detach().clone() if "exp_avg_sq" in st else torch.zeros_like(p)}
        elif kind == "rmsprop":
            out[name] = {"square_avg": st["square_avg"].detach().clone() if "square_avg" in st else torch.zeros_like(p)}
        else:
            out[name] = {}
    return out


def unrolled_discriminator(state: Any) -> WithParams:
    """D after cfg.unrolled_steps differentiable steps of its optimiser (module docstring). Call with
    D in eval mode and G's parameters requiring gradients."""
    cfg = state.cfg
    kind = cfg.optimizer
    if kind not in UNROLLABLE:
        raise HarnessError(f"update=unrolled: optimizer {kind!r} is not unrolled (unrolled: {', '.join(UNROLLABLE)})")
    opt = state.opt_d
    if len(opt.param_groups) != 1:
        raise HarnessError("update=unrolled: D's optimiser must have one parameter group")
    group = opt.param_groups[0]
    named = list(state.D.named_parameters())
    params = {n: p.detach().clone().requires_grad_(True) for n, p in named}
    slots = _slots(kind, opt, named)
    clip = cfg.constraint == "clip"
    real_d = state.D
    for _ in range(cfg.unrolled_steps):
        x, z = state.real(), state.noise()
        fake = state.generate_fake(z)  # not detached: G's gradient flows through this step
        state.D = WithParams(real_d, params)
        try:
            _, _, total = state.d_objective(state.d_in(x), state.d_in(fake))
        finally:
            state.D = real_d
        grads = torch.autograd.grad(state.reduce(total), list(params.values()), create_graph=True)
        new = {}
        for (name, p), g in zip(params.items(), grads):
            q = _step(kind, group, p, g, slots[name])
            new[name] = q.clamp(-cfg.clip_value, cfg.clip_value) if clip else q
        params = new
    return WithParams(real_d, params)
