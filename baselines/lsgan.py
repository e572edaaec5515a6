"""LSGAN: least-squares GAN.

Paper: Mao et al., "Least Squares Generative Adversarial Networks", ICCV 2017; reference code
xudonmao/LSGAN: the 0-1 coding of their Eq. 9 (D: (1/2)E(D(x) - 1)^2 + (1/2)E D(G(z))^2; G:
(1/2)E(D(G(z)) - 1)^2), Adam lr 2e-4, beta1 0.5, one D step per G step.
"""
from harness.variant import Variant

VARIANT = Variant(
    name="lsgan",
    description="least-squares loss (0-1 coding), Adam 2e-4 (0.5, 0.999), 1 D step",
    reference="Mao et al. 2017; xudonmao/LSGAN",
    defaults=dict(loss="least_squares", penalty="none", constraint="none", n_dis=1,
                  optimizer="adam", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999),
)
