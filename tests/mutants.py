"""Broken variants that a regression check must catch (docs/CHECK.md, "Proof").

Each mutant is a reference variant with one part broken, the way such code breaks in practice: a
sign, a forgotten constraint, the wrong loss, a learning rate off by 10. Importing this module
registers the mutants' parts and variants; it is a plugin (``gan-harness check --plugin
tests/mutants.py --variant mutant-gp-sign --against wgan-gp --baseline ci``), and worker processes
import it too.

:data:`MUTANTS`: name -> (the reference variant it must be checked against, overrides of the
candidate's config). A mutant that is not a variant of its own (lr_d x 10) is the reference variant
with an override; its learning rate is taken from the setting the run resolves to.
"""
from __future__ import annotations

from harness.parts import LOSSES, PENALTIES, LossPair
from harness.parts.losses import bce_d, nonsaturating_g
from harness.parts.penalties import gradient_penalty
from harness.variant import Variant, get_variant, register_variant


def flipped_gradient_penalty(d, real, fake, gen):
    """The WGAN-GP penalty with its sign flipped: the critic is rewarded for steep gradients."""
    return -gradient_penalty(d, real, fake, gen)


def flipped_bce_d(d_real, d_fake):
    """The discriminator's BCE with its sign flipped: D maximises its own classification loss."""
    return -bce_d(d_real, d_fake)


PENALTIES.register("mutant-gp-flipped", flipped_gradient_penalty, replace=True)
LOSSES.register("mutant-d-flipped", LossPair(flipped_bce_d, nonsaturating_g, "BCE for D with its sign flipped"),
                replace=True)


def _mutant(name: str, base: str, description: str, **changes) -> str:
    register_variant(Variant(name=name, defaults={**get_variant(base).defaults, **changes},
                             description=f"MUTANT of {base}: {description}"), replace=True)
    return name


#: mutant -> (reference variant, candidate overrides as a function of the reference's resolved config)
MUTANTS = {
    _mutant("mutant-gp-sign", "wgan-gp", "gradient-penalty sign flipped", penalty="mutant-gp-flipped"):
        ("wgan-gp", lambda cfg: {}),
    _mutant("mutant-no-clip", "wgan", "weight clipping disabled", constraint="none"): ("wgan", lambda cfg: {}),
    _mutant("mutant-no-sn", "sngan", "spectral norm removed", constraint="none"): ("sngan", lambda cfg: {}),
    _mutant("mutant-d-sign", "vanilla", "the D loss's sign flipped", loss="mutant-d-flipped"): ("vanilla", lambda cfg: {}),
    _mutant("mutant-saturating", "vanilla", "the saturating G loss log(1 - D(G(z)))", loss="saturating"):
        ("vanilla", lambda cfg: {}),
    "vanilla+lr_d*10": ("vanilla", lambda cfg: {"lr_d": 10 * cfg.lr_d}),
}


def candidate(mutant: str) -> str:
    """The variant a mutant trains as (the reference itself for an override-only mutant)."""
    return mutant.split("+", 1)[0]
