"""GAN with the zero-centred R1 penalty.

Paper: Mescheder, Geiger and Nowozin, "Which Training Methods for GANs do actually Converge?", ICML
2018; reference code LMescheder/GAN_stability: non-saturating loss, R1 = (gamma / 2) E ||grad D(x)||^2
on real data with gamma = 10, RMSprop lr 1e-4 for both players, one D step per G step. The harness's
R1 is the paper's form (gamma / 2); the reference code adds gamma E ||grad||^2 / 2 as well.
The Dirac-GAN table (gan-harness run --suite dirac) shows this method converging where the
unregularised GAN does not.
"""
from harness.variant import Variant

VARIANT = Variant(
    name="gan-r1",
    description="non-saturating GAN + R1 penalty gamma 10 on real data, RMSprop 1e-4, 1 D step",
    reference="Mescheder et al. 2018; LMescheder/GAN_stability",
    defaults=dict(loss="nonsaturating", penalty="r1", penalty_weight=10.0, constraint="none", n_dis=1,
                  optimizer="rmsprop", lr_g=1e-4, lr_d=1e-4),
)
