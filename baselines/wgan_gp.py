"""WGAN-GP.

Paper: Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS 2017; reference code
igul222/improved_wgan_training: gradient penalty lambda = 10 on interpolates
x_hat = a x_r + (1 - a) x_g, a ~ U[0, 1]; Adam lr 1e-4, betas (0.5, 0.9); 5 critic steps; no batch
norm in the critic. Their public 2-D toy script (gan_toy.py) uses lambda = 0.1 ("smaller lambda seems
to help for toy tasks specifically"), the same optimiser and 5 critic steps, a constant rate: a
published point of every tuning study (`gan-harness tune`).
"""
from harness.variant import Variant

VARIANT = Variant(
    name="wgan-gp",
    description="WGAN critic loss + gradient penalty 10, Adam 1e-4 (0.5, 0.9), 5 critic steps",
    reference="Gulrajani et al. 2017; igul222/improved_wgan_training",
    defaults=dict(loss="wasserstein", penalty="gp", penalty_weight=10.0, constraint="none", n_dis=5,
                  optimizer="adam", lr_g=1e-4, lr_d=1e-4, beta1=0.5, beta2=0.9),
    published={"gan_toy.py 2-D": dict(penalty_weight=0.1, n_dis=5, lr_g=1e-4, lr_d=1e-4, beta1=0.5, beta2=0.9,
                                      lr_schedule="constant")},
)
