"""Vanilla GAN with the non-saturating generator loss.

Paper: Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014 (the non-saturating G loss is
their practical recommendation). Optimiser from DCGAN (Radford et al. 2016, reference code
Newmu/dcgan_code): Adam, lr 2e-4, betas (0.5, 0.999), one D step per G step.
Option: ``--set loss=saturating`` gives the minimax G loss log(1 - D(G(z))).
Published 2-D values, points of every tuning study (`gan-harness tune`): PacGAN's 2-D experiments
(fjxmlzn/PacGAN, synthetic_data_experiments/*/config.py: Adam 1e-4, betas (0.8, 0.999), one D step),
and the Unrolled GAN notebook's GAN baseline (poolio/unrolled_gan: lr D 1e-4, G 1e-3; betas kept at
the DCGAN values above).
"""
from harness.variant import Variant

VARIANT = Variant(
    name="vanilla",
    description="non-saturating GAN (BCE on logits), Adam 2e-4 (0.5, 0.999), 1 D step",
    reference="Goodfellow et al. 2014; DCGAN (Radford et al. 2016) optimiser",
    defaults=dict(loss="nonsaturating", penalty="none", constraint="none", n_dis=1,
                  optimizer="adam", lr_g=2e-4, lr_d=2e-4, beta1=0.5, beta2=0.999),
    options={"loss=saturating": "minimax generator loss"},
    published={"PacGAN 2-D": dict(lr_g=1e-4, lr_d=1e-4, beta1=0.8, beta2=0.999, n_dis=1),
               "Unrolled GAN notebook 2-D": dict(lr_g=1e-3, lr_d=1e-4, n_dis=1)},
)
