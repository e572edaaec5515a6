"""SN-GAN.

Paper: Miyato et al., "Spectral Normalization for Generative Adversarial Networks", ICLR 2018;
reference code pfnet-research/sngan_projection: spectral norm on every D layer with one power
iteration per step, hinge loss, Adam lr 2e-4, betas (0, 0.9), 5 D steps (the ResNet setting).
Options: ``--set loss=nonsaturating`` (their standard-CNN setting, with betas (0.5, 0.999) and
n_dis 1). That setting's optimiser values (Adam 2e-4, betas (0.5, 0.999), one D step) are a
published point of every tuning study (`gan-harness tune`); its loss is not, being the method.
"""
from harness.variant import Variant

VARIANT = Variant(
    name="sngan",
    description="spectral norm on every D layer, hinge loss, Adam 2e-4 (0, 0.9), 5 D steps",
    reference="Miyato et al. 2018; pfnet-research/sngan_projection",
    defaults=dict(loss="hinge", penalty="none", constraint="spectral_norm", n_dis=5,
                  optimizer="adam", lr_g=2e-4, lr_d=2e-4, beta1=0.0, beta2=0.9),
    options={"loss=nonsaturating": "the standard-CNN setting's loss"},
    published={"SN-GAN standard-CNN optimiser": dict(beta1=0.5, beta2=0.999, n_dis=1)},
)
