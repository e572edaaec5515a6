"""Optimiser factories: (params, lr, beta1, beta2) -> torch optimiser."""
from __future__ import annotations

from typing import Callable, Iterable

import torch

from ..registry import Registry

OptimizerFactory = Callable[[Iterable[torch.nn.Parameter], float, float, float], torch.optim.Optimizer]

OPTIMIZERS: Registry[OptimizerFactory] = Registry("optimizer")
OPTIMIZERS.register("adam", lambda params, lr, b1, b2: torch.optim.Adam(params, lr=lr, betas=(b1, b2)))
# RMSprop as in the WGAN reference code (PyTorch defaults otherwise; betas unused).
OPTIMIZERS.register("rmsprop", lambda params, lr, b1, b2: torch.optim.RMSprop(params, lr=lr))
OPTIMIZERS.register("sgd", lambda params, lr, b1, b2: torch.optim.SGD(params, lr=lr))
