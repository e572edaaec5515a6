"""Vanilla GAN with the non-saturating generator loss.

Paper: Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014 (the non-saturating G loss is
their practical recommendation). Optimiser from DCGAN (Radford et al. 2016, reference code
Newmu/dcgan_code): Adam, lr 2e-4, betas (0.5, 0.999), one D step per G step.
Option: ``--set loss=saturating`` gives the minimax G loss log(1 - D(G(z))).
"""
from harness.variant import Variant

VARIANT = Variant(
    name="vanilla",
    description="non-saturating GAN (BCE on logits), Adam 2e-4 (0.5, 0.999), 1 D step",
    reference="Goodfellow et al. 2014; DCGAN (Radford et al. 2016) optimiser",
    defaults=dict(loss="nonsaturating", penalty="none", constraint="none", n_dis=1,
                  optimizer="adam", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999),
    options={"loss=saturating": "minimax generator loss"},
)
