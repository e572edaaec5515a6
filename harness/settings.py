"""Named hyper-parameter settings: how the variants are trained, kept apart from what they are.

A variant (harness.variant) is its parts and the defaults its authors published, at image scale.
A *setting* is a named set of training hyper-parameters (optimiser, learning rates, betas, D steps
per G step, schedule, budget) laid over every variant of a suite, so that a comparison states
which regime it used and every variant gets the same budget. A setting never changes a variant's
parts (loss, penalty, constraint): those are the method under comparison.

Layers, lowest first: data set defaults < variant defaults < setting < suite overrides < grid
point < ``--set``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .errors import HarnessError
from .registry import Registry
from .spec import FIELDS, make_config, unknown_key_message

#: fields that define a variant's method; a setting may not change them
METHOD_FIELDS = ("loss", "penalty", "penalty_weight", "constraint", "clip_value", "update")


@dataclass(frozen=True)
class Setting:
    name: str
    description: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""  # how the values were chosen (a committed sweep, a paper)

    def __post_init__(self) -> None:
        for key in self.overrides:
            if key not in FIELDS:
                raise HarnessError(f"setting {self.name!r}: " + unknown_key_message(key, sorted(FIELDS)))
            if key in METHOD_FIELDS:
                raise HarnessError(f"setting {self.name!r} may not set {key!r}: it is part of a variant's method")
        make_config(self.overrides)  # types and ranges


SETTINGS: Registry[Setting] = Registry("setting")
DEFAULT_SETTING = "authors"


def register_setting(setting: Setting, *, replace: bool = False) -> Setting:
    if not isinstance(setting, Setting):
        raise HarnessError(f"register_setting expects a harness.Setting, got {type(setting).__name__}")
    return SETTINGS.register(setting.name, setting, replace=replace)


def get_setting(name: str) -> Setting:
    return SETTINGS.get(name)


register_setting(Setting(
    name="authors",
    description="each variant's published image-scale hyper-parameters (optimiser, learning rates, betas, "
                "D steps per G step), as its variant declares them",
    source="the papers and reference code each variant cites"))

# The 2-D setting of the quick suite: one optimiser and schedule for every variant and one D step per
# G step, so G steps, D steps and samples seen are equal across variants. The learning rate was
# chosen by the committed sweep reports/sweep-2d (README, "How the quick suite was chosen").
SETTING_2D: dict[str, Any] = {"optimizer": "adam", "lr_g": 2e-3, "lr_d": 2e-3, "beta1": 0.0, "beta2": 0.9,
                              "n_dis": 1, "lr_schedule": "linear"}
register_setting(Setting(
    name="2d",
    description="one regime for every variant on the 2-D mixtures: Adam (0, 0.9), lr 2e-3 for both players "
                "decaying linearly to 0, 1 D step per G step",
    overrides=SETTING_2D,
    source="learning rate chosen by the sweep in reports/sweep-2d"))

# PacGAN's 2-D experiments (fjxmlzn/PacGAN, synthetic_data_experiments/*/config.py): Adam with
# learning rate 1e-4 and beta1 0.8 for both players (beta2 and epsilon at the Adam defaults of the
# blocks library it uses: 0.999, 1e-8), a constant rate, one D update per G update.
register_setting(Setting(
    name="pacgan",
    description="PacGAN's 2-D regime: Adam lr 1e-4, betas (0.8, 0.999) for G and D, constant, 1 D step per G step",
    overrides={"optimizer": "adam", "lr_g": 1e-4, "lr_d": 1e-4, "beta1": 0.8, "beta2": 0.999, "n_dis": 1,
               "lr_schedule": "constant"},
    source="fjxmlzn/PacGAN, synthetic_data_experiments/2DRing_GAN&PacGAN/config.py and 2DGrid_GAN&PacGAN/config.py"))
