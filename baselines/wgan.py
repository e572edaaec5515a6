"""WGAN with weight clipping.

Paper: Arjovsky, Chintala & Bottou, "Wasserstein GAN", ICML 2017; reference code
martinarjovsky/WassersteinGAN: RMSprop lr 5e-5, 5 critic steps per G step, critic weights clipped
to [-0.01, 0.01] after each critic step. (The reference also runs 100 critic steps for the first
25 G steps and every 500th; not reproduced here: a fixed n_dis keeps budgets comparable.)
The WGAN-GP authors' 2-D toy script (gan_toy.py) runs WGAN with these same values (RMSprop 5e-5,
clip 0.01, 5 critic steps), so its 2-D point is the authors' point of a tuning study.
"""
from harness.variant import Variant

VARIANT = Variant(
    name="wgan",
    description="WGAN critic loss, weight clipping 0.01, RMSprop 5e-5, 5 critic steps",
    reference="Arjovsky et al. 2017; martinarjovsky/WassersteinGAN",
    defaults=dict(loss="wasserstein", penalty="none", constraint="clip", clip_value=0.01, n_dis=5,
                  optimizer="rmsprop", lr_g=5e-5, lr_d=5e-5),
)
