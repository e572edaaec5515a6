"""Unrolled GAN.

Paper: Metz, Poole, Pfau and Sohl-Dickstein, "Unrolled Generative Adversarial Networks", ICLR 2017;
reference code poolio/unrolled_gan (the 2-D mixture-of-Gaussians notebook, the ring8 of this
harness): the non-saturating GAN whose G step is taken against D unrolled 5 steps of D's own
optimiser, G's gradient through them; Adam with lr 1e-4 for D and 1e-3 for G (beta1 0.5), one D
step per G step. update=unrolled (harness/unroll.py) is the method; unrolled_steps = 5 its value.
"""
from harness.variant import Variant

VARIANT = Variant(
    name="unrolled",
    description="non-saturating GAN, G steps against D unrolled 5 steps (gradient through them), Adam 1e-3 G / 1e-4 D",
    reference="Metz et al. 2017; poolio/unrolled_gan",
    defaults=dict(loss="nonsaturating", penalty="none", constraint="none", n_dis=1, update="unrolled",
                  unrolled_steps=5, optimizer="adam", lr_g=1e-3, lr_d=1e-4, beta1=0.5, beta2=0.999),
)
