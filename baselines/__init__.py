"""The reference variants. Each module defines ``VARIANT`` and cites its sources; importing this
package registers them. They are registered exactly as a user's own variant would be."""
from harness.variant import VARIANTS

from . import sngan, vanilla, wgan, wgan_gp

for _module in (vanilla, wgan, wgan_gp, sngan):
    if _module.VARIANT.name not in VARIANTS:
        VARIANTS.register(_module.VARIANT.name, _module.VARIANT)
