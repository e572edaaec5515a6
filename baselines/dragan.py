"""DRAGAN.

Paper: Kodali, Abernethy, Hays and Kira, "On Convergence and Stability of GANs", 2017; reference code
kodalinaveen3/DRAGAN: the non-saturating GAN loss plus lambda (||grad D(x_hat)|| - 1)^2 at points
x_hat = x + alpha 0.5 std(x) u perturbed around the real data, lambda = 10, Adam lr 1e-4,
betas (0.5, 0.9), one D step per G step.
"""
from harness.variant import Variant

VARIANT = Variant(
    name="dragan",
    description="non-saturating GAN + DRAGAN penalty lambda 10 around the real data, Adam 1e-4 (0.5, 0.9), 1 D step",
    reference="Kodali et al. 2017; kodalinaveen3/DRAGAN",
    defaults=dict(loss="nonsaturating", penalty="dragan", penalty_weight=10.0, constraint="none", n_dis=1,
                  optimizer="adam", lr_g=1e-4, lr_d=1e-4, beta1=0.5, beta2=0.9),
)
